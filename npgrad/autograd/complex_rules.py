"""Complex tensors in a recorded graph: which ops accept them, and how their VJPs follow PyTorch's convention.

The convention (PyTorch's). For a real loss ``L`` and a complex tensor ``z = x + iy``, ``z.grad`` is
``dL/dx + i dL/dy`` (twice the conjugate Wirtinger derivative). A VJP maps the gradient ``g`` of an op's
output to that of an input; for a holomorphic op ``w = f(z)`` it is ``g * conj(f'(z))``.

Every op's VJPs in npgrad are written with real formulas ``formula(g) = g * f'(z)`` (a product with the
Jacobian's transpose). Evaluated on complex values, that formula is the holomorphic extension, so the
complex VJP is ``conj(formula(conj(g)))`` and the JVP (``f'(z) * dz``) is the formula itself, unchanged.
This module declares, by op name, what each op does when its output is complex (``Tensor._record`` asks
:func:`complex_vjps` once per recorded complex node; real outputs never reach it):

* ``HOLO``: the op's formulas are holomorphic in all inputs (arithmetic, exp, matmul, einsum, inv...):
  its VJPs are wrapped as ``conj(formula(conj(g)))``;
* ``LINEAR``: a linear map with real coefficients (reshape, getitem, sum, concatenate...): the formula is
  already right for complex gradients;
* ``OWN``: the op computes its complex VJPs itself (conj, real, view_as_complex...).

An op not declared here raises a TypeError naming it when it would record a complex result (max, sort,
relu...): no silent wrong gradient. Ops that map complex inputs to real outputs (abs, angle, var,
norms, slogdet) never reach ``_record``'s check and handle complex inputs themselves.

For an input that is real while the output is complex (mixed real and complex operands), the VJP gives a
complex gradient; the engine takes its real part (``engine.cast_grad``), so a real leaf's gradient stays real.
"""
import numpy as np

HOLO, LINEAR, OWN = "holomorphic", "linear", "own"

RULES = {}


def declare(kind, *ops):
    """Declare how the ops named ``ops`` treat complex values (``HOLO``, ``LINEAR`` or ``OWN``)."""
    for op in ops:
        RULES[op] = kind


declare(HOLO, "add", "sub", "mul", "div", "pow", "neg", "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt",
        "square", "reciprocal", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arcsin", "arccos", "arctan",
        "arcsinh", "arccosh", "arctanh", "exp2", "logsumexp",
        "prod", "cumprod", "matmul", "einsum", "inv", "solve", "det",
        "linear",     # (bilinear in input and weight, plus the bias)
        "rms_norm")   # (x / sqrt(mean(x * x) + eps), holomorphic in x as PyTorch's decomposition)
declare(LINEAR, "sum", "mean", "cumsum", "reshape", "transpose", "swapaxes", "broadcast_to", "concatenate", "stack",
        "flip", "pad", "repeat", "tile", "getitem", "setitem", "copy", "copy_slices", "where", "nan_to_num",
        "scatter_add", "make_dual", "unpack_dual", "jvp_fallback_input", "input",
        "matrix_power_0",   # (a^0: identities, a zero gradient)
        "decomp_part")      # (an output of eigh, svd, qr, eig: identity, ops/decomp.py)
declare(OWN, "astype", "slogdet_sign", "cholesky", "eigh", "eig", "qr", "svd", "pinv", "lstsq", "sgn")


def _conjugated(vjp):
    if vjp is None:
        return None

    def complex_vjp(g, y, *inputs):
        r = vjp(np.conj(g), y, *inputs)
        return None if r is None else np.conj(r)
    return complex_vjp


class OwnComplex(tuple):
    """VJPs that follow the convention themselves whatever the op's name (a custom ``autograd.Function``)."""

    __slots__ = ()


def complex_vjps(op, vjps):
    """The VJPs of ``op`` for a complex output: ``vjps`` themselves or their conjugated form (see above)."""
    if vjps.__class__ is OwnComplex:
        return vjps
    kind = RULES.get(op)
    if kind is HOLO:
        return vjps.__class__(_conjugated(v) for v in vjps)  # (keeps the class: an Exact tuple stays Exact)
    if kind is None:
        raise TypeError(f"{op}: not supported for complex tensors with gradients (npgrad differentiates complex "
                        f"values through the ops declared in npgrad/autograd/complex_rules.py; {op} has no complex "
                        f"gradient there). Apply it to real tensors (z.real, z.imag, npg.abs(z)) instead")
    return vjps
