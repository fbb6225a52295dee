"""Transform coverage of public functions outside the op table: for each function, (a) ``npg.func.jvp`` runs on
the op's own JVP rule (no fallback to the transposed VJP) and matches ``torch.func.jvp`` (or central finite
differences where torch has no such function); (b) ``npg.func.vmap`` over a batch of 3 runs without a per-sample
loop fallback and matches a Python loop; (c) ``vmap(grad(sum of f))`` matches a loop of ``grad``."""
import warnings

import numpy as np
import pytest
import torch
import torch.func as tf

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad import func_vmap as fv
from tests.helpers import assert_close

F, TF, TLA = npg.nn.functional, torch.nn.functional, torch.linalg
Fallback = fv._vmap_rules.VmapFallbackWarning
RNG = np.random.default_rng(31)


def _n(*shape):
    return RNG.standard_normal(shape)


def _pos(*shape):
    return RNG.uniform(0.5, 1.5, shape)


# name: (npgrad function, torch function or None (finite differences), per-sample float64 inputs)
CASES = {
    "rms_norm": (lambda x: F.rms_norm(x, (3, 4)), lambda x: TF.rms_norm(x, (3, 4)), [_n(2, 3, 4)]),
    "rms_norm_weight": (lambda x, w: F.rms_norm(x, 4, w, eps=1e-3), lambda x, w: TF.rms_norm(x, [4], w, eps=1e-3),
                        [_n(2, 3, 4), _n(4)]),
    # a differentiable probability target ran per sample
    "cross_entropy_soft": (F.cross_entropy, TF.cross_entropy, [_n(3, 4), RNG.dirichlet(np.ones(4), 3)]),
    "cross_entropy_soft_1d": (lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1, reduction="sum"),
                              lambda x, y: TF.cross_entropy(x, y, label_smoothing=0.1, reduction="sum"),
                              [_n(4), RNG.dirichlet(np.ones(4))]),
    "cross_entropy_soft_none": (lambda x, y: F.cross_entropy(x, y, reduction="none"),
                                lambda x, y: TF.cross_entropy(x, y, reduction="none"),
                                [_n(2, 4, 3), RNG.dirichlet(np.ones(4), (2, 3)).transpose(0, 2, 1)]),
    # read its inputs' values for their shapes: a per-sample loop under vmap
    "linalg_cross": (npg.linalg.cross, TLA.cross, [_n(2, 3), _n(2, 3)]),
    "linalg_cross_axis0": (lambda a, b: npg.linalg.cross(a, b, axis=0), lambda a, b: TLA.cross(a, b, dim=0),
                           [_n(3, 2), _n(3, 1)]),
    # read the batched tensor's values (its memory layout): the whole function ran as a loop
    "contiguous": (lambda a: (a.T.contiguous() * a.T).contiguous(), lambda a: (a.T.contiguous() * a.T).contiguous(),
                   [_n(3, 4)]),
    # cond was a constant (a silently zero gradient); torch.linalg.cond's backward for p='fro' fails in 2.13
    # (an in-place write), so its composition is the oracle there
    "cond": (npg.linalg.cond, torch.linalg.cond, [_n(4, 4)]),
    "cond_-2": (lambda a: npg.linalg.cond(a, -2), lambda a: torch.linalg.cond(a, -2), [_n(2, 3, 3)]),
    "cond_fro": (lambda a: npg.linalg.cond(a, "fro"),
                 lambda a: TLA.matrix_norm(a) * TLA.matrix_norm(TLA.inv(a)), [_n(3, 3)]),
    "cond_1": (lambda a: npg.linalg.cond(a, 1), lambda a: TLA.matrix_norm(a, 1) * TLA.matrix_norm(TLA.inv(a), 1),
               [_n(3, 3)]),
}


def _outs(o):
    return list(o) if isinstance(o, (tuple, list)) else [o]


def _fd_jvp(fn, arrays, tangents, h=1e-6):
    with npg.no_grad():
        plus = _outs(fn(*[npg.tensor(a + h * t) for a, t in zip(arrays, tangents)]))
        minus = _outs(fn(*[npg.tensor(a - h * t) for a, t in zip(arrays, tangents)]))
    return [(p.data - m.data) / (2 * h) for p, m in zip(plus, minus)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_jvp_has_a_rule_and_matches(name):
    fn, tfn, arrays = CASES[name]
    tangents = [RNG.standard_normal(a.shape) for a in arrays]
    fwAD.FALLBACK_OPS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out, jv = npg.func.jvp(fn, tuple(arrays), tuple(tangents))
    assert not fwAD.FALLBACK_OPS, f"{name}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    if tfn is not None:
        tout, tjv = tf.jvp(tfn, tuple(torch.tensor(a) for a in arrays), tuple(torch.tensor(t) for t in tangents))
        for o, to in zip(_outs(out) + _outs(jv), _outs(tout) + _outs(tjv)):
            assert_close(o, to.detach().numpy(), np.float64, what=name)
    else:
        for j, e in zip(_outs(jv), _fd_jvp(fn, arrays, tangents)):
            np.testing.assert_allclose(np.asarray(j.data), e, rtol=1e-5, atol=1e-6, err_msg=name)


def _batch(arrays):
    return [np.stack([a * (1 + 0.1 * RNG.standard_normal(a.shape)) for _ in range(3)]) for a in arrays]


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_has_a_rule_and_matches_a_loop(name):
    fn, _, arrays = CASES[name]
    batch = _batch(arrays)
    fv._warned.clear()
    ts, refs = [npg.tensor(b, requires_grad=True) for b in batch], [npg.tensor(b, requires_grad=True) for b in batch]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = npg.func.vmap(fn)(*ts)
    per = [_outs(fn(*[r[i] for r in refs])) for i in range(3)]
    loss, ref_loss = 0, 0
    for k, o in enumerate(_outs(out)):
        expect = npg.stack([p[k] for p in per])
        assert o.shape == expect.shape, (name, o.shape, expect.shape)
        np.testing.assert_allclose(o.data, expect.data, rtol=1e-12, atol=1e-12, err_msg=name)
        w = npg.tensor(RNG.standard_normal(o.shape))
        loss, ref_loss = loss + npg.abs(o * w).sum(), ref_loss + npg.abs(expect * w).sum()
    loss.backward()
    ref_loss.backward()
    for t, r in zip(ts, refs):      # gradients through vmap's backward
        np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-12, err_msg=name)


def _scalar(fn):
    def f(*xs):
        total = 0
        for o in _outs(fn(*xs)):
            o = npg.real(o) + npg.imag(o) if o.dtype.kind == "c" else o
            total = total + (o * npg.cos(npg.arange(o.size, dtype=np.float64).reshape(o.shape))).sum()
        return total
    return f


@pytest.mark.parametrize("name", sorted(CASES))
def test_vmap_of_grad_matches_a_loop(name):
    fn, _, arrays = CASES[name]
    batch = _batch(arrays)
    argnums = tuple(range(len(arrays)))
    g = npg.func.grad(_scalar(fn), argnums=argnums)
    fv._warned.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        got = npg.func.vmap(g)(*[npg.tensor(b) for b in batch])
    for i in range(3):
        ref = g(*[npg.tensor(b[i]) for b in batch])
        for a, r in zip(got, ref):
            np.testing.assert_allclose(a.data[i], r.data, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", np.inf, -np.inf, 1, -1])
def test_cond_value_and_gradient(p, dtype):
    a = _n(2, 4, 4).astype(dtype)
    x = npg.tensor(a, requires_grad=True)
    y = npg.linalg.cond(x, p)
    assert y.dtype == np.linalg.cond(a, p).dtype
    assert_close(y, np.linalg.cond(a, p), dtype)
    (y * npg.tensor(np.array([1.0, -2.0], dtype))).sum().backward()
    t = torch.tensor(a, requires_grad=True)
    ty = TLA.cond(t, p) if p in (None, 2, -2) else TLA.matrix_norm(t, p) * TLA.matrix_norm(TLA.inv(t), p)
    (ty * torch.tensor([1.0, -2.0], dtype=t.dtype)).sum().backward()
    assert_close(x.grad, t.grad.numpy(), dtype, what=f"cond p={p}")


def test_cond_of_a_singular_matrix_is_numpys_value():
    for a in (np.ones((2, 2)), np.zeros((2, 2))):
        for p in (None, -2, "fro", 1):
            assert_close(npg.linalg.cond(npg.tensor(a, requires_grad=True), p), np.linalg.cond(a, p), np.float64)


@pytest.mark.parametrize("training", [False, True])
@pytest.mark.parametrize("which", ["running_mean", "running_var"])
def test_batch_norm_running_stats_are_not_differentiable(training, which):
    """They are buffers read as constants: a gradient (or tangent) through them would be silently zero, so they
    cannot require grad, as in torch (which raises)."""
    x, m, v = _n(4, 3), _n(3), _pos(3)
    tm, tv = torch.tensor(m, requires_grad=which == "running_mean"), torch.tensor(v, requires_grad=which == "running_var")
    with pytest.raises(RuntimeError, match=which):
        TF.batch_norm(torch.tensor(x), tm, tv, training=training).sum().backward()
    nm = npg.tensor(m, requires_grad=which == "running_mean")
    nv = npg.tensor(v, requires_grad=which == "running_var")
    with pytest.raises(RuntimeError, match=f"batch_norm: {which} is not differentiable"):
        F.batch_norm(npg.tensor(x, requires_grad=True), nm, nv, training=training)
    if not training:
        with pytest.raises(RuntimeError, match="batch_norm: running_mean is not differentiable"):
            npg.func.jvp(lambda a, b, c: F.batch_norm(a, b, c), (x, m, v), (x, m, v))


def _vmap_vs_loop(fn, arrays, in_dims):
    fv._warned.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = npg.func.vmap(fn, in_dims=in_dims)(*[npg.tensor(a, requires_grad=False) for a in arrays])
    size = next(np.shape(a)[0] for a, d in zip(arrays, in_dims) if d is not None)
    per = [fn(*[npg.tensor(a if d is None else a[i], requires_grad=False) for a, d in zip(arrays, in_dims)])
           for i in range(size)]
    expect = np.stack([p.data for p in per])
    assert out.shape == expect.shape and out.dtype == expect.dtype, (out.shape, expect.shape, out.dtype, expect.dtype)
    np.testing.assert_array_equal(out.data, expect)
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bins,lo,hi", [(4, -1.0, 1.0), (5, 0, 0), (3, 0.5, 0.5), (1, -3, 3)])
def test_histc_batches_without_a_loop(bins, lo, hi, dtype):
    x = (RNG.standard_normal((4, 2, 6)) * 1.5).astype(dtype)
    x[1, 0, 2] = np.nan if lo != hi else x[1, 0, 2]       # NaN: left out (with a given range)
    x[2] = 0.25                                          # one sample a single point: its range widened by 1
    out = _vmap_vs_loop(lambda a: npg.histc(a, bins=bins, min=lo, max=hi), [x], (0,))
    for i in range(4):
        np.testing.assert_array_equal(out.data[i], torch.histc(torch.tensor(x[i]), bins, lo, hi).numpy())


def test_histc_under_vmap_keeps_its_errors():
    x = RNG.standard_normal((3, 5))
    x[1, 2] = np.inf
    with pytest.raises(ValueError, match="not finite"):
        npg.func.vmap(lambda a: npg.histc(a, bins=3))(npg.tensor(x))
    with pytest.raises(ValueError, match="max must be larger than min"):
        npg.func.vmap(lambda a: npg.histc(a, bins=3, min=1, max=0))(npg.tensor(x))
    assert npg.func.vmap(lambda a: npg.histc(a, bins=3))(npg.tensor(np.zeros((0, 5)))).shape == (0, 3)


@pytest.mark.parametrize("right", [False, True])
@pytest.mark.parametrize("out_int32", [False, True])
def test_bucketize_batches_without_a_loop(right, out_int32):
    b = np.array([-1.0, 0.0, 0.0, 1.0])
    x = np.round(RNG.standard_normal((3, 2, 5)), 0)      # ties with the boundaries
    x[0, 1, 3] = np.nan
    bb = np.sort(np.round(RNG.standard_normal((3, 4)), 0), axis=-1)
    f = lambda a, c: npg.bucketize(a, c, right=right, out_int32=out_int32)
    for arrays, dims in (([x, b], (0, None)), ([x, bb], (0, 0)), ([x[0], bb], (None, 0)),
                         ([x[:, 0, 0], bb], (0, 0))):
        out = _vmap_vs_loop(f, arrays, dims)
        for i in range(3):
            xa, ba = [a if d is None else a[i] for a, d in zip(arrays, dims)]
            np.testing.assert_array_equal(out.data[i], torch.bucketize(torch.tensor(xa), torch.tensor(ba),
                                                                       right=right, out_int32=out_int32).numpy())
    with pytest.raises(ValueError, match="1 dimension"):
        npg.func.vmap(f)(npg.tensor(x), npg.tensor(np.zeros((3, 2, 2))))


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_with_batched_sorted_rows_puts_nan_last(side):
    """NaN sorts after every number (np.searchsorted): a NaN value goes past the end (and past a row's own NaNs
    with side='right'); the batched rule counted it as below nothing (index 0)."""
    rows = np.sort(RNG.standard_normal((3, 5)), axis=-1)
    rows[1, -1] = np.nan
    rows[2, -2:] = np.nan
    v = np.array([0.1, np.nan, -np.inf, np.inf])
    _vmap_vs_loop(lambda a, q: npg.searchsorted(a, q, side=side), [rows, v], (0, None))
    _vmap_vs_loop(lambda a, q: npg.searchsorted(a, q, side=side), [rows, np.stack([v, v[::-1], v])], (0, 0))
    _vmap_vs_loop(lambda q, a: npg.bucketize(q, a, right=side == "right"), [v, rows], (None, 0))


def test_jacobian_loop_fallback_warns_naming_the_op(monkeypatch):
    """jacrev / jacfwd try one batched pass and fall back to a loop over the basis vectors when an op has no
    batching rule: that fallback warned nothing (jacrev(jacfwd(f)) of a conv2d looped silently); it now warns,
    and the Hessian still matches torch's. (The conv ops now have rules, tests/test_vmap_internal_ops.py: the
    rule is taken away here.)"""
    monkeypatch.delitem(fv.RULES, "conv_op")
    x, w = _n(1, 2, 5, 5), _n(3, 2, 3, 3)

    def f(w):
        return (F.conv2d(npg.tensor(x, requires_grad=False), w) ** 2).sum()
    fv._warned.clear()
    with pytest.warns(Fallback, match="conv.*Jacobian"):
        h = npg.func.jacrev(npg.func.jacfwd(f))(w)
    th = tf.hessian(lambda v: (TF.conv2d(torch.tensor(x), v) ** 2).sum())(torch.tensor(w))
    assert_close(h, th.numpy(), np.float64)


def test_forward_mode_through_bincount_weights_and_full_like_fill():
    """bincount's weights and np.full_like's fill value are differentiable, but only when they required grad: a
    forward-mode tangent alone was dropped (a silently zero JVP)."""
    idx, w, t = np.array([0, 1, 1, 3]), _pos(4), _n(4)
    _, jv = npg.func.jvp(lambda v: npg.bincount(idx, weights=v), (w,), (t,))
    assert_close(jv, np.bincount(idx, weights=t), np.float64)     # linear in the weights (torch: no forward AD)
    _, jv = npg.func.jvp(lambda v: np.full_like(npg.zeros((2, 3)), v), (np.array(1.5),), (np.array(-2.0),))
    assert_close(jv, np.full((2, 3), -2.0), np.float64)
    with pytest.raises(TypeError, match="histogram: not differentiable in weights"):
        npg.func.jvp(lambda v: npg.histogram(np.arange(4.0), weights=v)[0], (w,), (t,))


def test_contiguous_under_nested_vmap():
    x = _n(2, 3, 4, 5)
    fv._warned.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = npg.func.vmap(npg.func.vmap(lambda a: a.T.contiguous()))(npg.tensor(x))
    np.testing.assert_array_equal(out.data, np.swapaxes(x, -1, -2))
