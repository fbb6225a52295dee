"""Pooling layers, on ``npgrad.ops.pooling``: max, average, adaptive (average and max) and power-average
(``LPPool``) pooling in 1, 2 and 3 dimensions."""
from .. import functional as F
from ..module import Module


class _Pool(Module):
    def extra_repr(self):
        return ", ".join(f"{k}={getattr(self, k)}" for k in self._fields)


class _MaxPoolNd(_Pool):
    _fields = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.dilation,
                              ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool1d(_MaxPoolNd):
    """Max pooling over (N, C, L) or (C, L); stride defaults to the kernel size, padding pads with -inf."""
    _fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """Max pooling over (N, C, H, W); stride defaults to the kernel size, padding pads with -inf."""
    _fn = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """Max pooling over (N, C, D, H, W) or (C, D, H, W)."""
    _fn = staticmethod(F.max_pool3d)


class AvgPool1d(_Pool):
    """Average pooling over (N, C, L) or (C, L)."""
    _fields = ("kernel_size", "stride", "padding")

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class AvgPool2d(_Pool):
    """Average pooling over (N, C, H, W); padding is counted unless ``count_include_pad=False``."""
    _fields = ("kernel_size", "stride", "padding")
    _fn = staticmethod(F.avg_pool2d)

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride if stride is not None else kernel_size, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input):
        kwargs = {} if self.divisor_override is None else {"divisor_override": self.divisor_override}
        return type(self)._fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, **kwargs)


class AvgPool3d(AvgPool2d):
    """Average pooling over (N, C, D, H, W) or (C, D, H, W)."""
    _fn = staticmethod(F.avg_pool3d)


class _AdaptiveAvgPool(_Pool):
    _fields = ("output_size",)
    _fn = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return type(self)._fn(input, self.output_size)


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """Average pooling to a fixed output length."""
    _fn = staticmethod(F.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """Average pooling to a fixed ``output_size`` (int or (h, w); None keeps that dim)."""
    _fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """Average pooling to a fixed ``output_size`` (int or (d, h, w); None keeps that dim)."""
    _fn = staticmethod(F.adaptive_avg_pool3d)


class _AdaptiveMaxPool(_Pool):
    _fields = ("output_size",)
    _fn = None

    def __init__(self, output_size, return_indices=False):
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input):
        return type(self)._fn(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """Max pooling to a fixed output length."""
    _fn = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size``."""
    _fn = staticmethod(F.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """Max pooling to a fixed ``output_size``."""
    _fn = staticmethod(F.adaptive_max_pool3d)


class _LPPool(_Pool):
    _fields = ("norm_type", "kernel_size", "stride", "ceil_mode")
    _fn = None

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return type(self)._fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool1d(_LPPool):
    """Power-average pooling ``(sum over the window of x ** p) ** (1 / p)`` over (N, C, L)."""
    _fn = staticmethod(F.lp_pool1d)


class LPPool2d(_LPPool):
    """Power-average pooling over (N, C, H, W)."""
    _fn = staticmethod(F.lp_pool2d)


class LPPool3d(_LPPool):
    """Power-average pooling over (N, C, D, H, W)."""
    _fn = staticmethod(F.lp_pool3d)
