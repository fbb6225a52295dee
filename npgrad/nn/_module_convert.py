"""Argument parsing for ``Module.to`` / ``Module.type`` and the CPU-only device checks (PyTorch's forms)."""
import numpy as np

from ..tensor import Tensor

_TO_FORMS = ("(device=None, dtype=None, non_blocking=False, copy=False, *, memory_format=None)",
             "(dtype, non_blocking=False, copy=False, *, memory_format=None)",
             "(Tensor tensor, non_blocking=False, copy=False, *, memory_format=None)")

# PyTorch's memory formats, as ``torch.channels_last`` or by name (accepted and ignored: NumPy keeps the values)
_MEMORY_FORMATS = ("contiguous_format", "channels_last", "channels_last_3d", "preserve_format")

# PyTorch's legacy tensor type names, as ``Module.type`` takes them
_TENSOR_TYPES = {"torch.FloatTensor": np.float32, "torch.DoubleTensor": np.float64, "torch.HalfTensor": np.float16,
                 "torch.ByteTensor": np.uint8, "torch.CharTensor": np.int8, "torch.ShortTensor": np.int16,
                 "torch.IntTensor": np.int32, "torch.LongTensor": np.int64, "torch.BoolTensor": np.bool_}


def dtype_of(x, where):
    """``x`` as a NumPy dtype: a NumPy dtype (or anything ``np.dtype`` takes, but not None), a PyTorch dtype
    such as ``torch.float32`` (by name), or a PyTorch tensor type name. A TypeError otherwise."""
    if isinstance(x, str) and x in _TENSOR_TYPES:
        return np.dtype(_TENSOR_TYPES[x])
    name = str(x)
    if type(x).__name__ == "dtype" and name.startswith("torch."):
        if name == "torch.bfloat16":
            raise TypeError(f"{where}: NumPy has no bfloat16 dtype, so npgrad cannot hold bfloat16 data")
        x = name[len("torch."):]
    if x is None or isinstance(x, (bool, int)):
        raise TypeError(f"{where}: expected a dtype, got {x!r}")
    try:
        return np.dtype(x)
    except TypeError:
        raise TypeError(f"{where}: {x!r} is not a dtype npgrad knows") from None


def _is_dtype(x):
    if x is None or isinstance(x, (bool, int, Tensor, np.ndarray)):
        return False
    try:
        dtype_of(x, "")
        return True
    except TypeError:
        return type(x).__name__ == "dtype" and str(x).startswith("torch.")  # torch.bfloat16: a dtype, refused


def check_device(device, where):
    """The CPU (None, ``"cpu"``, ``"cpu:0"``, ``torch.device("cpu")``) passes; any other device is a ValueError
    (npgrad runs on the CPU only), never silently ignored."""
    if device is None or str(device) in ("cpu", "cpu:0"):
        return
    raise ValueError(f"{where}: npgrad runs on the CPU only, got device={device!r}")


def no_accelerator(name):
    """The error of ``Module.cuda()`` and the like."""
    raise ValueError(f"Module.{name}: npgrad runs on the CPU only (NumPy arrays), there is no {name} device")


def _invalid(args, kwargs):
    got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
    return TypeError(f"to() received an invalid combination of arguments - got ({got}), but expected one of:\n * "
                     + "\n * ".join(_TO_FORMS))


def parse_to(args, kwargs):
    """``(device, dtype, non_blocking, memory_format)`` from the arguments of ``to`` in any of PyTorch's forms;
    ``dtype`` is a NumPy dtype or None. A wrong combination is a TypeError, ``copy=True`` a RuntimeError."""
    kw = dict(kwargs)
    memory_format = kw.pop("memory_format", None)
    if set(kw) - {"device", "dtype", "non_blocking", "copy"}:
        raise _invalid(args, kwargs)
    if memory_format is not None and str(memory_format).replace("torch.", "") not in _MEMORY_FORMATS:
        raise _invalid(args, kwargs)
    if args and (isinstance(args[0], (Tensor, np.ndarray)) or _is_dtype(args[0])):
        names = ("first", "non_blocking", "copy")
        if len(args) > 3 or "device" in kw or "dtype" in kw:
            raise _invalid(args, kwargs)
    else:
        names = ("device", "dtype", "non_blocking", "copy")
        if len(args) > 4:
            raise _invalid(args, kwargs)
    values = dict(zip(names, args))
    for k, v in kw.items():
        if k in values:
            raise _invalid(args, kwargs)
        values[k] = v
    first = values.pop("first", None)
    device, dtype = values.get("device"), values.get("dtype")
    if isinstance(first, (Tensor, np.ndarray)):
        dtype = first.dtype
    elif first is not None:
        dtype = first
    if device is not None and _is_dtype(device) and not isinstance(device, str):
        raise _invalid(args, kwargs)
    if dtype is not None:
        if not _is_dtype(dtype) and not isinstance(dtype, np.dtype):
            raise _invalid(args, kwargs)
        dtype = dtype_of(dtype, "Module.to")
    if not all(isinstance(values.get(k, False), (bool, np.bool_)) for k in ("non_blocking", "copy")):
        raise _invalid(args, kwargs)
    if values.get("copy", False):
        raise RuntimeError(".to() does not accept copy argument")
    return device, dtype, bool(values.get("non_blocking", False)), memory_format
