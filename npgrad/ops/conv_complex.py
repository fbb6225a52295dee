"""Complex convolutions: ``conv1d/2d/3d`` and ``conv_transpose1d/2d/3d`` of complex inputs or weights, composed
of real ones by Gauss's trick, as PyTorch computes them. With ``x = a + ib`` and ``w = c + id``:

    x * w = (a * c - b * d) + i ((a + b) * (c + d) - a * c - b * d)

three real convolutions instead of four (two when only one operand is complex). The result is a composition of
recorded real ops (real, imag, the real convolution, add, sub, mul), so its gradients (PyTorch's conjugate
convention, npgrad/autograd/complex_rules.py), its JVPs and its batching come from theirs. PyTorch requires the
input and weight to share one dtype; here a real operand with a complex one is taken as having a zero imaginary
part.
"""
import numpy as np

from .complex import imag, real
from .elementwise import add, sub
from .shape import reshape
from .torch_more2 import complex as _complex


def is_complex(*arrays):
    """Whether any of ``arrays`` (None skipped) is complex."""
    return any(a is not None and np.dtype(a.dtype).kind == "c" for a in arrays)


def _parts(v, vd):
    return (real(v), imag(v)) if np.dtype(vd.dtype).kind == "c" else (v, None)


def complex_conv(conv, x, xd, w, wd, b, nd):
    """``conv(x, w) + b`` for a complex ``x``, ``w`` or ``b``; ``conv(p, q)`` is the real convolution (or its
    transpose) of two real operands, geometry bound; ``xd``, ``wd`` the operands' arrays (their dtypes)."""
    (a, bi), (c, di) = _parts(x, xd), _parts(w, wd)
    if bi is None and di is None:          # (only the bias is complex)
        out = conv(a, c)
    elif bi is None:
        out = _complex(conv(a, c), conv(a, di))
    elif di is None:
        out = _complex(conv(a, c), conv(bi, c))
    else:
        ac, bd = conv(a, c), conv(bi, di)
        out = _complex(sub(ac, bd), sub(sub(conv(add(a, bi), add(c, di)), ac), bd))
    if b is not None:
        out = add(out, reshape(b, (-1,) + (1,) * nd))
    return out
