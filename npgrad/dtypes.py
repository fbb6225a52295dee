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


def native_order(arr):
    """``arr`` in the machine's byte order: a byte-swapped copy of a big-endian array on a little-endian machine
    (``'>f8'``), ``arr`` itself otherwise. Tensors hold native data only: NumPy's ufuncs return native results,
    so a tensor of another byte order got gradients of another dtype than its own."""
    dt = arr.dtype
    if dt.isnative:
        return arr
    return arr.astype(dt.newbyteorder("="))


def numeric_dtype(dtype, where):
    """``np.dtype(dtype)``, refused with a message naming ``where`` unless it is bool, integer, float or complex."""
    d = np.dtype(dtype)
    if d.kind not in "biufc" or (d.kind == "c" and d.itemsize > 16):  # complex64 and complex128 only
        raise TypeError(f"{where}: unsupported dtype {d} (npgrad works on bool, integer, float and complex data)")
    return d
