"""Swapping the function that records graph nodes (``_record``) for a wrapping one, and back.

Two features wrap ``_record`` only while they are on, so that they cost nothing when off: anomaly mode
(autograd/anomaly.py: checks every op) and ``saved_tensors_hooks`` (autograd/graph.py: packs what every op
saves). Each is a layer; ``set_layer`` rebuilds the composition (saved hooks innermost, anomaly outermost) and
puts it into every loaded npgrad module that holds the current one (elementwise ops inline the plain
``_record`` only while theirs ``is`` the plain one). Layers may be turned on and off in any order.

``Packed`` is what a node keeps in ``_saved`` when its values went through saved tensor hooks; backward calls
its ``unpack()`` (engine.run_backward: one class test per node).
"""
import sys
import threading

import numpy as np

_PLAIN = sys.modules["npgrad.tensor"]._record   # (npgrad.tensor the attribute is the function)
_ORDER = ("saved", "anomaly")
_layers = dict.fromkeys(_ORDER)
_current = _PLAIN
_built = {}   # the composed function for each combination of layers
_lock = threading.RLock()


def set_layer(name, factory):
    """Turn layer ``name`` on (``factory(inner_record) -> record``) or off (``factory=None``)."""
    global _current
    with _lock:
        _layers[name] = factory
        key = tuple(_layers[k] for k in _ORDER)
        new = _built.get(key)
        if new is None:  # (the same layers give the same function: a module's _record can be compared with it)
            new = _PLAIN
            for k in _ORDER:
                if _layers[k] is not None:
                    new = _layers[k](new)
            _built[key] = new
        old = _current
        for modname, mod in list(sys.modules.items()):
            if mod is None or not (modname == "npgrad" or modname.startswith("npgrad.")):
                continue
            if getattr(mod, "_record", None) is old:
                mod._record = new
        _current = new


class Packed:
    """A node's saved values after ``saved_tensors_hooks``' pack: ``items[i]`` is the packed object of saved
    array ``i`` (``meta[i]``: its shape and dtype) or the saved value itself (``meta[i]`` None: None, or a value
    that is not an array)."""

    __slots__ = ("items", "meta", "unpack_hook", "op")

    def __init__(self, saved, pack, unpack, op, wrap):
        items, meta = [], []
        for v in saved:
            if isinstance(v, np.ndarray):
                items.append(pack(wrap(v)))
                meta.append((v.shape, v.dtype))
            else:
                items.append(v)
                meta.append(None)
        self.items, self.meta, self.unpack_hook, self.op = tuple(items), tuple(meta), unpack, op

    def unpack(self):
        """The saved values, each packed one through the unpack hook paired with its pack (as NumPy arrays of
        the shape and dtype saved)."""
        out = []
        for v, m in zip(self.items, self.meta):
            if m is None:
                out.append(v)
                continue
            r = self.unpack_hook(v)
            a = r if isinstance(r, np.ndarray) else getattr(r, "data", r)
            if not isinstance(a, np.ndarray):
                a = np.asarray(a)
            shape, dtype = m
            if a.shape != shape:
                raise RuntimeError(f"saved_tensors_hooks: the unpack hook returned a value of shape {a.shape} for "
                                   f"a value of shape {shape} saved by op '{self.op}': unpack must give back what "
                                   f"was packed")
            if a.dtype != dtype:
                a = a.astype(dtype)   # (as PyTorch, whose gradients keep the input's dtype)
            out.append(a)
        return tuple(out)
