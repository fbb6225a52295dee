"""Differentially private training (DP-SGD) of the digits CNN, with per-sample gradients from vmap(grad).

    python examples/train_digits_dp.py                       # scikit-learn's 8x8 digits, sigma 1.1, C 1.0
    python examples/train_digits_dp.py --noise-multiplier 2 --epochs 30

The model is train_digits.py's DigitsCNN with GroupNorm (8 groups) in place of BatchNorm, and no dropout:
batch norm mixes the samples of a batch (a sample's output, hence its gradient, would depend on the
others, and one sample's influence would not be bounded by clipping its own gradient), GroupNorm normalizes
each sample on its own. (Under vmap, BatchNorm in training mode raises for the same reason.)

Each step (Abadi et al. 2016, "Deep Learning with Differential Privacy", Algorithm 1):

1. a Poisson sample of the training set: every example is in the batch with probability q = L / N
   (L = --batch-size, the expected batch size);
2. per-sample gradients of the loss, ``vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)``;
3. each clipped to L2 norm at most C (--clip), over all parameters together;
4. summed, plus Gaussian noise N(0, (sigma * C)^2) per coordinate, divided by L;
5. an optimizer step (SGD with momentum) on that gradient.

The privacy guarantee (epsilon, delta) after T steps is computed with the Renyi-DP accountant of the
subsampled Gaussian mechanism (see ``rdp_epsilon``).
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_digits import DigitsCNN, load_digits, load_mnist, npg  # noqa: E402  (same data and model code)

import npgrad.nn as nn  # noqa: E402
import npgrad.nn.functional as F  # noqa: E402
from npgrad.func import functional_call, grad, vmap  # noqa: E402


def make_model(size):
    """The digits CNN with per-sample-safe normalization (GroupNorm, 8 groups) and no dropout."""
    return DigitsCNN(size, norm=lambda c: nn.GroupNorm(8, c), dropout=0.0)


def per_sample_grads(model, params, xb, yb):
    """Every sample's gradient of its own loss: a dict name -> (B, *param.shape)."""
    def loss(p, x, y):
        return F.cross_entropy(functional_call(model, p, (x[None],)), y[None])
    return vmap(grad(loss), in_dims=(None, 0, 0))(params, xb, yb)


def private_gradient(grads, clip, sigma, lot_size, rng):
    """DP-SGD's gradient from per-sample gradients ``grads`` (name -> (B, ...) arrays): each sample's
    gradient scaled to L2 norm at most ``clip`` (over all parameters), summed, Gaussian noise of standard
    deviation ``sigma * clip`` added per coordinate, divided by ``lot_size``. Returns (name -> array, norms)."""
    names = list(grads)
    B = grads[names[0]].shape[0]
    sq = np.zeros(B)
    for n in names:
        g = grads[n].reshape(B, -1).astype(np.float64)
        sq += np.einsum("ij,ij->i", g, g)
    norms = np.sqrt(sq)
    scale = np.minimum(1.0, clip / np.maximum(norms, 1e-12))
    out = {}
    for n in names:
        g = grads[n]
        total = np.tensordot(scale.astype(g.dtype), g, axes=(0, 0))
        noise = rng.normal(0.0, sigma * clip, size=total.shape)
        out[n] = ((total + noise) / lot_size).astype(g.dtype)
    return out, norms


def rdp_epsilon(q, sigma, steps, delta, orders=tuple(range(2, 257))):
    """(epsilon, best order) of ``steps`` compositions of the Poisson-subsampled Gaussian mechanism (sampling
    rate ``q``, noise multiplier ``sigma``), for the given ``delta``.

    Renyi DP of one step at integer order a (Mironov, Talwar & Zhang 2019, "Renyi Differential Privacy of the
    Sampled Gaussian Mechanism", arXiv:1908.10530, Sec. 3.3; the moments accountant of Abadi et al. 2016):
        eps_a = log( sum_{k=0}^{a} C(a, k) (1 - q)^(a - k) q^k exp((k^2 - k) / (2 sigma^2)) ) / (a - 1),
    RDP composes additively over the steps, and (Mironov 2017, "Renyi Differential Privacy", Prop. 3)
        epsilon = min_a  steps * eps_a + log(1 / delta) / (a - 1)."""
    if q == 0 or steps == 0:
        return 0.0, None
    if sigma <= 0:
        return math.inf, None
    best = (math.inf, None)
    for a in orders:
        k = np.arange(a + 1)
        log_terms = (np.array([math.lgamma(a + 1) - math.lgamma(j + 1) - math.lgamma(a - j + 1) for j in k])
                     + (a - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2 * sigma ** 2))
        m = log_terms.max()
        rdp = (m + math.log(np.exp(log_terms - m).sum())) / (a - 1)
        eps = steps * rdp + math.log(1 / delta) / (a - 1)
        if eps < best[0]:
            best = (eps, a)
    return best


def evaluate(model, X, y, batch_size=500):
    correct = 0
    with npg.no_grad():
        for i in range(0, len(X), batch_size):
            logits = model(npg.tensor(X[i:i + batch_size], requires_grad=False))
            correct += int((logits.data.argmax(axis=1) == y[i:i + batch_size]).sum())
    return correct / len(X)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", metavar="PATH", help="folder with MNIST's IDX files (default: sklearn digits)")
    parser.add_argument("--epochs", type=float, default=15, help="passes over the data, in expectation")
    parser.add_argument("--batch-size", type=int, default=64, help="expected batch size L (sampling rate L / N)")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--clip", type=float, default=1.0, help="per-sample gradient norm bound C")
    parser.add_argument("--noise-multiplier", type=float, default=1.1, help="sigma: noise std is sigma * C")
    parser.add_argument("--delta", type=float, default=None, help="delta (default: 1e-5, or 1/N if smaller)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-steps", type=int, default=None, help="stop after this many steps (smoke tests)")
    args = parser.parse_args(argv)

    npg.set_default_dtype("float32")
    npg.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.data:
        X_train, X_test, y_train, y_test = load_mnist(os.path.expanduser(args.data))
        name = "MNIST"
    else:
        X_train, X_test, y_train, y_test = load_digits(args.seed)
        name = "digits"
    mean, std = X_train.mean(), X_train.std()
    X_train = ((X_train - mean) / std).astype(np.float32)
    X_test = ((X_test - mean) / std).astype(np.float32)
    N, size = len(X_train), X_train.shape[-1]
    q = args.batch_size / N
    steps = max(1, round(args.epochs / q))
    if args.max_steps is not None:
        steps = min(steps, args.max_steps)
    delta = args.delta if args.delta is not None else min(1e-5, 1 / N)
    print(f"{name}: {N} training and {len(X_test)} test images of {size}x{size}; DP-SGD with sampling rate "
          f"q = {q:.4f} (expected batch {args.batch_size}), noise multiplier {args.noise_multiplier}, "
          f"clip norm {args.clip}, {steps} steps")

    model = make_model(size)
    opt = npg.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    params = dict(model.named_parameters())
    start = time.perf_counter()
    clipped = []
    for step in range(1, steps + 1):
        idx = np.flatnonzero(rng.random(N) < q)          # Poisson sampling: each example with probability q
        if idx.size:
            xb = npg.tensor(X_train[idx], requires_grad=False)
            yb = npg.tensor(y_train[idx])
            detached = {k: v.detach() for k, v in params.items()}
            grads = {k: g.data for k, g in per_sample_grads(model, detached, xb, yb).items()}
            clipped.append(float(np.mean(np.sqrt(sum(
                np.einsum("ij,ij->i", g.reshape(len(idx), -1), g.reshape(len(idx), -1)) for g in grads.values()))
                > args.clip)))
        else:                                            # an empty batch: the step is noise only
            grads = {k: np.zeros((0,) + v.shape, v.dtype) for k, v in params.items()}
        noisy, _ = private_gradient(grads, args.clip, args.noise_multiplier, args.batch_size, rng)
        for k, p in params.items():
            p.grad = npg.tensor(noisy[k], requires_grad=False)
        opt.step()
        if step % max(1, steps // 5) == 0 or step == steps:
            eps_now, _ = rdp_epsilon(q, args.noise_multiplier, step, delta)
            print(f"step {step:4d}/{steps}  test accuracy {100 * evaluate(model, X_test, y_test):.2f}%  "
                  f"epsilon {eps_now:.2f}  (clipped: {100 * np.mean(clipped[-20:]) if clipped else 0:.0f}% of "
                  f"recent samples)")
    elapsed = time.perf_counter() - start
    acc = evaluate(model, X_test, y_test)
    eps, order = rdp_epsilon(q, args.noise_multiplier, steps, delta)
    print(f"test accuracy: {100 * acc:.2f}% after {steps} steps in {elapsed:.1f} s")
    print(f"privacy: ({eps:.2f}, {delta:g})-DP  [noise multiplier {args.noise_multiplier}, sampling rate {q:.4f}, "
          f"{steps} steps, delta {delta:g}; RDP accountant of the subsampled Gaussian mechanism, best order "
          f"{order}]")
    npg.set_default_dtype("float64")
    return {"accuracy": acc, "epsilon": eps, "delta": delta, "steps": steps, "q": q, "seconds": elapsed,
            "model": model}


if __name__ == "__main__":
    main()
