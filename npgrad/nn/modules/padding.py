"""Padding layers, as ``torch.nn``: ``ReflectionPad1d/2d/3d``, ``ReplicationPad1d/2d/3d``,
``CircularPad1d/2d/3d``, ``ConstantPad1d/2d/3d`` and ``ZeroPad1d/2d/3d`` (each one call of ``F.pad``)."""
from .. import functional as F
from ..module import Module


class _PadNd(Module):
    _n = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        n = self._n
        if isinstance(padding, (tuple, list)):
            if len(padding) != 2 * n:
                raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {2 * n} ints, got "
                                 f"{tuple(padding)}")
            self.padding = tuple(int(p) for p in padding)
        else:
            self.padding = (int(padding),) * (2 * n)

    def forward(self, input):
        return F.pad(input, self.padding, mode=self._mode)

    def extra_repr(self):
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding)
        self.value = value

    def forward(self, input):
        return F.pad(input, self.padding, mode="constant", value=self.value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


def _make(name, n, base, mode, doc):
    cls = type(name, (base,), {"_n": n, "_mode": mode, "__doc__": doc, "__module__": __name__})
    return cls


_DOCS = {"reflect": "Pad the last {n} dim(s) by reflection (the edge is not repeated), as ``torch.nn.{name}``.",
         "replicate": "Pad the last {n} dim(s) by repeating the edge values, as ``torch.nn.{name}``.",
         "circular": "Pad the last {n} dim(s) by wrapping around, as ``torch.nn.{name}``.",
         "constant": "Pad the last {n} dim(s) with a constant ``value``, as ``torch.nn.{name}``."}

ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (
    _make(f"ReflectionPad{n}d", n, _PadNd, "reflect", _DOCS["reflect"].format(n=n, name=f"ReflectionPad{n}d"))
    for n in (1, 2, 3))
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (
    _make(f"ReplicationPad{n}d", n, _PadNd, "replicate", _DOCS["replicate"].format(n=n, name=f"ReplicationPad{n}d"))
    for n in (1, 2, 3))
CircularPad1d, CircularPad2d, CircularPad3d = (
    _make(f"CircularPad{n}d", n, _PadNd, "circular", _DOCS["circular"].format(n=n, name=f"CircularPad{n}d"))
    for n in (1, 2, 3))
ConstantPad1d, ConstantPad2d, ConstantPad3d = (
    _make(f"ConstantPad{n}d", n, _ConstantPadNd, "constant", _DOCS["constant"].format(n=n, name=f"ConstantPad{n}d"))
    for n in (1, 2, 3))


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self):
        return f"{self.padding}"


ZeroPad1d, ZeroPad2d, ZeroPad3d = (
    _make(f"ZeroPad{n}d", n, _ZeroPadNd, "constant", f"Pad the last {n} dim(s) with zeros, as ``torch.nn.ZeroPad{n}d``.")
    for n in (1, 2, 3))
