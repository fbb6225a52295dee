"""Fit a small two-layer network to noisy samples of sin(x) with plain gradient descent.

    python examples/fit_regression.py
"""
import numpy as np

import npgrad as npg

npg.random.seed(0)
rng = np.random.default_rng(0)
x = rng.uniform(-3, 3, size=(256, 1))
y = np.sin(x) + 0.1 * rng.standard_normal(x.shape)

W1 = npg.randn(1, 32) * 0.5          # an op result: re-wrap as leaves below
W1, b1 = npg.tensor(W1.data), npg.zeros(32)
W2, b2 = npg.tensor(npg.randn(32, 1).data * 0.2), npg.zeros(1)
params = [W1, b1, W2, b2]

lr = 0.05
for step in range(2001):
    pred = npg.tanh(x @ W1 + b1) @ W2 + b2
    loss = npg.mean((pred - y) ** 2)
    for p in params:
        p.grad = None
    loss.backward()
    with npg.no_grad():
        for p in params:
            p -= lr * p.grad
    if step % 400 == 0:
        print(f"step {step:4d}  loss {loss.item():.4f}")
print(f"final mse {loss.item():.4f} (noise floor 0.0100)")
