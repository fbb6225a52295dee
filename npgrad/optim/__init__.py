"""``npgrad.optim``: optimizers and learning-rate schedules, with PyTorch's update rules.

>>> opt = npg.optim.AdamW(model.parameters(), lr=1e-3)
>>> loss.backward(); opt.step(); opt.zero_grad()
"""
from . import lr_scheduler, swa_utils  # noqa: F401
from .adafactor import Adafactor  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .adam_variants import Adamax, NAdam, RAdam  # noqa: F401
from .classic import ASGD, Adadelta, Rprop  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from .muon import Muon  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .rmsprop import Adagrad, RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401
from .sparse_adam import SparseAdam  # noqa: F401
