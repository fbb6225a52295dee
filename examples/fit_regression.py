"""Fit a small two-layer network to noisy samples of sin(x) with plain gradient descent (no npgrad.nn).

    python examples/fit_regression.py [--steps 2000] [--lr 0.05] [--hidden 32] [--seed 0]
"""
import argparse
import os
import sys

import numpy as np

try:
    import npgrad as npg
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import npgrad as npg


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000, help="gradient descent steps (default 2000)")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate (default 0.05)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    parser.add_argument("--samples", type=int, default=256, help="training points (default 256)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--print-every", type=int, default=400, help="print the loss every N steps (default 400)")
    args = parser.parse_args(argv)

    npg.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-3, 3, size=(args.samples, 1))
    y = np.sin(x) + 0.1 * rng.standard_normal(x.shape)

    W1, b1 = npg.tensor(npg.randn(1, args.hidden).data * 0.5), npg.zeros(args.hidden)
    W2, b2 = npg.tensor(npg.randn(args.hidden, 1).data * 0.2), npg.zeros(1)
    params = [W1, b1, W2, b2]

    losses = []
    for step in range(args.steps + 1):
        pred = npg.tanh(x @ W1 + b1) @ W2 + b2
        loss = npg.mean((pred - y) ** 2)
        for p in params:
            p.grad = None
        loss.backward()
        with npg.no_grad():
            for p in params:
                p -= args.lr * p.grad
        losses.append(loss.item())
        if step % args.print_every == 0:
            print(f"step {step:4d}  loss {loss.item():.4f}")
    print(f"final mse {losses[-1]:.4f} (noise floor 0.0100)")
    return {"losses": losses, "params": params}


if __name__ == "__main__":
    main()
