"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d`` (on ``npgrad.ops.conv``)."""
import math

from .. import functional as F
from .. import init
from ..module import Module
from ._util import check_device, new_param, ntuple


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    _n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, transposed, output_padding=0, device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__()
        n = self._n
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{type(self).__name__}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{type(self).__name__}: padding_mode must be one of {_PADDING_MODES}, but got "
                             f"padding_mode={padding_mode!r}")
        if transposed and padding_mode != "zeros":
            raise ValueError(f'{type(self).__name__}: only "zeros" padding mode is supported')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = ntuple(kernel_size, n, "kernel_size")
        self.stride = ntuple(stride, n, "stride")
        self.padding = padding if isinstance(padding, str) else ntuple(padding, n, "padding")
        if isinstance(padding, str):  # PyTorch checks string paddings when the layer is built
            if padding not in ("same", "valid"):
                raise ValueError(f"{type(self).__name__}: Invalid padding string {padding!r}, should be one of "
                                 f"{{'same', 'valid'}}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{type(self).__name__}: padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride})")
        self.dilation = ntuple(dilation, n, "dilation")
        self.output_padding = ntuple(output_padding, n, "output_padding")
        self.groups = groups
        self.transposed = transposed
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._pad_widths()
        if transposed:
            self.weight = new_param(in_channels, out_channels // groups, *self.kernel_size, dtype=dtype)
        else:
            self.weight = new_param(out_channels, in_channels // groups, *self.kernel_size, dtype=dtype)
        if bias:
            self.bias = new_param(out_channels, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _pad_widths(self):
        """F.pad's widths (last dim first) for a non-zero ``padding_mode``, as PyTorch's
        ``_reversed_padding_repeated_twice`` ('same' puts the odd extra at the end)."""
        out = []
        for i in reversed(range(self._n)):
            if self.padding == "valid":
                lo = hi = 0
            elif self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                lo, hi = total // 2, total - total // 2
            else:
                lo = hi = self.padding[i]
            out += [lo, hi]
        return tuple(out)

    def _conv_forward(self, input, conv):
        """``conv(input, ...)`` with this layer's settings; a non-zero ``padding_mode`` pads with ``F.pad``
        first (reflect / replicate / circular) and convolves without padding, as PyTorch."""
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) inputs, as ``torch.nn.Conv1d``."""
    _n = 1

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, False, dtype=dtype)

    def forward(self, input):
        return self._conv_forward(input, F.conv1d)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) inputs, as ``torch.nn.Conv2d``."""
    _n = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, False, dtype=dtype)

    def forward(self, input):
        return self._conv_forward(input, F.conv2d)


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W) inputs, as ``torch.nn.Conv3d``."""
    _n = 3

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, False, dtype=dtype)

    def forward(self, input):
        return self._conv_forward(input, F.conv3d)


class _ConvTransposeNd(_ConvNd):
    _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, True, output_padding, dtype=dtype)

    def forward(self, input, output_size=None):
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return type(self)._fn(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                              self.groups, self.dilation)

    def _output_padding(self, input, output_size):
        """The output_padding giving ``output_size`` (the spatial sizes, or the whole output shape), as
        PyTorch: each size must lie in [minimum, minimum + stride - 1]."""
        n, name = self._n, type(self).__name__
        size = tuple(output_size)
        lead = input.ndim - n                    # 2 (N, C) for a batched input, 1 (C) for an unbatched one
        if len(size) == n + lead:
            size = size[lead:]
        if len(size) != n:
            raise ValueError(f"{name}: output_size must have {n} or {n + lead} elements (got {len(size)}: "
                             f"{tuple(output_size)}) for an input of shape {input.shape}")
        lo = tuple((input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
                   + self.dilation[d] * (self.kernel_size[d] - 1) + 1 for d in range(n))
        hi = tuple(m + s - 1 for m, s in zip(lo, self.stride))
        if any(not a <= o <= b for o, a, b in zip(size, lo, hi)):
            raise ValueError(f"{name}: requested an output size of {size}, but valid sizes range from "
                             f"{list(lo)} to {list(hi)} (for an input of shape {input.shape})")
        return tuple(o - a for o, a in zip(size, lo))


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution, as ``torch.nn.ConvTranspose1d`` (weight (in, out/groups, k))."""
    _n = 1
    _fn = staticmethod(F.conv_transpose1d)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution, as ``torch.nn.ConvTranspose2d`` (weight (in, out/groups, kh, kw))."""
    _n = 2
    _fn = staticmethod(F.conv_transpose2d)


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution, as ``torch.nn.ConvTranspose3d`` (weight (in, out/groups, kd, kh, kw))."""
    _n = 3
    _fn = staticmethod(F.conv_transpose3d)
