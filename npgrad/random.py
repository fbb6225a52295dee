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


def uniform01(rng, shape, dtype):
    """Uniform draws in ``[0, 1)`` of a real floating ``dtype``: for float16 / float32 on the grid of multiples of
    ``2**-(mantissa bits + 1)`` (as torch's), so no draw rounds up to 1.0 when cast (a float64 draw rounded to
    float16 gave 1.0 about once in 4000 draws); float64: ``rng.random``'s 53-bit grid."""
    dt = np.dtype(dtype)
    u = rng.random(shape)
    if dt.itemsize >= 8:
        return u.astype(dt, copy=False)
    scale = 2.0 ** (np.finfo(dt).nmant + 1)
    return (np.floor(u * scale) / scale).astype(dt)


def uniform_between(rng, low, high, shape, dtype):
    """``low + (high - low) * U`` in ``dtype``, kept in ``[low, high)`` (a draw that rounds up to ``high`` is moved
    one ulp down) when ``low < high``; for a complex ``dtype`` the real and imaginary parts each so, as torch's
    ``uniform_``."""
    dt = np.dtype(dtype)
    if dt.kind == "c":
        part = np.finfo(dt).dtype
        return (uniform_between(rng, low, high, shape, part)
                + 1j * uniform_between(rng, low, high, shape, part)).astype(dt)
    u = uniform01(rng, shape, dt).astype(np.float64)
    out = np.asarray(low + (high - low) * u).astype(dt)
    if low < high:
        up = out >= high
        if up.any():
            out[up] = np.nextafter(out[up], dt.type(-np.inf))
    return out


def normal_draws(rng, mean, std, shape, dtype):
    """Draws of N(mean, std**2) in ``dtype``; for a complex ``dtype`` the real and imaginary parts each N(mean,
    std**2 / 2), as torch's ``normal_`` / ``normal(..., dtype=complex)`` (so ``E|z - mean(1+1j)|^2 = std**2``)."""
    dt = np.dtype(dtype)
    if dt.kind == "c":   # (npg.randn's complex draws: mean 0, std 1)
        z = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * (np.asarray(std) * np.sqrt(0.5))
        return (z + mean * (1 + 1j)).astype(dt)
    return rng.normal(mean, std, shape).astype(dt, copy=False)


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
