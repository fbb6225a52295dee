"""Grad mode: whether operations record a graph. Thread-local, as in PyTorch."""
import functools
import inspect
import sys
import threading


class _GradState(threading.local):
    enabled = True


_state = _GradState()


def is_grad_enabled():
    """True when operations record the graph needed for backward (the default)."""
    return _state.enabled


def _decorate(make_context, fn):
    """``fn`` run under the context ``make_context()`` makes; a generator function's body runs under it at each
    step (as PyTorch's decorators do), not only while the generator object is created."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            gen = fn(*args, **kwargs)
            try:
                with make_context():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with make_context():
                            gen.close()
                        raise
                    except BaseException:
                        with make_context():
                            response = gen.throw(*sys.exc_info()[1:2])
                    else:
                        with make_context():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value
        return generator

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with make_context():
            return fn(*args, **kwargs)
    return wrapper


class _GradModeContext:
    """Base for context managers that set grad mode; also usable as decorators."""

    __slots__ = ("_prev",)
    _mode = True

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        if not callable(orig_func):
            raise TypeError(f"{cls.__name__}() takes no arguments (or, as a bare decorator, a function)")
        return cls()(orig_func)  # used as a bare decorator: @npg.no_grad, as PyTorch allows

    def __enter__(self):
        self._prev = _state.enabled
        _state.enabled = self._mode

    def __exit__(self, *exc):
        _state.enabled = self._prev
        return False

    def __call__(self, fn):
        return _decorate(self.__class__, fn)


class no_grad(_GradModeContext):
    """Context manager / decorator under which no graph is recorded.

    >>> with npg.no_grad():
    ...     y = x * 2          # y._requires_grad is False
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

    def __new__(cls, mode):
        return object.__new__(cls)

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
        return _decorate(lambda: set_grad_enabled(mode), fn)


class _InferenceState(threading.local):
    enabled = False


_inference = _InferenceState()


def is_inference_mode_enabled():
    """True inside ``inference_mode()`` (PyTorch's ``torch.is_inference_mode_enabled``)."""
    return _inference.enabled


class inference_mode:
    """``inference_mode(mode=True)``: PyTorch's context manager / decorator for code that never needs
    gradients. Here it is ``no_grad`` that also drops forward-mode tangents, as PyTorch (with ``mode=False``,
    grad mode is on inside, even under ``no_grad``, as PyTorch's); PyTorch additionally marks the
    tensors made inside as inference tensors that a later graph may not save, which npgrad does not track
    (they behave as tensors made under no_grad)."""

    __slots__ = ("_mode", "_prev", "_prev_inference")

    def __new__(cls, mode=True):
        if callable(mode):  # used as a bare decorator: @npg.inference_mode, as PyTorch allows
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def __enter__(self):
        self._prev, self._prev_inference = _state.enabled, _inference.enabled
        _state.enabled = not self._mode  # (inference_mode(False) turns grad mode on, as PyTorch's, even under no_grad)
        _inference.enabled = self._mode

    def __exit__(self, *exc):
        _state.enabled, _inference.enabled = self._prev, self._prev_inference
        return False

    def __call__(self, fn):
        mode = self._mode
        return _decorate(lambda: inference_mode(mode), fn)
