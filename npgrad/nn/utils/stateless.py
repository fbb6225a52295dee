"""``functional_call``: run a module with some of its parameters and buffers replaced, as
``torch.func.functional_call`` (also ``npgrad.func.functional_call``).

>>> params = {k: v.detach().requires_grad_() for k, v in model.named_parameters()}
>>> loss = F.mse_loss(functional_call(model, params, (x,)), y)
>>> grads = npg.func.grad(lambda p: F.mse_loss(functional_call(model, p, (x,)), y))(params)
"""
from contextlib import contextmanager

from ...tensor import Tensor, as_tensor

__all__ = ["functional_call"]


def _own_tensors(module):
    """Every parameter and buffer under every name it has (tied ones repeat), in definition order."""
    out = {}
    for mod_name, mod in module.named_modules(remove_duplicate=False):
        pre = mod_name + "." if mod_name else ""
        for table in (mod._parameters, mod._buffers):
            for name, t in table.items():
                if t is not None:
                    out[pre + name] = t
    return out


def _tie(own, given):
    """Give tied names (one tensor under several names) the value given for any one of them."""
    groups = {}
    for name, t in own.items():
        groups.setdefault(id(t), []).append(name)
    extra = {}
    for names in groups.values():
        if len(names) < 2:
            continue
        set_names = [n for n in names if n in given]
        if not set_names:
            continue
        values = {id(given[n]) for n in set_names}
        if len(values) > 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(set_names)}, which are tied. "
                             f"Consider using tie_weights=False")
        for n in names:
            if n not in given:
                extra[n] = given[set_names[0]]
    return {**given, **extra}


@contextmanager
def _reparametrize(module, values, strict):
    own = _own_tensors(module)
    if strict:
        missing = [k for k in own if k not in values]
        unexpected = [k for k in values if k not in own]
        if missing or unexpected:
            msgs = []
            if unexpected:
                msgs.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected) + ".")
            if missing:
                msgs.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t" + "\n\t".join(msgs))
    swapped = []  # (module, table or None, leaf name, old value)
    try:
        for name, value in values.items():
            mod_path, _, leaf = name.rpartition(".")
            mod = module.get_submodule(mod_path)
            if not isinstance(value, Tensor):
                value = as_tensor(value)
            for table in (mod._parameters, mod._buffers):
                if leaf in table:
                    swapped.append((mod, table, leaf, table[leaf]))
                    table[leaf] = value
                    break
            else:
                if isinstance(getattr(type(mod), leaf, None), property):
                    raise ValueError(f"functional_call: '{name}' is a parametrized tensor; pass the tensors it is "
                                     f"computed from instead (e.g. '{mod_path + '.' if mod_path else ''}"
                                     f"parametrizations.{leaf}.original')")
                swapped.append((mod, None, leaf, mod.__dict__.get(leaf, _MISSING)))
                object.__setattr__(mod, leaf, value)
        yield
    finally:
        for mod, table, leaf, old in reversed(swapped):
            if table is not None:
                table[leaf] = old
            elif old is _MISSING:
                mod.__dict__.pop(leaf, None)
            else:
                object.__setattr__(mod, leaf, old)


_MISSING = object()


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Call ``module(*args, **kwargs)`` with the parameters and buffers named (dotted, as in ``state_dict``) in
    ``parameter_and_buffer_dicts`` (a dict, or a tuple of dicts with distinct keys) in place of its own, which are
    restored afterwards. Gradients flow to the tensors given. With ``tie_weights`` a value given for one name of a
    tied tensor is used for all its names; with ``strict`` every parameter and buffer must be given, and nothing
    else. ``args`` may be a single tensor."""
    if isinstance(parameter_and_buffer_dicts, dict):
        values = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (list, tuple)):
        values = {}
        for d in parameter_and_buffer_dicts:
            repeated = [k for k in d if k in values]
            if repeated:
                raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is "
                                 f"ambiguous")
            values.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, but got "
                         f"{type(parameter_and_buffer_dicts)}")
    if tie_weights:
        values = _tie(_own_tensors(module), values)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize(module, values, strict):
        return module(*args, **(kwargs or {}))
