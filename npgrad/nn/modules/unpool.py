"""``MaxUnpool1d/2d/3d`` (the partial inverse of max pooling), ``FractionalMaxPool2d/3d`` and ``ChannelShuffle``,
as torch.nn."""
from .. import functional as F
from ..module import Module
from ._util import ntuple


class _MaxUnpoolNd(Module):
    _nd = 0
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        nd = self._nd
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size")
        self.stride = ntuple(stride if stride is not None else kernel_size, nd, "stride")
        self.padding = ntuple(padding, nd, "padding")

    def forward(self, input, indices, output_size=None):
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool1d``: ``forward(input, indices, output_size=None)`` writes ``input`` at the
    ``indices`` ``MaxPool1d(return_indices=True)`` gave into zeros (see ``F.max_unpool1d``)."""
    _nd = 1
    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool2d`` (see ``F.max_unpool2d``)."""
    _nd = 2
    _fn = staticmethod(F.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """The partial inverse of ``MaxPool3d`` (see ``F.max_unpool3d``)."""
    _nd = 3
    _fn = staticmethod(F.max_unpool3d)


class ChannelShuffle(Module):
    """Shuffle the channels of (N, C, *) in ``groups`` (ShuffleNet), as ``torch.nn.ChannelShuffle``."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class _FractionalMaxPoolNd(Module):
    _nd = 0
    _fn = None

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False, _random_samples=None):
        super().__init__()
        nd, name = self._nd, type(self).__name__
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size")
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = ntuple(output_size, nd, "output_size") if output_size is not None else None
        self.output_ratio = ntuple(output_ratio, nd, "output_ratio") if output_ratio is not None else None
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                              _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling over (N, C, H, W) or (C, H, W), as ``torch.nn.FractionalMaxPool2d`` (see
    ``F.fractional_max_pool2d``); ``_random_samples`` (a buffer, when given) fixes the pseudo-random steps."""
    _nd = 2
    _fn = staticmethod(F.fractional_max_pool2d)


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling over (N, C, T, H, W) or (C, T, H, W), as ``torch.nn.FractionalMaxPool3d``."""
    _nd = 3
    _fn = staticmethod(F.fractional_max_pool3d)
