"""``MaxUnpool1d/2d/3d`` (the partial inverse of max pooling) and ``ChannelShuffle``, as torch.nn."""
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
