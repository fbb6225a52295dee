"""The handles ``Tensor.register_hook`` and ``register_post_accumulate_grad_hook`` return (npgrad/tensor.py),
and ``grad_fn.register_hook`` (graph.py): ``remove()`` unregisters the hook."""


class _HookHandle:
    """What ``register_hook`` returns: ``remove()`` unregisters the hook (also as a context manager). It holds
    the hook list itself, which an in-place write hands on to the tensor's previous version (ops/inplace.py)."""

    __slots__ = ("hooks", "hook")

    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        for i, h in enumerate(self.hooks):
            if h is self.hook:
                del self.hooks[i]
                break

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _PostHookHandle:
    """What ``register_post_accumulate_grad_hook`` returns: ``remove()`` unregisters the hook."""

    __slots__ = ("tensor", "hook")

    def __init__(self, tensor, hook):
        self.tensor, self.hook = tensor, hook

    def remove(self):
        t, extra = self.tensor, self.tensor._extra
        hooks = extra.get("post_hooks") if extra else None
        if hooks and self.hook in hooks:
            hooks.remove(self.hook)
            if not hooks:
                del extra["post_hooks"]
                from .engine import _post_hooked
                _post_hooked.pop(id(t), None)
