"""npgrad: reverse-mode automatic differentiation on NumPy alone.

>>> import npgrad as npg
>>> x = npg.randn(3)
>>> npg.sum(x * x).backward()
>>> x.grad   # 2 * x
"""
from . import random
from .autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, ones, ones_like, rand, randint,
                       randn, zeros, zeros_like)
from .dtypes import get_default_dtype, set_default_dtype
from .ops import *  # noqa: F401,F403
from .ops import elementwise as _elementwise
from .ops import index as _index
from .ops import linalg as _linalg
from .ops import reduce as _reduce
from .ops import shape as _shape
from .ops.conv import avg_pool2d, conv2d, max_pool2d  # noqa: F401  (the seed calls npg.conv2d)
from .tensor import Tensor, as_tensor, ndarray, tensor
from . import autograd  # noqa: E402
from . import func, viz  # noqa: E402
from . import data, nn, optim  # noqa: E402
from .serialization import load, save  # noqa: E402

float32 = "float32"
float64 = "float64"

__version__ = "0.2.0"


def _public(module):
    return [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]


__all__ = sorted(set(
    ["Tensor", "ndarray", "tensor", "as_tensor", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
     "set_default_dtype", "get_default_dtype", "random", "autograd", "zeros", "ones", "empty", "full", "zeros_like",
     "ones_like", "full_like", "empty_like", "eye", "arange", "linspace", "randn", "rand", "randint"]
    + _public(_elementwise) + _public(_reduce) + _public(_shape) + _public(_linalg)
    + ["getitem", "setitem", "take", "take_along_axis", "put_along_axis", "gather", "scatter_add", "func", "viz"]))
__all__ += ["nn", "optim", "data", "save", "load"]
