"""torch's functionalization copies and its random-state, thread and print facts:

* ``view_copy permute_copy t_copy transpose_copy squeeze_copy unsqueeze_copy expand_copy diagonal_copy
  select_copy slice_copy unfold_copy unbind_copy split_copy split_with_sizes_copy detach_copy alias_copy
  view_as_real_copy view_as_complex_copy``: the view, then a copy (no aliasing; the gradient flows as through
  the view). npgrad has no ``as_strided``, so no ``as_strided_copy``.
* ``seed() initial_seed() get_rng_state() set_rng_state(state)`` over npgrad's global generator
  (npgrad/random.py); the state is a uint8 tensor, as torch's ByteTensor (npgrad's own layout).
* ``get_num_threads() set_num_threads(n)``: the BLAS (OpenBLAS) threads NumPy's products run on.
* ``set_printoptions(precision, threshold, edgeitems, linewidth, profile, sci_mode)``: NumPy's print options.
* ``is_inference(tensor)`` (``npg.vmap`` is ``npg.func.vmap``: npgrad/__init__.py)."""
import sys

import numpy as np

from ..tensor import Tensor
from ._util import as_input, normalize_one_axis

__all__ = []  # filled by the tables below


def _npg():
    import npgrad
    return npgrad


def _copy(v):
    if isinstance(v, (tuple, list)):
        return tuple(_copy(t) for t in v)
    return _npg().copy(v)


def _view(x, *size):
    shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size
    if len(shape) == 1 and isinstance(shape[0], (np.dtype, type)):
        raise TypeError("view_copy: a dtype view is not supported (view_copy(x, size) only)")
    return x.reshape(shape)


def _squeeze(x, dim=None):
    """torch's squeeze: the named dims (all when None) that have size 1; others are left (no error)."""
    if dim is None:
        return _npg().squeeze(x)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if x.ndim == 0:
        for d in dims:
            normalize_one_axis(d, 1, "squeeze_copy")
        return x
    ax = tuple(sorted({normalize_one_axis(d, x.ndim, "squeeze_copy") for d in dims}))
    return _npg().squeeze(x, axis=tuple(a for a in ax if x.shape[a] == 1))


def _slice(x, dim=0, start=None, end=None, step=1):
    if int(step) <= 0:
        raise ValueError(f"slice_copy: slice step must be positive, got {step}")
    d = normalize_one_axis(dim, x.ndim, "slice_copy")
    return x[(slice(None),) * d + (slice(start, end, int(step)),)]


def _split_with_sizes(x, split_sizes, dim=0):
    from .torch_top import split_with_sizes
    return split_with_sizes(x, split_sizes, dim)


def _expand(x, size, *, implicit=False):
    return x.expand(*size)


_VIEWS = {
    "view_copy": _view,
    "permute_copy": lambda x, dims: x.permute(*dims),
    "t_copy": lambda x: _npg().t(x),
    "transpose_copy": lambda x, dim0, dim1: _npg().swapaxes(x, dim0, dim1),
    "squeeze_copy": _squeeze,
    "unsqueeze_copy": lambda x, dim: x.unsqueeze(dim),
    "expand_copy": _expand,
    "diagonal_copy": lambda x, offset=0, dim1=0, dim2=1: _npg().diagonal(x, offset, dim1, dim2),
    "select_copy": lambda x, dim, index: x.select(dim, index),
    "slice_copy": _slice,
    "unfold_copy": lambda x, dimension, size, step: x.unfold(dimension, size, step),
    "unbind_copy": lambda x, dim=0: x.unbind(dim),
    "split_copy": lambda x, split_size, dim=0: x.split(split_size, dim),
    "split_with_sizes_copy": _split_with_sizes,
    "detach_copy": lambda x: x.detach(),
    "alias_copy": lambda x: x,
    "view_as_real_copy": lambda x: _npg().view_as_real(x),
    "view_as_complex_copy": lambda x: _npg().view_as_complex(x),
}


def _make_copy(name, view):
    def f(input, *args, **kwargs):
        return _copy(view(as_input(input, name), *args, **kwargs))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"``torch.{name}``: ``{name[:-5]}``'s result copied (no memory shared with the input; the "
                 f"gradient flows as through the view).")
    return f


for _name, _fn in _VIEWS.items():
    globals()[_name] = _make_copy(_name, _fn)
    __all__.append(_name)


# ------------------------------------------------------------------------------------------- random state
def seed():
    """``torch.seed()``: reseed npgrad's generator from the OS's entropy; returns the 64-bit seed used (so
    ``npg.manual_seed(s)`` repeats the draws)."""
    from .. import random
    random.seed()
    return random.initial_seed()


def initial_seed():
    """``torch.initial_seed()``: the seed npgrad's generator was last seeded with (``manual_seed``, ``seed()``, or
    the one drawn at import)."""
    from .. import random
    return random.initial_seed()


_STATE_BYTES = 16 + 16 + 1 + 4   # PCG64: state, inc (128-bit each), has_uint32, uinteger


def get_rng_state():
    """``torch.get_rng_state()``: npgrad's generator state (PCG64) as a 37-element uint8 tensor that
    ``set_rng_state`` restores."""
    from .. import random
    st = random.get_generator().bit_generator.state
    if st.get("bit_generator") != "PCG64":
        raise NotImplementedError(f"get_rng_state: npgrad's generator is {st.get('bit_generator')}, only PCG64's "
                                  f"state is encoded")
    b = (int(st["state"]["state"]).to_bytes(16, "little") + int(st["state"]["inc"]).to_bytes(16, "little")
         + bytes([int(st["has_uint32"])]) + int(st["uinteger"]).to_bytes(4, "little"))
    return Tensor(np.frombuffer(b, np.uint8).copy())


def set_rng_state(new_state):
    """``torch.set_rng_state(state)``: restore a state from ``get_rng_state()`` (the following draws repeat)."""
    from .. import random
    a = np.asarray(new_state.data if isinstance(new_state, Tensor) else new_state)
    if a.dtype != np.uint8 or a.shape != (_STATE_BYTES,):
        raise ValueError(f"set_rng_state: expected the uint8 tensor of shape ({_STATE_BYTES},) that "
                         f"get_rng_state() returns, got dtype {a.dtype} shape {a.shape}")
    b = a.tobytes()
    state = {"bit_generator": "PCG64",
             "state": {"state": int.from_bytes(b[:16], "little"), "inc": int.from_bytes(b[16:32], "little")},
             "has_uint32": b[32], "uinteger": int.from_bytes(b[33:37], "little")}
    g = random.get_generator()
    if type(g.bit_generator).__name__ != "PCG64":
        random.seed(0)
        g = random.get_generator()
    g.bit_generator.state = state


# ------------------------------------------------------------------------------------------- threads
def get_num_threads():
    """``torch.get_num_threads()``: the number of threads NumPy's BLAS products run on (OpenBLAS's count)."""
    from ._blas import blas_threads
    return blas_threads()


def set_num_threads(n):
    """``torch.set_num_threads(n)``: the number of threads OpenBLAS (NumPy's BLAS) runs products on, set
    through its own ``openblas_set_num_threads``. Without OpenBLAS loaded (another BLAS, another platform):
    NotImplementedError (set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS before starting
    Python instead)."""
    from ._blas import set_blas_threads
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    if not set_blas_threads(int(n)):
        raise NotImplementedError("set_num_threads: no OpenBLAS library found in this process, so npgrad cannot "
                                  "set the BLAS threads; set OPENBLAS_NUM_THREADS, OMP_NUM_THREADS or "
                                  "MKL_NUM_THREADS in the environment before starting Python")


# ------------------------------------------------------------------------------------------- printing
_PROFILES = {"default": dict(precision=8, threshold=1000, edgeitems=3, linewidth=75),   # NumPy's defaults
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=75),
             "full": dict(precision=8, threshold=sys.maxsize, edgeitems=3, linewidth=75)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """``torch.set_printoptions``, forwarded to ``np.set_printoptions`` (tensors print through NumPy):
    ``precision threshold edgeitems linewidth`` are NumPy's; ``profile`` 'default' restores NumPy's defaults
    (precision 8, not torch's 4), 'short' is precision 2 and 2 edge items, 'full' prints every element;
    ``sci_mode`` True prints floats in scientific notation, False suppresses it (NumPy's ``suppress=True``),
    None leaves it to NumPy (the default)."""
    opts = {}
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of 'default' 'short' 'full', got {profile!r}")
        opts.update(_PROFILES[profile])
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):
        if v is not None:
            opts[k] = v
    if sci_mode not in (None, True, False):
        raise ValueError(f"set_printoptions: sci_mode must be True, False or None, got {sci_mode!r}")
    np.set_printoptions(**opts)
    if sci_mode is None:
        np.set_printoptions(suppress=False, formatter=None)
    elif sci_mode:
        p = np.get_printoptions()["precision"]
        np.set_printoptions(suppress=False, formatter={
            "float_kind": lambda v: np.format_float_scientific(v, precision=p, unique=False)})
    else:
        np.set_printoptions(suppress=True, formatter=None)


def is_inference(input):
    """``torch.is_inference(tensor)``: ``tensor.is_inference()``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference: expected a Tensor, got {type(input).__name__}")
    return input.is_inference()


__all__ += ["seed", "initial_seed", "get_rng_state", "set_rng_state", "get_num_threads", "set_num_threads",
            "set_printoptions", "is_inference"]
