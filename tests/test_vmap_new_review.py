"""Adversarial review of the vmap batching rules of the conv family (public conv and the internal ops), _contract,
_assign, max_unpool, histc / bucketize / searchsorted and the batched forward-AD fallback: every result against
torch.func on the same program and against a loop of the unbatched npgrad call."""
import warnings

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
from tests.helpers import assert_close

F, TF = npg.nn.functional, torch.nn.functional
RNG = np.random.default_rng(7)
CONVS = {1: (F.conv1d, TF.conv1d), 2: (F.conv2d, TF.conv2d), 3: (F.conv3d, TF.conv3d)}


def _n(*shape):
    return RNG.standard_normal(shape)


def _loop(fn, arrays, in_dims, size):
    return npg.stack([fn(*(npg.tensor(a) if d is None else npg.tensor(np.take(a, i, axis=d))
                           for a, d in zip(arrays, in_dims))) for i in range(size)])


# ------------------------------------------------------------------------ public conv, batched weight
@pytest.mark.parametrize("nd,xs,ws,kw", [
    (1, (3, 4, 10), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (2, (2, 6, 7, 6), (9, 2, 2, 3), dict(padding="same", dilation=(2, 1), groups=3)),
    (2, (4, 6, 6), (8, 4, 3, 3), dict(stride=(2, 1), padding=(1, 0))),       # unbatched (C, *L) samples
])
@pytest.mark.parametrize("in_dims", [(0, 0, None), (None, 1, None), (2, -1, None)])
def test_conv_with_a_batched_weight_keeps_an_unbatched_bias(nd, xs, ws, kw, in_dims):
    """vmap(conv) with a batched weight and an unbatched bias dropped the bias (a silently wrong value)."""
    f, tfn = CONVS[nd]
    B = 3
    dx, dw, _ = in_dims
    x = np.moveaxis(_n(B, *xs), 0, dx) if dx is not None else _n(*xs)
    w = np.moveaxis(_n(B, *ws), 0, dw)
    b = _n(ws[0])
    out = npg.func.vmap(lambda x, w, b: f(x, w, b, **kw), in_dims=in_dims)(npg.tensor(x), npg.tensor(w), npg.tensor(b))
    ref = tf.vmap(lambda x, w, b: tfn(x, w, b, **kw), in_dims=in_dims)(torch.tensor(x), torch.tensor(w),
                                                                        torch.tensor(b))
    assert_close(out, ref.numpy(), np.float64)
    assert_close(out, _loop(lambda x, w, b: f(x, w, b, **kw), [x, w, b], in_dims, B), np.float64)


@pytest.mark.parametrize("transposed", [False, True])
def test_nested_vmap_conv_with_input_and_weight_batched_at_different_levels(transposed):
    """x batched by the outer vmap only, the weight by the inner one: the inner rule repeats x along its batch
    (func_vmap._expand), which imported a ``zeros`` that npgrad.ops does not have (ImportError)."""
    f, tfn = (F.conv_transpose1d, TF.conv_transpose1d) if transposed else (F.conv1d, TF.conv1d)
    kw = dict(stride=2, padding=1, groups=2)
    x, w, b = _n(2, 1, 4, 7), _n(3, 4, 2, 3), _n(4)

    def g(lib, conv):
        return lambda x, w, b: lib.tanh(conv(x, w, b, **kw))
    out = npg.func.vmap(npg.func.vmap(g(npg, f), in_dims=(None, 0, None)), in_dims=(0, None, None))(
        npg.tensor(x), npg.tensor(w), npg.tensor(b))
    ref = tf.vmap(tf.vmap(g(torch, tfn), in_dims=(None, 0, None)), in_dims=(0, None, None))(
        torch.tensor(x), torch.tensor(w), torch.tensor(b))
    assert_close(out, ref.numpy(), np.float64)
    loop = npg.stack([npg.stack([g(npg, f)(npg.tensor(x[i]), npg.tensor(w[j]), npg.tensor(b)) for j in range(3)])
                      for i in range(2)])
    assert_close(out, loop, np.float64)


def test_nested_vmap_scatter_with_input_and_src_batched_at_different_levels():
    """The same repeat through _assign's rule: x batched by the outer vmap, src by the inner one."""
    x, s = _n(2, 3, 4), _n(3, 2, 4)
    ind = np.array([[0, 1, 2, 0], [1, 2, 0, 1]])
    out = npg.func.vmap(npg.func.vmap(lambda a, v: npg.scatter(a, 0, npg.tensor(ind), v), in_dims=(None, 0)),
                        in_dims=(0, None))(npg.tensor(x), npg.tensor(s))
    ref = tf.vmap(tf.vmap(lambda a, v: torch.scatter(a, 0, torch.tensor(ind), v), in_dims=(None, 0)),
                  in_dims=(0, None))(torch.tensor(x), torch.tensor(s))
    assert_close(out, ref.numpy(), np.float64)
    loop = npg.stack([npg.stack([npg.scatter(npg.tensor(x[i]), 0, npg.tensor(ind), npg.tensor(s[j])) for j in range(3)])
                      for i in range(2)])
    assert_close(out, loop, np.float64)
