"""Pytrees of the functional transforms (npgrad/func.py): nested lists, tuples, namedtuples and dicts
flattened into their leaves and rebuilt (an OrderedDict stays one, as in torch's pytrees)."""
import collections


def _flatten(x):
    """Leaves of nested lists / tuples / dicts, and a spec to rebuild the structure."""
    if isinstance(x, (list, tuple)):
        leaves, specs = [], []
        for v in x:
            lv, s = _flatten(v)
            leaves += lv
            specs.append(s)
        return leaves, (type(x), None, specs)
    if isinstance(x, dict):
        leaves, specs = [], []
        keys = list(x)
        for k in keys:
            lv, s = _flatten(x[k])
            leaves += lv
            specs.append(s)
        return leaves, (collections.OrderedDict if isinstance(x, collections.OrderedDict) else dict, keys, specs)
    return [x], None


def _unflatten(leaves, spec):
    it = iter(leaves)
    out = _build(it, spec)
    return out


def _build(it, spec):
    if spec is None:
        return next(it)
    kind, keys, specs = spec
    items = [_build(it, s) for s in specs]
    if kind is dict or kind is collections.OrderedDict:
        return kind(zip(keys, items))
    if kind is list:
        return items
    if kind is tuple:
        return tuple(items)
    if hasattr(kind, "_fields"):  # namedtuple
        return kind(*items)
    return kind(items)


def _tree_map(fn, x):
    leaves, spec = _flatten(x)
    return _unflatten([fn(v) for v in leaves], spec)


def _count_leaves(spec):
    if spec is None:
        return 1
    return sum(_count_leaves(s) for s in spec[2])


def _spec_str(spec):
    """A structure for error messages: ``*`` for a leaf, e.g. ``{'a': *, 'b': (*, *)}``."""
    if spec is None:
        return "*"
    kind, keys, specs = spec
    items = [_spec_str(s) for s in specs]
    if kind is dict or (isinstance(kind, type) and issubclass(kind, dict)):
        return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(keys, items)) + "}"
    if kind is list:
        return "[" + ", ".join(items) + "]"
    if kind is tuple:
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return f"{getattr(kind, '__name__', kind)}(" + ", ".join(items) + ")"


def _broadcast_prefix(prefix, x):
    """The leaves of ``prefix`` broadcast over the leaves of ``x`` (as torch's in_dims / out_dims): a leaf of
    ``prefix`` (an int, None...) stands for every leaf of the subtree of ``x`` at its place. None when
    ``prefix`` is not a prefix of ``x``'s structure (a sequence of another length, a dict of other keys)."""
    if not isinstance(prefix, (list, tuple, dict)):
        return [prefix] * len(_flatten(x)[0])
    if isinstance(prefix, dict):
        if not isinstance(x, dict) or set(prefix) != set(x):
            return None
        pairs = [(prefix[k], x[k]) for k in x]   # (matched by key, in the order of x's leaves)
    else:
        if not isinstance(x, (list, tuple)) or len(prefix) != len(x):
            return None
        pairs = list(zip(prefix, x))
    out = []
    for p, v in pairs:
        sub = _broadcast_prefix(p, v)
        if sub is None:
            return None
        out += sub
    return out
