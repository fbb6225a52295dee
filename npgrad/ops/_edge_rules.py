"""Derivative rules of elementwise binary ops whose edges (NaN, infinities, zeros, ties) follow PyTorch's
conventions, used by the op table of npgrad/ops/elementwise.py: ``vjp(g, y, a, b)`` gives an input's gradient,
``jvp(t, y, a, b)`` its part of the output's tangent. NumPy calls only: on the create_graph path the same
formulas get Tensors and stay differentiable."""
import numpy as np


# maximum / minimum. VJP as torch's: ties split the gradient 0.5 / 0.5, and a NaN (either operand) sends the
# whole gradient to both inputs (the output is NaN). JVP as torch's forward rule, which is not the VJP's
# transpose at NaN: the tangent of the winner, the second operand's where the comparison fails (NaN).
def max_a(g, y, a, b):
    return np.where(a == b, g / 2, np.where(a < b, 0, g))


def max_b(g, y, a, b):
    return np.where(a == b, g / 2, np.where(a > b, 0, g))


def max_jvp_a(t, y, a, b):
    return np.where(a == b, t / 2, np.where(a > b, t, 0))


def min_jvp_a(t, y, a, b):
    return np.where(a == b, t / 2, np.where(a < b, t, 0))


min_a, min_b = max_b, max_a  # d min(a, b)/da is where(a == b, g/2, 0 where a > b, else g): max's rule for b
