"""``npgrad.distributed.nn``: differentiable collectives (``npgrad.distributed.nn.functional``), as
``torch.distributed.nn``."""
from . import functional

__all__ = ["functional"]
