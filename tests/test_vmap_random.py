"""vmap's ``randomness`` ('error', 'same', 'different'), as torch.func.vmap: random constructors, random ops that
run per sample (the per-op and whole-function loops), chunked and nested vmap. The oracle of a draw is the
seeded NumPy generator npgrad draws from."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad import func_vmap as fv
from npgrad._batching import batching_rule

vmap = npg.func.vmap
F = npg.nn.functional
Fallback = fv._vmap_rules.VmapFallbackWarning


@pytest.mark.parametrize("draw", [lambda: npg.randn(3), lambda: npg.rand(3), lambda: npg.randint(0, 5, 3),
                                  lambda: npg.randn(3, generator=np.random.default_rng(0))])
def test_error_mode_raises(draw):
    x = npg.tensor(np.ones((4, 3)))
    with pytest.raises(RuntimeError, match="randomness='error'"):
        vmap(lambda a: a + draw())(x)
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(lambda a: a + draw(), randomness="error")(x)


def test_error_mode_raises_for_random_ops_on_batched_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Fallback)
        with pytest.raises(RuntimeError, match="randomness"):
            vmap(lambda a: F.dropout(a, 0.5))(npg.tensor(np.ones((4, 3))))


def test_bad_randomness_value():
    with pytest.raises(ValueError, match="randomness"):
        vmap(lambda a: a, randomness="sometimes")


@pytest.mark.parametrize("name,draw", [("randn", lambda g, s: g.standard_normal(s)),
                                       ("rand", lambda g, s: g.random(s)),
                                       ("randint", lambda g, s: g.integers(0, 7, size=s))])
def test_different_and_same_draws_match_the_generator(name, draw):
    """'different': sample i gets row i of one (B, 3, 2) draw; 'same': every sample the one (3, 2) draw."""
    make = {"randn": lambda: npg.randn(3, 2), "rand": lambda: npg.rand(3, 2),
            "randint": lambda: npg.randint(0, 7, (3, 2))}[name]
    x = npg.tensor(np.zeros((5, 3, 2)))
    npg.random.seed(11)
    out = vmap(lambda a: a + make(), randomness="different")(x)
    ref = draw(np.random.default_rng(11), (5, 3, 2))
    np.testing.assert_array_equal(out.data, ref)
    assert len({row.tobytes() for row in out.data}) == 5
    npg.random.seed(11)
    out = vmap(lambda a: a + make(), randomness="same")(x)
    np.testing.assert_array_equal(out.data, np.broadcast_to(draw(np.random.default_rng(11), (3, 2)), (5, 3, 2)))


def test_unbatched_random_output_under_different_is_batched():
    npg.random.seed(3)
    out = vmap(lambda a: npg.randn(2), randomness="different")(npg.tensor(np.zeros((4, 1))))
    np.testing.assert_array_equal(out.data, np.random.default_rng(3).standard_normal((4, 2)))
    out = vmap(lambda a: npg.randn(2), randomness="same")(npg.tensor(np.zeros((4, 1))))
    assert out.shape == (4, 2) and (out.data == out.data[0]).all()


@pytest.mark.parametrize("outer,inner,distinct", [("same", "same", 1), ("same", "different", 3),
                                                  ("different", "same", 2), ("different", "different", 6)])
def test_nested_levels(outer, inner, distinct):
    """Draws differ exactly along the levels with randomness='different'."""
    x = npg.tensor(np.zeros((2, 3, 4)))
    out = vmap(vmap(lambda a: a + npg.rand(4), randomness=inner), randomness=outer)(x)
    assert out.shape == (2, 3, 4)
    assert len({out.data[i, j].tobytes() for i in range(2) for j in range(3)}) == distinct
    if outer == "same":
        np.testing.assert_array_equal(out.data[0], out.data[1])
    if inner == "same":
        np.testing.assert_array_equal(out.data[:, 0], out.data[:, 2])


def test_nested_error_level_raises_even_if_inner_allows():
    x = npg.tensor(np.zeros((2, 3, 4)))
    with pytest.raises(RuntimeError, match="randomness"):
        vmap(vmap(lambda a: a + npg.rand(4), randomness="same"))(x)


def _dropout_masks(out):
    return out.data != 0


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_dropout_same_and_different(chunk_size):
    """dropout under vmap (its mask drawn under the randomness): 'same' gives every sample one mask, 'different' its
    own; the kept values are scaled by 1 / (1 - p) and the gradient is the mask."""
    x = npg.tensor(np.ones((6, 40)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Fallback)
        same = vmap(lambda a: F.dropout(a, 0.5), randomness="same", chunk_size=chunk_size)(x)
        diff = vmap(lambda a: F.dropout(a, 0.5), randomness="different", chunk_size=chunk_size)(x)
    assert set(np.unique(same.data)) <= {0.0, 2.0} and set(np.unique(diff.data)) <= {0.0, 2.0}
    m = _dropout_masks(same)
    assert all((m[i] == m[0]).all() for i in range(6))
    md = _dropout_masks(diff)
    assert len({row.tobytes() for row in md}) == 6
    (same * np.arange(40.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, same.data * np.arange(40.0))


@pytest.mark.parametrize("randomness", ["same", "different"])
def test_per_op_loop_replays_or_redraws(randomness):
    """An op without a batching rule that draws: the per-op loop replays the generator for 'same' and lets
    each sample draw for 'different' (its random constructor draws per-sample shapes inside the loop)."""
    @batching_rule("loop")
    def noisy(x):
        return x + npg.randn(*x.shape)

    x = npg.tensor(np.zeros((5, 3)))
    fv._warned.clear()
    npg.random.seed(2)
    with pytest.warns(Fallback, match="no batching rule for noisy"):
        out = vmap(lambda a: noisy(a) * 2, randomness=randomness)(x)
    assert out.shape == (5, 3)
    g = np.random.default_rng(2)
    if randomness == "same":
        np.testing.assert_array_equal(out.data, np.broadcast_to(2 * g.standard_normal(3), (5, 3)))
    else:
        np.testing.assert_array_equal(out.data, 2 * np.stack([g.standard_normal(3) for _ in range(5)]))


def test_randomness_gradients_flow():
    x = npg.tensor(np.ones((4, 3)), requires_grad=True)
    out = vmap(lambda a: (a * npg.randn(3)).sum(), randomness="different")(x)
    out.sum().backward()
    assert x.grad.shape == (4, 3) and len({row.tobytes() for row in x.grad}) == 4
    np.testing.assert_allclose(out.data, x.grad.sum(axis=1))
