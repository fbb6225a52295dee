"""Default floating dtype and the dtype checks shared by constructors and ops."""
import numpy as np

_default = np.dtype(np.float64)


def set_default_dtype(dtype):
    """Set the floating dtype that constructors make (float64 unless changed, as in NumPy)."""
    global _default
    d = np.dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {d}")
    _default = d


def get_default_dtype():
    """The floating dtype that constructors make."""
    return _default


def default_complex_dtype():
    """The complex dtype matching the default floating dtype (complex128 for float64, complex64 for float32)."""
    return np.dtype(np.complex64) if _default == np.float32 else np.dtype(np.complex128)


def check_numeric(arr, where):
    """Refuse object, string and other non-numeric arrays with a message naming ``where``."""
    if arr.dtype.kind not in "biuf":
        numeric_dtype(arr.dtype, where)
    return arr


def canonical(arr, where=None, copy=None):
    """``arr`` with NumPy's own dtype object for its type, which npgrad's fast paths test by identity
    (``dtype is float16``: float16 sums accumulated in float32). An array of another byte order (``'>f8'``)
    becomes a byte-swapped copy: NumPy's ufuncs return native results, so a tensor of another byte order got
    gradients of another dtype than its own (``copy=False``, NumPy 2's ``asarray``: a ValueError naming
    ``where`` instead). A native dtype equal to NumPy's but another object (unpickled arrays have those) gives
    a view of ``arr`` with NumPy's object."""
    dt = arr.dtype
    if dt is _F64 or dt is _F32:  # (the common case, first)
        return arr
    own = _OWN.get(dt.type)
    if own is None or own is dt:  # (other types: left as they are)
        return arr
    if dt.isnative:
        return arr.view(own)
    if copy is False:
        raise ValueError(f"{where}: unable to avoid a copy (swapping the bytes of {dt} into the native order) "
                         f"with copy=False; use copy=None to allow one")
    return arr.astype(own)


_F64, _F32 = np.dtype(np.float64), np.dtype(np.float32)
_OWN = {t: np.dtype(t) for t in (np.float16, np.float32, np.float64, np.longdouble, np.complex64, np.complex128,
                                 np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
                                 np.bool_)}


def plain_array(arr, where, operand=True):
    """The ndarray of an instance of an ndarray subclass. A MaskedArray is refused (its mask would be silently
    dropped: sums and means over the masked entries); so is an ``np.matrix`` operand (its ``*`` and ``**`` are
    matrix products and its reductions stay 2-D, which npgrad's ops on its values would not be), but not
    ``np.matrix`` data for a new tensor (its plain 2-D array, as ``np.array`` and ``torch.tensor`` give)."""
    if isinstance(arr, np.ma.MaskedArray):
        raise TypeError(f"{where}: a numpy MaskedArray is not supported (its mask would be lost): pass "
                        f"np.ma.filled(a, value), or np.ma.getdata(a) and the mask np.ma.getmaskarray(a) apart")
    if operand and isinstance(arr, np.matrix):
        raise TypeError(f"{where}: an np.matrix operand is not supported (its * and ** are matrix products, its "
                        f"reductions keep 2 dimensions): pass np.asarray(m), and use @ for a matrix product")
    return np.asarray(arr)


def numeric_dtype(dtype, where):
    """``np.dtype(dtype)``, refused with a message naming ``where`` unless it is bool, integer, float or complex."""
    d = np.dtype(dtype)
    if d.kind not in "biufc" or (d.kind == "c" and d.itemsize > 16):  # complex64 and complex128 only
        raise TypeError(f"{where}: unsupported dtype {d} (npgrad works on bool, integer, float and complex data)")
    return d
