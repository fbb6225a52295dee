"""npgrad's random source: one seedable ``numpy.random.Generator`` (``npg.random.seed(n)``)."""
import numpy as np

_generator = np.random.default_rng()


def seed(n):
    """Reseed the generator used by ``randn``, ``rand``, ``nn.init`` and dropout."""
    global _generator
    _generator = np.random.default_rng(n)


manual_seed = seed


def get_generator():
    """The current ``numpy.random.Generator``."""
    return _generator
