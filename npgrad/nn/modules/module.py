"""PyTorch's ``torch.nn.modules.module`` import path: :class:`Module` (defined in npgrad/nn/module.py) and the
global module hooks (npgrad/nn/hooks.py), so that ``from npgrad.nn.modules.module import
register_module_forward_hook`` ports as written."""
from ..hooks import (register_module_buffer_registration_hook, register_module_forward_hook,  # noqa: F401
                     register_module_forward_pre_hook, register_module_full_backward_hook,
                     register_module_full_backward_pre_hook, register_module_module_registration_hook,
                     register_module_parameter_registration_hook)
from ..module import Module  # noqa: F401

__all__ = ["Module", "register_module_buffer_registration_hook", "register_module_forward_hook",
           "register_module_forward_pre_hook", "register_module_full_backward_hook",
           "register_module_full_backward_pre_hook", "register_module_module_registration_hook",
           "register_module_parameter_registration_hook"]
