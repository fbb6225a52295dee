"""npgrad's random source: one seedable ``numpy.random.Generator`` (``npg.random.seed(n)``)."""
import sys

import numpy as np

_generator = np.random.default_rng()


def seed(n):
    """Reseed the generator used by ``randn``, ``rand``, ``nn.init`` and dropout."""
    global _generator
    _generator = np.random.default_rng(n)


manual_seed = seed


def get_generator():
    """The current ``numpy.random.Generator``."""
    if sys.modules["npgrad.tensor"]._VMAP:
        from .func_vmap import check_random
        check_random("a random op (npgrad.random.get_generator)")
    return _generator
