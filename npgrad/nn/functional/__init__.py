"""``npgrad.nn.functional``: layers and losses as functions, with PyTorch's names, signatures and defaults.

The ops that dominate a training step (``linear``, ``softmax``, ``log_softmax``, ``cross_entropy``,
``layer_norm``, ``batch_norm``, ``gelu``, ``silu``, ``scaled_dot_product_attention``) are single fused
ops: one NumPy forward and a hand-written VJP per input, so a step costs about what hand-written NumPy
costs. Each VJP has two paths: the plain backward reuses values the forward kept (probabilities,
normalized activations); with ``create_graph=True`` it gets Tensors and recomputes those values with
differentiable npgrad ops, so second derivatives work too.
"""
# One module per family (kept under ~500 lines each); this namespace re-exports them all, as torch.nn.functional.
from ...ops import elementwise as _ew
from ...ops.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,  # noqa: F401
                         conv_transpose3d)
from ...ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d,  # noqa: F401
                            adaptive_max_pool1d, adaptive_max_pool2d, adaptive_max_pool3d, avg_pool1d, avg_pool2d,
                            avg_pool3d, max_pool1d, max_pool2d, max_pool3d)
from .activation import *  # noqa: F401,F403
from .activation_more import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .ctc import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .fractional import *  # noqa: F401,F403
from .grid import *  # noqa: F401,F403
from .resampling import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .loss_margin import *  # noqa: F401,F403
from .loss_more import *  # noqa: F401,F403
from .mha import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .patches import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .unpool import *  # noqa: F401,F403
del in_graph, number_arg  # noqa: F821  (ops/_util.py's helpers, imported by the modules above: not F's names)



def relu(input, inplace=False):
    """``max(x, 0)``, as ``torch.nn.functional.relu`` (``inplace``: written into the input, as ``relu_``)."""
    return relu_(input) if inplace else _ew.relu(input)


def tanh(input):
    """``tanh(x)``, as ``torch.nn.functional.tanh``."""
    return _ew.tanh(input)


def sigmoid(input):
    """``1 / (1 + exp(-x))``, as ``torch.nn.functional.sigmoid``."""
    return _ew.sigmoid(input)
