"""PyTorch's global registration hooks (torch.nn.modules.module.register_module_{parameter,buffer,module}_
registration_hook): the same registrations in torch and npgrad call the hooks with the same (module, name, value)
in the same order, and a hook's return value is what gets registered."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.modules.module as nmm
import torch.nn.modules.module as tmm


def _program(lib, mm):
    """Registrations of every kind; returns the hooks' log and the built module."""
    nn = lib.nn
    log = []

    def describe(value):
        if value is None:
            return None
        if isinstance(value, nn.Module):
            return type(value).__name__
        return tuple(value.shape)

    def on_param(module, name, p):
        log.append(("param", type(module).__name__, name, describe(p)))
        if name == "swap":                       # a hook's return value is registered instead
            return nn.Parameter(lib.ones(3, dtype=lib.float64))

    def on_buffer(module, name, b):
        log.append(("buffer", type(module).__name__, name, describe(b)))

    def on_module(module, name, m):
        log.append(("module", type(module).__name__, name, describe(m)))
        if name == "replaced":
            return nn.Tanh()

    handles = [mm.register_module_parameter_registration_hook(on_param),
               mm.register_module_buffer_registration_hook(on_buffer),
               mm.register_module_module_registration_hook(on_module)]
    try:
        seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())        # Linear's weight and bias, Sequential's children
        seq.register_buffer("steps", lib.zeros(1, dtype=lib.float64))
        seq.steps = lib.ones(1, dtype=lib.float64)              # assignment to a registered buffer
        seq.register_buffer("empty", None)
        seq.swap = nn.Parameter(lib.zeros(3, dtype=lib.float64))   # assignment of a Parameter
        seq.register_parameter("nothing", None)                  # None: no parameter hook
        seq.add_module("replaced", nn.ReLU())
        seq.extra = nn.Identity()                                # assignment of a module
        seq.extra = None                                         # None into a registered child: module hooks run
        norm = nn.BatchNorm1d(2)                                 # buffers registered in __init__
    finally:
        for h in handles:
            h.remove()
    seq.after = nn.ReLU()                                        # removed hooks are not called
    return log, seq, norm


def test_registration_hooks_see_what_torch_hooks_see():
    tlog, tseq, _ = _program(torch, tmm)
    nlog, nseq, _ = _program(npg, nmm)
    assert nlog == tlog
    assert type(nseq.replaced).__name__ == type(tseq.replaced).__name__ == "Tanh"
    np.testing.assert_array_equal(nseq.swap.data, tseq.swap.detach().numpy())
    assert [k for k, _ in nseq.named_parameters()] == [k for k, _ in tseq.named_parameters()]


def test_buffer_hook_replacement_and_error_in_hook():
    def double(module, name, b):
        return None if b is None else b * 2

    h = nmm.register_module_buffer_registration_hook(double)
    try:
        m = npg.nn.Module()
        m.register_buffer("b", npg.ones(2))
    finally:
        h.remove()
    np.testing.assert_array_equal(m.b.data, [2.0, 2.0])

    def refuse(module, name, p):
        raise ValueError(f"no parameter {name}")

    h = nmm.register_module_parameter_registration_hook(refuse)
    try:
        with pytest.raises(ValueError, match="no parameter weight"):
            npg.nn.Linear(2, 2)
    finally:
        h.remove()
    npg.nn.Linear(2, 2)   # removed: registrations work again


def test_hooks_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        nmm.register_module_module_registration_hook(3)
