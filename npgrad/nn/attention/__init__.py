"""``npgrad.nn.attention``: ``torch.nn.attention``'s ``SDPBackend`` and ``sdpa_kernel``, so that code selecting
an attention backend runs unchanged.

npgrad has one implementation of ``F.scaled_dot_product_attention`` (NumPy's matmul and softmax: torch's MATH
backend). ``with sdpa_kernel(backends):`` with any backend enabled (``MATH``, ``FLASH_ATTENTION``,
``EFFICIENT_ATTENTION``, ``CUDNN_ATTENTION``, ``OVERRIDEABLE``) runs it; with none (an empty list, or only
``ERROR``) scaled_dot_product_attention raises RuntimeError, as torch's does when no backend is viable. On exit
the previous selection is restored. ``bias`` holds ``causal_upper_left`` / ``causal_lower_right``."""
import contextlib
import enum

from ..functional import attention as _attention

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS"]

WARN_FOR_UNFUSED_KERNELS = False   # (torch's flag; npgrad has no fused kernels to warn about)


class SDPBackend(enum.IntEnum):
    """The backends of scaled dot-product attention, torch's members and values."""
    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority=False):
    """Enable only ``backends`` (one ``SDPBackend`` or a list) for ``scaled_dot_product_attention`` inside the
    ``with`` block, as ``torch.nn.attention.sdpa_kernel`` (``set_priority`` accepted: there is one
    implementation, so no order to choose); yields ``{}`` as torch's."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError(f"Backend must be an instance of SDPBackend or a list of SDPBackend instances, got "
                             f"{type(backends).__name__}")
    backends = [backends] if isinstance(backends, SDPBackend) else list(dict.fromkeys(backends))
    for b in backends:
        if not isinstance(b, SDPBackend):
            raise AssertionError(f"sdpa_kernel: {b!r} is not an SDPBackend (use npgrad.nn.attention.SDPBackend's "
                                 f"members)")
    previous = _attention._SDPA_BACKENDS
    _attention._SDPA_BACKENDS = frozenset(int(b) for b in backends if b != SDPBackend.ERROR)
    try:
        yield {}
    finally:
        _attention._SDPA_BACKENDS = previous


from . import bias  # noqa: E402,F401
