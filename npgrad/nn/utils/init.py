"""``skip_init``, as ``torch.nn.utils.skip_init``: build a module without initializing its parameters."""
import inspect

from ... import random as _random
from ..module import Module
from ..modules._util import check_device

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with uninitialized parameters and buffers (arbitrary values, as
    ``torch.empty``), for modules taking a ``device`` argument. As in PyTorch the random generator is left as it
    was (PyTorch builds the module on the meta device; npgrad builds it on the CPU, then restores the generator
    and gives every tensor new empty memory)."""
    if not (inspect.isclass(module_cls) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    check_device(final_device, "skip_init")
    generator = _random.get_generator()
    state = generator.bit_generator.state
    try:
        module = module_cls(*args, **kwargs)
    finally:
        generator.bit_generator.state = state
    return module.to_empty(device=final_device)
