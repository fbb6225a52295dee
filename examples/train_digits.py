"""Train a small CNN on handwritten digits with npgrad, and test it on held-out images.

    python examples/train_digits.py                  # scikit-learn's 8x8 digits, 20% held out
    python examples/train_digits.py --data ~/mnist   # MNIST from its IDX files (train-*/t10k-*, .gz or not)
    mpiexec -n 2 python examples/train_digits.py --distributed   # data-parallel over 2 processes (MPI)

Prints a progress bar with the running loss (only when stderr is a terminal, so logs get no bar), the test
accuracy after each epoch, and the final accuracy and time; saves the weights (npg.save) and a loss/accuracy
plot (PNG) unless --no-save.

With --distributed (under mpiexec) every process trains on its part of each batch (DistributedSampler), the
model's BatchNorms become SyncBatchNorm and DistributedDataParallel averages the gradients, so the run is the
one-process run with the same global --batch-size; only rank 0 prints and saves.
"""
import argparse
import os
import sys
import time

if "--distributed" in sys.argv:
    # one process per core: share the cores between the local processes' BLAS threads (unless told otherwise);
    # this must happen before NumPy is imported. (MPI_LOCALNRANKS: MPICH's count of processes on this node.)
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("MPI_LOCALNRANKS", "1"))))
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, _threads)

import numpy as np

try:
    import npgrad as npg
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F


class DigitsCNN(nn.Module):
    """conv 32 -> conv 32 -> pool -> conv 64 -> pool -> dropout -> linear, with batch norm.

    ``norm(channels)`` makes the normalization layers (default BatchNorm2d; train_digits_dp.py uses GroupNorm,
    which normalizes each sample on its own); ``dropout`` is the classifier's dropout probability."""

    def __init__(self, size=8, classes=10, norm=nn.BatchNorm2d, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), norm(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), norm(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), norm(64), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(64 * (size // 4) ** 2, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def load_digits(seed):
    """scikit-learn's 1,797 8x8 digits, a stratified 80/20 split."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split
    X, y = sk_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    return train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)


def _find(folder, stem):
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{stem}[.gz] not found in {folder}")


def load_mnist(folder):
    """MNIST from its four IDX files: the standard 60,000 / 10,000 split."""
    read = npg.data.read_idx
    X_train = read(_find(folder, "train-images-idx3-ubyte"))
    y_train = read(_find(folder, "train-labels-idx1-ubyte"))
    X_test = read(_find(folder, "t10k-images-idx3-ubyte"))
    y_test = read(_find(folder, "t10k-labels-idx1-ubyte"))
    def prep(X):
        return (X.astype(np.float64) / 255.0)[:, None]
    return prep(X_train), prep(X_test), y_train.astype(np.int64), y_test.astype(np.int64)


def evaluate(model, X, y, batch_size=500):
    model.eval()
    correct = 0
    with npg.no_grad():
        for i in range(0, len(X), batch_size):
            logits = model(npg.tensor(X[i:i + batch_size]))
            correct += int((logits.data.argmax(axis=1) == y[i:i + batch_size]).sum())
    model.train()
    return correct / len(X)


def save_plot(history, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(np.arange(1, len(history["loss"]) + 1), history["loss"], lw=0.8, color="tab:blue")
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss (running mean)")
    ax1.set_yscale("log")
    ax1.grid(alpha=0.3)
    ax2.plot(np.arange(1, len(history["acc"]) + 1), [100 * a for a in history["acc"]], "o-", color="tab:green")
    ax2.set_xlabel("epoch")
    ax2.xaxis.get_major_locator().set_params(integer=True)
    ax2.set_ylabel("test accuracy (%)")
    ax2.grid(alpha=0.3)
    fig.suptitle("npgrad: small CNN on handwritten digits")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", metavar="PATH", help="folder with MNIST's IDX files (default: sklearn digits)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 15 for digits, 2 for MNIST)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    parser.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "output"),
                        help="where the weights and the plot go (default: examples/output)")
    parser.add_argument("--no-save", action="store_true", help="do not write weights or plot")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (there is none anyway when stderr is not a terminal)")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel training over MPI: run as mpiexec -n N python examples/train_digits.py "
                             "--distributed (needs mpi4py: pip install -e \".[mpi]\")")
    args = parser.parse_args(argv)

    from tqdm import tqdm
    npg.set_default_dtype("float32")
    npg.random.seed(args.seed)
    rank, world = 0, 1
    if args.distributed:
        import npgrad.distributed as dist
        dist.init()
        rank, world = dist.get_rank(), dist.get_world_size()
    main_process = rank == 0
    log = print if main_process else (lambda *a, **k: None)   # rank 0 alone prints and saves
    if args.data:
        X_train, X_test, y_train, y_test = load_mnist(os.path.expanduser(args.data))
        epochs = args.epochs or 2
        name = "MNIST"
    else:
        X_train, X_test, y_train, y_test = load_digits(args.seed)
        epochs = args.epochs or 15
        name = "digits"
    mean, std = X_train.mean(), X_train.std()
    X_train = ((X_train - mean) / std).astype(np.float32)
    X_test = ((X_test - mean) / std).astype(np.float32)
    size = X_train.shape[-1]
    log(f"{name}: {len(X_train)} training and {len(X_test)} test images of {size}x{size}, {epochs} epochs"
        + (f", {world} process{'es' if world > 1 else ''}" if args.distributed else ""))

    model = DigitsCNN(size)
    train_set = npg.data.TensorDataset(X_train, y_train)
    if args.distributed:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)  # batch statistics over the whole batch
        net = dist.DistributedDataParallel(model)                # rank 0's weights; gradients averaged
        npg.random.seed(args.seed + 1 + rank)                    # each process its own dropout masks
        sampler = npg.data.DistributedSampler(train_set, seed=args.seed)
        loader = npg.data.DataLoader(train_set, batch_size=max(1, args.batch_size // world), sampler=sampler)
    else:
        net, sampler = model, None
        loader = npg.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed)
    total = epochs * len(loader) if args.max_steps is None else min(args.max_steps, epochs * len(loader))
    opt = npg.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = npg.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.2)

    history = {"loss": [], "acc": []}
    running = None
    step = 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        if sampler is not None:
            sampler.set_epoch(epoch)
        bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, dynamic_ncols=True,
                   disable=True if args.no_progress or not main_process else None)  # None: only on a terminal
        for xb, yb in bar:
            loss = F.cross_entropy(net(xb), yb.data)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
            history["loss"].append(running)
            bar.set_postfix(loss=f"{running:.4f}")
            step += 1
            if step >= total:
                break
        if args.distributed:  # the mean of the processes' running losses, for the log
            running = float(dist.all_reduce(np.array([running]), op="mean")[0])
        acc = evaluate(model, X_test, y_test)
        history["acc"].append(acc)
        log(f"epoch {epoch:2d}  loss {running:.4f}  test accuracy {100 * acc:.2f}%")
        if step >= total:
            break
    elapsed = time.perf_counter() - start
    acc = history["acc"][-1]
    log(f"test accuracy: {100 * acc:.2f}% ({round(acc * len(X_test))}/{len(X_test)}) "
        f"after {step} steps in {elapsed:.1f} s")
    if not args.no_save and main_process:  # the bare model's state_dict: it loads without DDP
        os.makedirs(args.out_dir, exist_ok=True)
        weights = os.path.join(args.out_dir, f"{name.lower()}_cnn.npz")
        plot = os.path.join(args.out_dir, f"{name.lower()}_training.png")
        npg.save(model.state_dict(), weights)
        save_plot(history, plot)
        print(f"saved weights to {weights} and the plot to {plot}")
    npg.set_default_dtype("float64")
    return {"accuracy": acc, "seconds": elapsed, "steps": step, "history": history, "model": model}


if __name__ == "__main__":
    main()
