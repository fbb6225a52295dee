"""PyTorch's names that are not NumPy's, registered on the ops namespace (npgrad/ops/__init__.py star-imports
this module where these blocks stood): the view and copy methods, index extras, torch's functions, aliases,
arithmetic methods, facts, in-place shape methods, the sweeps of dir(torch) (torch_more*, torch_top*) and torch's
older linear-algebra names. Each block imports its family's functions, adds them to ``__all__`` and attaches the
family's Tensor methods."""
from ..tensor import Tensor

T = Tensor
__all__ = []

# ---- view and copy methods
# narrow select movedim t H mH adjoint swapdims unflatten reshape_as unfold split tensor_split h/v/dsplit (views,
# ops/torch_views.py); narrow_copy roll repeat_interleave masked_select tril triu fliplr flipud rot90 and the
# out-of-place scatters (ops/torch_copies.py). ``npg.split`` stays NumPy's; ``x.split`` is PyTorch's.
from . import torch_copies as _torch_copies, torch_views as _torch_views
from .torch_copies import (cat, diag_embed, diagonal_scatter, masked_select, narrow_copy, repeat_interleave,  # noqa
                           select_scatter, slice_scatter)
from .torch_views import adjoint, movedim, narrow, swapdims, tensor_split, unflatten

__all__ += _torch_views.__all__ + _torch_copies.__all__
_torch_copies.attach(T)
from . import torch_index_extra as _torch_index_extra  # (index_copy masked_scatter take_along_dim)
from .torch_index_extra import index_copy, masked_scatter, take_along_dim

__all__ += _torch_index_extra.__all__
_torch_index_extra.attach(T)

# cdist cummax cummin logcumsumexp cartesian_prod combinations renorm histc bucketize (ops/torch_fns.py; torch's
# pdist cosine_similarity pairwise_distance are nn.functional's, exported in npgrad/__init__.py)
from . import torch_fns as _torch_fns
from .torch_fns import (bucketize, cartesian_prod, cdist, combinations, cummax, cummin, histc,  # noqa: F401
                        logcumsumexp, renorm)

__all__ += _torch_fns.__all__
_torch_fns.attach(T)

# eq ne lt le gt ge cpu (methods and npg.), bmm mm softmax log_softmax clamp chunk multinomial bernoulli randperm
# (ops/torch_aliases.py)
from . import torch_aliases as _torch_aliases
from .torch_aliases import (bernoulli, bmm, chunk, clamp, eq, ge, gt, le, log_softmax, lt, mm,  # noqa: F401
                            multinomial, ne, randperm, softmax)

__all__ += _torch_aliases.__all__
_torch_aliases.attach(T)

# rsqrt lerp addcmul addcdiv addmm baddbmm, and PyTorch's arithmetic methods x.add(y, alpha=), x.sin()...
# (ops/torch_math.py)
from . import torch_math as _torch_math
from .torch_math import addcdiv, addcmul, addmm, baddbmm, lerp, rsqrt  # noqa: F401

__all__ += _torch_math.__all__
_torch_math.attach(T)

# is_floating_point element_size is_contiguous stride type device new_* detach_; from_numpy is_tensor
# (ops/torch_facts.py)
from . import torch_facts as _torch_facts
from .torch_facts import from_numpy, is_tensor  # noqa: F401

__all__ += _torch_facts.__all__
_torch_facts.attach(T)
from . import inplace_shape as _inplace_shape  # (unsqueeze_ squeeze_ t_ transpose_ swapdims_ swapaxes_)
_inplace_shape.attach(T)

# the rest of torch's common names (a sweep of dir(torch.Tensor) / torch): ops/torch_more.py
from . import torch_more as _torch_more
from .torch_more import *  # noqa: F401,F403
from .torch_select import _argsort as argsort, index_put, mode  # (argsort: also dim= / descending=)
__all__ += _torch_more.__all__ + ['mode', 'index_put', 'argsort']  # (its Tensor methods: attached by npgrad/__init__.py, once all of npg exists)
# a second batch (random fills, windows, unique_consecutive, trapz...): ops/torch_more2.py (`complex`: npgrad/__init__)
from . import torch_more2 as _torch_more2
from .torch_more2 import (normal, poisson, randint_like, binomial, hann_window, hamming_window,  # noqa: F401
                          blackman_window, bartlett_window, kaiser_window, unique_consecutive, trapz,
                          cumulative_trapezoid, igamma, igammac)
__all__ += [n for n in _torch_more2.__all__ if n != 'complex']
# torch's remaining top-level names: aten-signature functionals (embedding(weight, indices), batch_norm, the
# losses with int reductions, convolution, grid_sampler, the cells...) and the methods index_reduce put_
# histogram (ops/torch_top.py); the *_copy view copies, seed get_rng_state set_num_threads set_printoptions
# (ops/torch_top2.py)
from . import torch_top as _torch_top, torch_top2 as _torch_top2
from .torch_top import *  # noqa: F401,F403
from .torch_top2 import *  # noqa: F401,F403
__all__ += _torch_top.__all__ + _torch_top2.__all__
_torch_top.attach(T)
# torch's older linear-algebra names (cholesky_solve, lu_unpack, triangular_solve, svd...): ops/torch_linalg_names.py
from . import torch_linalg_names as _torch_linalg_names
from .torch_linalg_names import (cholesky, cholesky_solve, cholesky_inverse, lu_unpack, lu_solve,  # noqa: F401
                                 triangular_solve, ger, chain_matmul, nuclear_norm, frobenius_norm, svd, qr)
__all__ += _torch_linalg_names.__all__

