"""``torch.nn.utils.clip_grad``: the gradient-clipping functions (defined in ``npgrad.nn.utils``)."""
from . import clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]
