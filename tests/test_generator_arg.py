"""Every random op's ``generator=`` is a ``numpy.random.Generator`` (npgrad's counterpart of a torch.Generator)
or None. An int 0 was falsy, so ``generator or npg.random's`` silently drew from npgrad's own generator (seeds not
honoured); a torch.Generator or an int failed later with a bare AttributeError. The data helpers check it too
(tests/test_hunt_data.py)."""
import numpy as np
import pytest
import torch

import npgrad as npg

F = npg.nn.functional


def _x():
    return npg.tensor(np.zeros((3, 4)), requires_grad=False)


OPS = {
    "randn": lambda g: npg.randn(2, 3, generator=g),
    "rand": lambda g: npg.rand(2, 3, generator=g),
    "randint": lambda g: npg.randint(0, 10, (5,), generator=g),
    "randperm": lambda g: npg.randperm(6, generator=g),
    "multinomial": lambda g: npg.multinomial(npg.tensor(np.array([0.2, 0.3, 0.5])), 2, generator=g),
    "normal": lambda g: npg.normal(0.0, 1.0, size=(4,), generator=g),
    "poisson": lambda g: npg.poisson(npg.tensor(np.array([1.0, 3.0])), generator=g),
    "uniform_": lambda g: _x().uniform_(generator=g),
    "normal_": lambda g: _x().normal_(generator=g),
    "random_": lambda g: npg.tensor(np.zeros(4, np.int64)).random_(0, 9, generator=g),
    "exponential_": lambda g: _x().exponential_(generator=g),
    "bernoulli_": lambda g: _x().bernoulli_(0.5, generator=g),
    "cauchy_": lambda g: _x().cauchy_(generator=g),
    "log_normal_": lambda g: _x().log_normal_(generator=g),
    "geometric_": lambda g: _x().geometric_(0.3, generator=g),
    "dropout": lambda g: F.dropout(npg.tensor(np.ones((3, 4))), 0.5, True, generator=g),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_generator_that_is_not_a_numpy_generator_is_refused_by_name(name):
    for bad in (0, 123, torch.Generator(), np.random.RandomState(0)):
        with pytest.raises(TypeError, match="generator must be a numpy.random.Generator"):
            OPS[name](bad)


@pytest.mark.parametrize("name", sorted(OPS))
def test_a_seeded_generator_gives_the_same_draws_and_npgs_own_is_untouched(name):
    npg.random.seed(7)
    state = npg.random.get_generator().bit_generator.state
    a = OPS[name](np.random.default_rng(5))
    b = OPS[name](np.random.default_rng(5))
    np.testing.assert_array_equal(np.asarray(a.data), np.asarray(b.data))
    assert npg.random.get_generator().bit_generator.state == state  # (the draws came from the one passed)
