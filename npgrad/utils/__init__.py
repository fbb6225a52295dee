"""``npgrad.utils``: as ``torch.utils``, the utilities that are not layers: ``checkpoint`` (activation
checkpointing) and ``data`` (torch's path to ``npgrad.data``: ``from npgrad.utils.data import DataLoader``)."""
from . import checkpoint, data

__all__ = ["checkpoint", "data"]
