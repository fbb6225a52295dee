"""Derivative rules of elementwise binary ops whose edges (NaN, infinities, zeros, ties) follow PyTorch's
conventions, used by the op table of npgrad/ops/elementwise.py: ``vjp(g, y, a, b)`` gives an input's gradient,
``jvp(t, y, a, b)`` its part of the output's tangent. NumPy calls only: on the create_graph path the same
formulas get Tensors and stay differentiable."""
import math

import numpy as np


# maximum / minimum, as torch's VJP: ties split the gradient 0.5 / 0.5, and a NaN (either operand) sends the
# whole gradient to both inputs (the output is NaN). The JVP is the same formula (DIAG): torch.func.jvp takes the
# second operand's tangent at a NaN instead, but npgrad's forward mode stays the transpose of its reverse mode
# (jacfwd == jacrev), as for fmax's ties.
def max_a(g, y, a, b):
    return np.where(a == b, g / 2, np.where(a < b, 0, g))


def max_b(g, y, a, b):
    return np.where(a == b, g / 2, np.where(a > b, 0, g))


min_a, min_b = max_b, max_a  # d min(a, b)/da is where(a == b, g/2, 0 where a > b, else g): max's rule for b


# arctan2(a, b): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2), as (b / h) / h with h = hypot(a, b): the squares
# a^2 + b^2 overflow or underflow where the gradient is finite (float32 a = b = 1e20 gave 0 instead of 5e-21;
# a = b = 1e-30 gave 0 instead of 5e29; a = 0, b = 1e-20 gave NaN for d/db instead of 0; torch keeps the squares and
# is wrong there too). Taken as 0 where h is 0 (the origin), as torch: a zero gradient there, not 0 / 0 = NaN. The
# JVP is the same formula (torch.func.jvp keeps the plain quotient, NaN at the origin; npgrad's jacfwd == jacrev)
def _atan2_hypot(a, b):
    h = np.hypot(a, b)
    zero = h == 0
    return zero, np.where(zero, 1, h)


def atan2_a(g, y, a, b):
    zero, h = _atan2_hypot(a, b)
    return g * np.where(zero, 0, (b / h) / h)


def atan2_b(g, y, a, b):
    zero, h = _atan2_hypot(a, b)
    return -g * np.where(zero, 0, (a / h) / h)


# logaddexp(a, b): d/da = 1 / (1 + exp(b - a)) = sigmoid(a - b), as torch: 1 where a = inf and b is finite (the
# former exp(a - y) was exp(inf - inf) = NaN), 0 where a = -inf and b is not. The sigmoid as exp(-logaddexp(0, -x)):
# no overflow (warning) for any a - b
def _sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def logaddexp_a(g, y, a, b):
    return g * _sigmoid(a - b)


def logaddexp_b(g, y, a, b):
    return g * _sigmoid(b - a)


def logaddexp2_a(g, y, a, b):  # 1 / (1 + 2^(b - a))
    return g * _sigmoid((a - b) * _LN2)


def logaddexp2_b(g, y, a, b):
    return g * _sigmoid((b - a) * _LN2)


_LN2 = math.log(2.0)  # a Python float: a float32 gradient stays float32
