"""Grad mode: whether operations record a graph. Thread-local, as in PyTorch."""
import functools
import threading


class _GradState(threading.local):
    enabled = True


_state = _GradState()


def is_grad_enabled():
    """True when operations record the graph needed for backward (the default)."""
    return _state.enabled


class _GradModeContext:
    """Base for context managers that set grad mode; also usable as decorators."""

    __slots__ = ("_prev",)
    _mode = True

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradModeContext):
    """Context manager / decorator under which no graph is recorded.

    >>> with npg.no_grad():
    ...     y = x * 2          # y.requires_grad is False
    """

    __slots__ = ()
    _mode = False


class enable_grad(_GradModeContext):
    """Context manager / decorator that turns graph recording back on (inside ``no_grad``)."""

    __slots__ = ()
    _mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` turns recording off; works as a call, a context manager or a decorator."""

    __slots__ = ("_mode_value",)

    def __init__(self, mode):
        self._prev = _state.enabled
        self._mode_value = bool(mode)
        _state.enabled = self._mode_value

    def __enter__(self):
        pass

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self._mode_value
        _state.enabled = self._prev  # used as a decorator: undo the call-time switch

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper
