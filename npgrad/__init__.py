"""npgrad: reverse-mode automatic differentiation on NumPy alone.

>>> import npgrad as npg
>>> x = npg.randn(3)
>>> npg.sum(x * x).backward()
>>> x.grad   # 2 * x
"""
import numpy as _np

from . import memory  # first: glibc keeps freed memory mapped (see npgrad/memory.py)
from . import random
from .random import manual_seed  # (torch.manual_seed)
from .autograd.anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled  # (torch's top-level queries)
from .autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                                 set_grad_enabled)
from .creation import (arange, array, asarray, empty, empty_like, eye, frombuffer, fromfunction, full, full_like,
                       geomspace, identity, indices, linspace, logspace, ones, ones_like, rand, rand_like, randint,
                       randn, randn_like, tri, zeros, zeros_like)
from .dtypes import get_default_dtype, set_default_dtype
from .ops import *  # noqa: F401,F403
from . import ops as _ops
from .ops.nondiff import shape  # noqa: F401  (np.shape; not in ops' namespace, where `shape` is a module)
from .ops.poly import poly  # noqa: F401  (np.poly; in ops' namespace `poly` is the module)
from .ops.conv import conv2d  # noqa: F401  (the seed calls npg.conv2d)
from .ops.pooling import avg_pool2d, max_pool2d  # noqa: F401
from .tensor import Tensor, as_tensor, ndarray, tensor
from . import autograd  # noqa: E402
from . import func, linalg, viz  # noqa: E402
from .func import vmap  # noqa: E402  (torch.vmap)
from . import data, distributed, nn, optim  # noqa: E402  (distributed imports mpi4py only in init())
from . import special, stats  # noqa: E402
from . import distributions  # noqa: E402  (torch.distributions)
from . import fft  # noqa: E402
from . import integrate  # noqa: E402
from . import signal  # noqa: E402
from .spectral import istft, stft  # noqa: E402  (torch.stft / torch.istft, also Tensor methods)
from . import utils  # noqa: E402
from . import testing  # noqa: E402  (torch.testing: assert_close, make_tensor)
from .serialization import load, save  # noqa: E402
from .nn.functional.distance import cosine_similarity, pairwise_distance, pdist  # noqa: E402  (torch's aliases)
_ops._torch_more.attach(Tensor)  # torch's remaining Tensor methods (ops/torch_more.py) over all of npg
_ops._torch_more2.attach(Tensor)  # random fills, unique_consecutive, igamma (ops/torch_more2.py)
Tensor.stft, Tensor.istft = stft, istft  # (npgrad/spectral.py)
_ops._torch_linalg_names.attach(Tensor)  # cholesky_solve, triangular_solve, svd, qr, cross, equal... (torch's)
from .ops.torch_more2 import complex  # noqa: E402  (torch.complex; in ops' namespace `complex` is the module)
_F_NAMES = _ops._torch_more.functional_names()  # torch.conv1d, torch.layer_norm, torch.dropout...: F's
globals().update(_F_NAMES)

float32 = _np.float32  # NumPy's dtype classes, so npg.float32 works wherever np.float32 does
float64 = _np.float64
# NumPy's constants and the rest of its dtype names, as `import autograd.numpy as np` has them: a port that writes
# `import npgrad as np` reads np.pi, np.newaxis, np.inf, np.int64, np.finfo... from the module
pi, e, inf, nan, newaxis, euler_gamma = _np.pi, _np.e, _np.inf, _np.nan, _np.newaxis, _np.euler_gamma
bool_, intp, float16, complex64, complex128 = _np.bool_, _np.intp, _np.float16, _np.complex64, _np.complex128
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
finfo, iinfo, dtype, issubdtype = _np.finfo, _np.iinfo, _np.dtype, _np.issubdtype
number, integer, floating, complexfloating = _np.number, _np.integer, _np.floating, _np.complexfloating

__version__ = "0.2.0"


__all__ = ["Tensor", "ndarray", "tensor", "as_tensor", "array", "asarray", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "set_default_dtype", "get_default_dtype", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "full_like", "empty_like", "eye", "arange", "linspace", "logspace",
           "geomspace", "randn", "rand", "randn_like", "rand_like", "manual_seed",
           "randint", "conv2d", "max_pool2d", "avg_pool2d", "save", "load",
           "random", "autograd", "func", "linalg", "viz", "nn", "optim", "data", "distributed", "shape", "poly",
           "special", "stats", "distributions", "fft", "integrate", "signal", "cosine_similarity", "pairwise_distance",
           "pdist", "complex", "vmap", "stft", "istft", "utils", "testing"] + _ops.__all__ + sorted(_F_NAMES)
