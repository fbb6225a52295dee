"""``npg.save`` / ``npg.load``: state dicts (and nested dicts, lists, numbers, strings) as ``.npz`` files.

Arrays are stored as ``.npy`` members; the structure around them is JSON in one more member. Loading uses
``np.load(..., allow_pickle=False)`` and ``json``: it never unpickles, so loading an untrusted file
cannot run code.
"""
import json
import os

import numpy as np

from .tensor import Tensor

_META = "__npgrad_structure__"
_FORMAT = 1


def _encode(obj, arrays):
    if isinstance(obj, Tensor):
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(obj.data)
        return {"tensor": name, "requires_grad": bool(obj.requires_grad),
                "parameter": type(obj).__name__ == "Parameter"}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufcSU":
            raise TypeError(f"save: cannot store an array of dtype {obj.dtype} without pickle")
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"array": name}
    if isinstance(obj, np.generic):
        return _encode(np.asarray(obj), arrays) | {"scalar": True}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__}")
            items.append([k, _encode(v, arrays)])
        return {"dict": items, "ordered": type(obj).__name__ == "OrderedDict"}
    if isinstance(obj, (list, tuple)):
        return {"list" if isinstance(obj, list) else "tuple": [_encode(v, arrays) for v in obj]}
    raise TypeError(f"save: cannot store an object of type {type(obj).__name__} (use Tensors, NumPy arrays, "
                    f"numbers, strings, None, and dicts / lists / tuples of them)")


def _decode(node, arrays):
    if "tensor" in node:
        arr = arrays[node["tensor"]]
        if node.get("parameter"):
            from .nn.parameter import Parameter
            return Parameter(arr, requires_grad=node["requires_grad"])
        return Tensor(arr, requires_grad=node["requires_grad"] and arr.dtype.kind == "f")
    if "array" in node:
        arr = arrays[node["array"]]
        return arr[()] if node.get("scalar") else arr
    if "value" in node:
        return node["value"]
    if "dict" in node:
        from collections import OrderedDict
        cls = OrderedDict if node.get("ordered") else dict
        return cls((k, _decode(v, arrays)) for k, v in node["dict"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    raise ValueError(f"load: malformed structure entry {node!r}")


def save(obj, f):
    """Save ``obj`` (a state dict, or nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None)
    to ``f`` (a path, written exactly as given, or a binary file object) in ``.npz`` format."""
    arrays = {}
    structure = {"format": _FORMAT, "root": _encode(obj, arrays)}
    meta = np.frombuffer(json.dumps(structure).encode("utf-8"), dtype=np.uint8)
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            np.savez(fh, **arrays, **{_META: meta})
    else:
        np.savez(f, **arrays, **{_META: meta})


def load(f):
    """Load what ``save`` wrote. Tensors come back as Tensors (Parameters as Parameters), arrays as arrays;
    no pickle is ever read, so an untrusted file cannot execute code."""
    with np.load(f, allow_pickle=False) as z:
        if _META not in z.files:
            raise ValueError("load: not a file written by npgrad.save (no structure member)")
        structure = json.loads(z[_META].tobytes().decode("utf-8"))
        arrays = {name: z[name] for name in z.files if name != _META}
    if structure.get("format") != _FORMAT:
        raise ValueError(f"load: unsupported format version {structure.get('format')!r}")
    return _decode(structure["root"], arrays)
