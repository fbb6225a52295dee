"""npgrad's random source: one seedable ``numpy.random.Generator`` (``npg.random.seed(n)``)."""
import numpy as np

from . import _vmap_state



def _fresh_seed():
    """A 64-bit seed from the OS's entropy."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


_initial_seed = _fresh_seed()   # (recorded, so that torch's initial_seed() can answer)
_generator = np.random.default_rng(_initial_seed)


def seed(seed=None):
    """Reseed the generator used by ``randn``, ``rand``, ``nn.init`` and dropout (``None``: a fresh seed from
    the OS, as ``np.random.seed()``)."""
    global _generator, _initial_seed
    if seed is None:
        seed = _fresh_seed()
    _generator = np.random.default_rng(seed)
    _initial_seed = seed


def initial_seed():
    """The seed the generator was last seeded with (``seed(n)``, or the fresh one drawn by ``seed()`` / at
    import), as ``torch.initial_seed()``."""
    return _initial_seed


manual_seed = seed


def check_generator(generator, where):
    """``generator`` (None, or a ``numpy.random.Generator``: npgrad's counterpart of a ``torch.Generator``),
    else a TypeError naming ``where``; an int, a torch.Generator or a RandomState is not silently misused (an int
    0 was falsy: ``generator or ...`` drew from npgrad's own generator)."""
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"{where}: generator must be a numpy.random.Generator (e.g. np.random.default_rng(seed)) "
                        f"or None, got {type(generator).__name__} {generator!r:.80}")
    return generator


def generator_for(generator, where):
    """The ``numpy.random.Generator`` a random op called with ``generator=`` draws from: that one (checked),
    else npgrad's (``get_generator``)."""
    return get_generator() if check_generator(generator, where) is None else generator


def get_generator():
    """The current ``numpy.random.Generator``."""
    if _vmap_state._LEVELS:
        _vmap_state.check("a random op (npgrad.random.get_generator)")
    return _generator


def vmap_draw(draw, shape, where):
    """``draw(shape)`` for a random constructor, under ``vmap``'s ``randomness``: with 'different' the draw has
    one more leading axis per such vmap level (every sample its own values) and comes back batched; with 'same'
    it is one draw of ``shape``; with 'error' it raises. Outside vmap: ``draw(shape)``. ``draw`` returns a
    Tensor."""
    if not _vmap_state._LEVELS:
        return draw(tuple(shape))
    _vmap_state.check(where)
    return _vmap_state.wrap(draw(_vmap_state.batch_shape() + tuple(shape)))


_CONSTRUCTORS = {"randn": "npg.randn", "rand": "npg.rand", "randint": "npg.randint", "random": "npg.rand",
                 "random_sample": "npg.rand", "standard_normal": "npg.randn"}


def __getattr__(name):
    """NumPy's sampling functions are not here: ``npg.random`` only seeds npgrad's constructors."""
    if name.startswith("__"):
        raise AttributeError(name)
    hint = (f"use {_CONSTRUCTORS[name]} (seeded by npg.random.seed)" if name in _CONSTRUCTORS else
            "sample with numpy.random (or npg.random.get_generator(), a numpy.random.Generator) and wrap the "
            "result with npg.tensor")
    raise AttributeError(f"module 'npgrad.random' has no attribute {name!r}: it only seeds npgrad's constructors; "
                         f"{hint}")
