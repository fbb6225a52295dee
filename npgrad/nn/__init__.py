"""``npgrad.nn``: modules, parameters, functional ops and initialization, as ``torch.nn``.

>>> import npgrad as npg
>>> import npgrad.nn as nn
>>> import npgrad.nn.functional as F
>>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
>>> loss = F.cross_entropy(model(npg.randn(8, 4)), np.array([0, 1, 2, 0, 1, 2, 0, 1]))
"""
from . import functional, init, utils  # noqa: F401
from .module import Module  # noqa: F401
from .modules import *  # noqa: F401,F403
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter  # noqa: F401
del attention  # noqa: F821  (modules/attention.py, which the star import left under this name)
from . import attention  # noqa: E402,F401  (torch.nn.attention: sdpa_kernel, SDPBackend, bias)
