"""Adversarial review of forward-mode AD and transform composition against torch.func / torch.autograd.forward_ad
(float64 unless said): edge cases the op table's standard inputs do not reach."""
import warnings

import numpy as np
import torch
import torch.func as tf

import npgrad as npg
from npgrad import func
from tests.helpers import assert_close

T = torch.tensor
rng = np.random.default_rng(11)


# ------------------------------------------------------------------ integer / bool outputs of jvp and jacfwd
def test_jvp_integer_output_has_zero_tangent_as_torch():
    """torch.func.jvp gives an integer or bool output a zero tangent of its dtype; it used to be a TypeError."""
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    (y, i, b), (ty, ti, tb) = func.jvp(lambda a: (npg.sin(a), npg.argmax(a), a > 0), (x,), (v,))
    (ry, ri, rb), (rty, rti, rtb) = tf.jvp(lambda a: (torch.sin(a), torch.argmax(a), a > 0), (T(x),), (T(v),))
    assert_close(ty, rty.numpy())
    for got, ref, tan, rtan in [(i, ri, ti, rti), (b, rb, tb, rtb)]:
        assert np.array_equal(got, ref.numpy())
        assert tan.dtype == rtan.numpy().dtype and tan.shape == tuple(rtan.shape)
        assert np.array_equal(tan, rtan.numpy())


def test_jacfwd_integer_output_has_zero_jacobian_as_torch():
    x = rng.standard_normal(3)
    got = func.jacfwd(lambda a: (a * 2, npg.argmax(a), npg.round(a).astype(np.int64), a > 0))(x)
    ref = tf.jacfwd(lambda a: (a * 2, torch.argmax(a), a.round().long(), a > 0))(T(x))
    for g, r in zip(got, ref):
        assert g.dtype == r.numpy().dtype and g.shape == tuple(r.shape)
        assert np.array_equal(g, r.numpy())
