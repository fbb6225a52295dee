"""``npgrad.utils``: as ``torch.utils``, the utilities that are not layers: ``checkpoint`` (activation
checkpointing). (``npgrad.data`` is ``torch.utils.data``.)"""
from . import checkpoint

__all__ = ["checkpoint"]
