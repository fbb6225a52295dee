"""The active ``vmap`` levels (level, batch size, ``randomness``) and what random ops do under them, as
``torch.func.vmap``:

* ``randomness='error'``: a random op inside vmap raises (the default);
* ``'same'``: one draw shared by every sample (a random op runs as outside vmap; a per-sample loop replays the
  generator's state for every sample, so each sees the same draw);
* ``'different'``: every sample its own draw (a random constructor such as ``randn(3)`` draws a ``(B, 3)``
  array and returns it batched; a per-sample loop simply draws once per sample).

npgrad's random source is the global generator of ``npgrad/random.py``; a ``generator=`` passed explicitly to an
op is not replayed by a 'same' loop (its draws then differ per sample, as they would in a Python loop).
"""
import contextlib
import importlib
import threading


class _ThreadStack(threading.local):
    """A list that each thread sees on its own (vmap levels are per thread, as torch.func's): append, pop,
    iteration, indexing and len act on the calling thread's list."""

    def __init__(self):
        self.items = []

    def append(self, x):
        self.items.append(x)

    def pop(self):
        return self.items.pop()

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class _ThreadFlag(threading.local):
    """A one-entry flag (``flag[0]``), per thread: func_vmap's _STRICT."""

    value = False

    def __getitem__(self, i):
        return self.value

    def __setitem__(self, i, v):
        self.value = v


_LEVELS = _ThreadStack()  # this thread's [level, size, randomness, looping] per active vmap level, outermost first
_calls = _ThreadStack()   # this thread's vectorized vmap calls (their levels), outermost first
_count_lock = threading.Lock()


def depth():
    """The innermost vectorized vmap level of this thread (0: none). ``npgrad.tensor._VMAP`` counts the open
    vectorized calls of all threads: ops test it alone at entry (a batched argument then says which level)."""
    return _calls[-1] if _calls else 0


def enter_call():
    """Open a vectorized vmap call in this thread: its level (one more than this thread's innermost)."""
    lv = depth() + 1
    _calls.append(lv)
    tm = importlib.import_module(".tensor", __package__)  # (the module; it is imported after this one)
    with _count_lock:
        tm._VMAP += 1
    return lv


def exit_call():
    """Close this thread's innermost vectorized vmap call (opened by enter_call)."""
    _calls.pop()
    tm = importlib.import_module(".tensor", __package__)
    with _count_lock:
        tm._VMAP -= 1


@contextlib.contextmanager
def level(lv, size, randomness, looping=False):
    """Register vmap level ``lv`` (batch ``size``) for the duration of its vectorized call (``looping``: of
    its whole-function fallback, a loop of unbatched calls)."""
    _LEVELS.append([lv, size, randomness, looping])
    try:
        yield
    finally:
        _LEVELS.pop()


def size_of(lv):
    """The batch size of the active level ``lv`` (None if it is not active)."""
    for entry in _LEVELS:
        if entry[0] == lv:
            return entry[1]
    return None


def innermost():
    """The innermost active level (0 outside vmap)."""
    return _LEVELS[-1][0] if _LEVELS else 0


def check(where):
    """A random op is about to draw: raise under a level with ``randomness='error'``."""
    for lv, _, mode, _ in _LEVELS:
        if mode == "error":
            raise RuntimeError(f"vmap: called {where} inside vmap with randomness='error' (the default). Pass "
                               f"randomness='different' to vmap for a different draw per sample, or "
                               f"randomness='same' for one draw shared by every sample (as torch.func.vmap)")


def batch_shape():
    """The leading axes a random constructor draws under the active levels: one per level with
    ``randomness='different'`` that is not running a per-sample loop (outermost first)."""
    return tuple(size for _, size, mode, looping in _LEVELS if mode == "different" and not looping)


def wrap(t):
    """A draw of shape :func:`batch_shape` ``+ shape`` as a tensor batched at those levels."""
    from .func_vmap import _batched
    for lv, _, mode, looping in _LEVELS:
        if mode == "different" and not looping:
            t = _batched(t, lv)
    return t


def _generator_state():
    from . import random as _random
    return _random._generator.bit_generator.state


def _set_generator_state(state):
    from . import random as _random
    _random._generator.bit_generator.state = state


@contextlib.contextmanager
def per_sample(lv):
    """A per-sample loop at level ``lv`` (a whole-function or per-op fallback, or the chunks of a chunked vmap):
    yields ``replay``, to call before each sample. Under ``randomness='same'`` it restores the generator's
    state, so every sample draws the same values; random constructors inside draw per-sample shapes."""
    entry = next((e for e in _LEVELS if e[0] == lv), None)
    mode = entry[2] if entry is not None else None
    state = _generator_state() if mode == "same" else None
    if entry is not None:
        prev, entry[3] = entry[3], True
    try:
        yield (lambda: _set_generator_state(state)) if state is not None else (lambda: None)
    finally:
        if entry is not None:
            entry[3] = prev


def replayer(randomness):
    """For loops outside any registered level (the chunks of a chunked vmap, the whole-function fallback that
    runs after the level is closed): a ``replay`` restoring the generator before each part under 'same'."""
    if randomness != "same":
        return lambda: None
    state = _generator_state()
    return lambda: _set_generator_state(state)
