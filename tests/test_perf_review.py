"""A review of this session's per-op speedups against PyTorch and NumPy: the one-op stack, views kept as a list
of weak references, the ufunc reductions, unreduce's materialized gradient, backward's seed and entry, and
x[idx]'s gradient for a few distinct rows. Values, gradients, dtypes, shapes, errors and aliasing."""
import subprocess
import sys
import threading
import warnings
import weakref

import numpy as np
import pytest

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad.ops import inplace as _inplace
from tests.helpers import assert_close, torch_or_stand_in

torch = torch_or_stand_in()

FLOATS = [np.float32, np.float64]


def _t(a, grad=True):
    return torch.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind in "fc")


def _arr(v):
    """A copy of a torch tensor's, an npgrad Tensor's or an array's values."""
    if isinstance(v, torch.Tensor):
        return v.detach().numpy().copy()
    return np.array(v.data if isinstance(v, npg.Tensor) else v)


# ----------------------------------------------------------------------------- stack
@pytest.mark.parametrize("dtype", FLOATS + [np.complex64])
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (0, 2)])
def test_stack_values_and_gradients_match_torch(dtype, shape):
    """Every axis (negative too), the same tensor twice, a NumPy constant among the tensors."""
    rng = np.random.default_rng(0)
    for ax in range(-len(shape) - 1, len(shape) + 1):
        a, b = (rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if dtype == np.complex64 else 0)
                for _ in range(2))
        a, b, c = a.astype(dtype), b.astype(dtype), np.full(shape, 2, dtype)
        x, y = npg.tensor(a, requires_grad=True), npg.tensor(b, requires_grad=True)
        xt, yt = _t(a), _t(b)
        s, st = npg.stack([x, y, x, c], axis=ax), torch.stack([xt, yt, xt, torch.tensor(c)], dim=ax)
        w = rng.standard_normal(s.shape).astype(dtype)
        loss, losst = npg.sum(s * w), (st * torch.tensor(w)).sum()
        if dtype == np.complex64:
            loss, losst = npg.real(loss), losst.real
        loss.backward()
        losst.backward()
        assert s.dtype == dtype and s.shape == tuple(st.shape)
        assert_close(s.data, st.detach().numpy())
        for t, tt in ((x, xt), (y, yt)):
            assert t.grad.dtype == dtype and t.grad.shape == shape
            assert_close(t.grad, tt.grad.numpy(), rtol=1e-5, atol=1e-6)
        assert not np.shares_memory(x.grad, y.grad)


def test_stack_many_inputs_inputs_of_every_kind_and_errors():
    """Many inputs, NumPy's promotion for arrays / lists / scalars mixed with tensors, and named errors."""
    rng = np.random.default_rng(1)
    arrs = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(40)]
    ts = [npg.tensor(a, requires_grad=True) for a in arrs]
    tts = [_t(a) for a in arrs]
    s, st = npg.stack(ts, axis=1), torch.stack(tts, dim=1)
    (npg.sum(s ** 2)).backward()
    (st ** 2).sum().backward()
    assert s.dtype == np.float32
    for t, tt in zip(ts, tts):
        assert_close(t.grad, tt.grad.numpy(), rtol=1e-6, atol=1e-7)
    x = npg.tensor(np.ones(2, np.float32))
    for others in ([np.ones(2)], [[1, 2]], [[1.5, 2.0]], [np.ones(2, np.int8)], [np.ones(2, bool)]):
        expect = np.stack([np.ones(2, np.float32)] + others)
        got = npg.stack([x] + others)
        assert got.dtype == expect.dtype and np.array_equal(got.data, expect)
    assert npg.stack([npg.tensor(np.float32(1)), 2.5]).dtype == np.stack([np.float32(1), 2.5]).dtype
    assert npg.stack((t for t in [x, x])).shape == (2, 2)  # a generator
    assert npg.stack([x, x], axis=np.int64(-1)).shape == (2, 2)
    with pytest.raises(np.exceptions.AxisError, match="stack: axis 2"):
        npg.stack([x, x], axis=2)
    with pytest.raises(np.exceptions.AxisError, match="stack: axis -3"):
        npg.stack([x, x], axis=-3)
    with pytest.raises(TypeError, match="stack: axis must be an int"):
        npg.stack([x, x], axis=1.0)
    with pytest.raises(ValueError, match="stack: need at least one"):
        npg.stack([])
    with pytest.raises(ValueError, match=r"stack: all tensors must have the same shape, got \[\(2,\), \(3,\)\]"):
        npg.stack([x, np.ones(3)])


def test_stack_second_order_forward_mode_and_vmap_match_torch():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((2, 3))
    x, xt = npg.tensor(a, requires_grad=True), _t(a)
    g, = npg.autograd.grad(npg.sum(npg.stack([x * x, x, npg.sin(x)], axis=1) ** 2), [x], create_graph=True)
    h, = npg.autograd.grad(npg.sum(g * g), [x])
    gt, = torch.autograd.grad((torch.stack([xt * xt, xt, torch.sin(xt)], 1) ** 2).sum(), [xt], create_graph=True)
    ht, = torch.autograd.grad((gt * gt).sum(), [xt])
    assert_close(h, ht.numpy())
    t1, t2 = np.ones_like(a), rng.standard_normal(a.shape)
    _, tan = npg.func.jvp(lambda u, v: npg.stack([u, v * u, v], -1), (npg.tensor(a), npg.tensor(a + 1)),
                          (npg.tensor(t1), npg.tensor(t2)))
    _, tant = torch.func.jvp(lambda u, v: torch.stack([u, v * u, v], -1), (torch.tensor(a), torch.tensor(a + 1)),
                             (torch.tensor(t1), torch.tensor(t2)))
    assert_close(tan.data, tant.numpy())
    with fwAD.dual_level():  # one dual input beside a plain one: the plain one's tangent is zero
        d = fwAD.make_dual(npg.tensor(a, requires_grad=False), npg.tensor(t2, requires_grad=False))
        tan = fwAD.unpack_dual(npg.stack([d, npg.tensor(a, requires_grad=False)])).tangent
    assert_close(tan.data, np.stack([t2, np.zeros_like(a)]))
    xs = rng.standard_normal((4, 2, 3)).astype(np.float32)
    f = (lambda mx, stk, r: stk([r, r * 2], -1).reshape(2, 6).sum() + mx(r.reshape(6), 0) + r.mean(-1).sum()
         + r.T.sum(0).min())
    got = npg.func.vmap(lambda r: f(npg.max, npg.stack, r))(npg.tensor(xs))
    want = torch.func.vmap(lambda r: f(torch.amax, torch.stack, r))(torch.tensor(xs))
    assert got.dtype == np.float32
    assert_close(got.data, want.numpy(), rtol=1e-5)
    gx = npg.func.grad(lambda v: npg.sum(npg.func.vmap(lambda r: npg.stack([r, r * r]).mean())(v)))(npg.tensor(xs))
    gxt = torch.func.grad(lambda v: torch.func.vmap(lambda r: torch.stack([r, r * r]).mean())(v).sum())(
        torch.tensor(xs))
    assert gx.dtype == np.float32
    assert_close(gx.data, gxt.numpy(), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- views
_VIEW_OPS = [lambda t: t.reshape(6, 4), lambda t: t.T, lambda t: t[1:3], lambda t: t[:, 2],
             lambda t: t.reshape(24)[::5], lambda t: t.swapaxes(0, 1), lambda t: t.diagonal(),
             lambda t: t[1:3].T[::2]]


def test_thousands_of_views_dying_and_living_interleaved_follow_writes_as_torch():
    """Views of one base (and views of views) created by the thousand, some kept and some dropped in an
    interleaved order; writes into the base and through a view then show in every live view, as in torch."""
    a = np.random.default_rng(3).standard_normal((4, 6))
    b, bt = npg.tensor(a.copy(), requires_grad=False), torch.tensor(a.copy())
    live, live_t = [], []
    for i in range(3000):
        v, vt = _VIEW_OPS[i % len(_VIEW_OPS)](b), _VIEW_OPS[i % len(_VIEW_OPS)](bt)
        weakref.ref(v)
        if i % 13 == 0:
            live.append(v)
            live_t.append(vt)
        if i % 101 == 0:
            del live[0], live_t[0]
    assert len(b._extra["views"]) < 2 * 256 + 1  # dead ones are dropped (230 live)
    b.add_(1.0)
    bt.add_(1.0)
    b[0, 0] = 100.0
    bt[0, 0] = 100.0
    live[3].mul_(3.0)
    live_t[3].mul_(3.0)
    for v, vt in zip(live, live_t):
        np.testing.assert_array_equal(v.data, vt.numpy())
    np.testing.assert_array_equal(b.data, bt.numpy())


def test_a_base_keeping_many_live_views_does_not_rescan_them_for_each_new_view(monkeypatch):
    """A base with 2^k - 2 live views: the list reached 2^k with every new short-lived view and was scanned in
    full each time (1022 live views: a reshape 2 -> 33 us; 16382: 437 us). Now it is compacted only when at
    least half of it is dead."""
    calls = [0]

    class CountingRef(weakref.ref):
        __slots__ = ()

        def __call__(self):
            calls[0] += 1
            return super().__call__()

    monkeypatch.setattr(_inplace, "_weakref", CountingRef)
    b = npg.tensor(np.ones((1100, 2)), requires_grad=False)
    keep = [b[i] for i in range(1022)]
    calls[0] = 0
    for _ in range(2000):
        b.T
    assert calls[0] <= 8 * 2000  # amortized O(1) weak reference calls per view (was ~512 per view)
    b.add_(1.0)  # the kept views still follow writes into the base
    assert all(np.array_equal(v.data, b.data[i]) for i, v in enumerate(keep))
    assert len(b._extra["views"]) <= 4096


def test_views_graph_after_a_write_with_live_and_dead_views_matches_torch():
    a = np.random.default_rng(4).standard_normal((4, 6))
    x, xt = npg.tensor(a, requires_grad=True), _t(a)
    y, yt = x * 1, xt * 1
    keep, keep_t = [y[i] for i in range(4)], [yt[i] for i in range(4)]
    for _ in range(100):  # dead views in between
        y.T, y[1:2]
    vv, vvt = keep[2][1:4], keep_t[2][1:4]  # a view of a view
    y.mul_(3.0)
    yt.mul_(3.0)
    keep[1].add_(keep[0])
    keep_t[1].add_(keep_t[0])
    loss = sum(npg.sum(k * (j + 1)) for j, k in enumerate(keep)) + npg.sum(vv ** 2)
    loss_t = sum((k * (j + 1)).sum() for j, k in enumerate(keep_t)) + (vvt ** 2).sum()
    loss.backward()
    loss_t.backward()
    assert_close(x.grad, xt.grad.numpy())
    with npg.no_grad():  # a view made under no_grad still shows the base's later values
        v = y[0]
    with torch.no_grad():
        vt = yt[0]
    y.add_(2.0)
    yt.add_(2.0)
    np.testing.assert_array_equal(v.data, vt.detach().numpy())


def test_threads_creating_views_of_one_base_lose_none():
    b = npg.tensor(np.arange(24.0).reshape(4, 6), requires_grad=False)
    kept = []

    def work():
        mine = []
        for i in range(3000):
            v = b.T if i % 2 else b[1:3]
            if i % 50 == 0:
                mine.append(v)
        kept.append(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    b.add_(5.0)
    refs = {id(r()) for r in b._extra["views"]}
    for v in (v for mine in kept for v in mine):
        assert id(v) in refs
        np.testing.assert_array_equal(v.data, b.data.T if v.shape == (6, 4) else b.data[1:3])


def test_forward_mode_tangents_of_views_after_a_write_match_torch():
    a = np.random.default_rng(5).standard_normal((4, 6))
    with fwAD.dual_level():
        p = fwAD.make_dual(npg.tensor(a, requires_grad=False), npg.tensor(np.ones_like(a), requires_grad=False))
        q = p * 1
        vs = [q[i] for i in range(4)] + [q.T[1:3]]
        for _ in range(50):
            q.T
        q.mul_(p)
        tans = [fwAD.unpack_dual(v).tangent.data.copy() for v in vs]
    with torch.autograd.forward_ad.dual_level():
        pt = torch.autograd.forward_ad.make_dual(torch.tensor(a), torch.ones(4, 6, dtype=torch.float64))
        qt = pt * 1
        vst = [qt[i] for i in range(4)] + [qt.T[1:3]]
        qt.mul_(pt)
        want = [torch.autograd.forward_ad.unpack_dual(v).tangent.numpy() for v in vst]
    for got, w in zip(tans, want):
        assert_close(got, w)


# ----------------------------------------------------------------------------- reductions
_REDUCTIONS = [(npg.sum, np.sum), (npg.mean, np.mean), (npg.max, np.max), (npg.min, np.min)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int64, bool,
                                   np.complex64, np.complex128])
def test_reduction_values_dtypes_and_shapes_match_numpy(dtype):
    """sum of int8 -> int64, mean of ints -> float64, float16's mean accumulated in float32, as NumPy."""
    a = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    t = npg.tensor(a, requires_grad=False)
    for f, nf in _REDUCTIONS:
        for axis in (None, 0, -1, 2, (0, 2), (-1, 0), (), [1]):
            for keepdims in (False, True):
                got, want = f(t, axis=axis, keepdims=keepdims), nf(a, axis=tuple(axis) if isinstance(
                    axis, list) else axis, keepdims=keepdims)
                assert got.dtype == np.asarray(want).dtype and got.shape == np.shape(want), (f, axis)
                np.testing.assert_array_equal(got.data, want)
    big = np.full(10000, 10.0, np.float16)  # NumPy's float16 mean (float32 accumulation) and overflowing sum
    assert npg.mean(npg.tensor(big)).data == np.mean(big)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert npg.sum(npg.tensor(big)).data == np.sum(big) == np.inf
    assert npg.sum(npg.tensor(np.arange(3, dtype=np.int8)), dtype=np.float32).dtype == np.float32
    assert npg.mean(npg.tensor(np.ones(3, np.float32)), dtype=np.float64).dtype == np.float64


def test_reductions_of_0d_empty_nan_and_bad_axes():
    z = npg.tensor(np.float32(2.5))
    for f, nf in ((npg.sum, np.sum), (npg.max, np.max), (npg.min, np.min)):
        for axis in (0, -1, ()):
            got = f(z, axis=axis)
            assert got.dtype == np.float32 and got.shape == () and got.data == nf(np.float32(2.5), axis=axis)
        with pytest.raises(np.exceptions.AxisError, match=f"{f.__name__}: axis 1 is out of bounds"):
            f(z, axis=1)
    with pytest.raises(np.exceptions.AxisError, match="mean: axis 0"):  # NumPy's mean refuses it too
        npg.mean(z, axis=0)
    e = np.zeros((0, 3), np.float32)
    assert npg.sum(npg.tensor(e)).data == 0 and npg.sum(npg.tensor(e)).dtype == np.float32
    assert npg.sum(npg.tensor(e), axis=1).shape == (0,)
    for axis in (None, 0):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m, want = npg.mean(npg.tensor(e), axis=axis), np.mean(e, axis=axis)
        assert any("Mean of empty slice" in str(w.message) for w in caught)
        assert m.dtype == np.float32 and np.isnan(m.data).all() and m.shape == want.shape
        for f in (npg.max, npg.min):
            with pytest.raises(ValueError, match=f"{f.__name__}: zero-size reduction"):
                f(npg.tensor(e), axis=axis)
    assert npg.max(npg.tensor(e), axis=1).shape == (0,)
    v = np.array([1.0, np.nan, np.inf, -np.inf])
    for f, nf in _REDUCTIONS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            np.testing.assert_array_equal(f(npg.tensor(v)).data, nf(v))
            np.testing.assert_array_equal(f(npg.tensor(v[[0, 2]])).data, nf(v[[0, 2]]))
    x = npg.tensor(np.arange(6.0).reshape(2, 3))
    for f, _ in _REDUCTIONS:
        with pytest.raises(ValueError, match=f"{f.__name__}: repeated axis"):
            f(x, axis=(0, -2))
        with pytest.raises(np.exceptions.AxisError, match=f"{f.__name__}: axis -3"):
            f(x, axis=-3)
        with pytest.raises(TypeError, match=f"{f.__name__}: axis must be an int"):
            f(x, axis=1.0)
    w = np.array([True, False, True])  # where= / initial= (the masked path)
    np.testing.assert_array_equal(npg.sum(x, axis=1, where=w, initial=1.0).data,
                                  np.sum(x.data, axis=1, where=w, initial=1.0))
    np.testing.assert_array_equal(npg.mean(x, axis=1, where=w).data, np.mean(x.data, axis=1, where=w))
    np.testing.assert_array_equal(npg.max(x, axis=0, where=w, initial=-5.0).data,
                                  np.max(x.data, axis=0, where=w, initial=-5.0))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("n", [2048, 2049])
def test_reduction_gradients_at_unreduce_threshold_match_torch(dtype, n):
    """Gradients of sum / mean / max / min over an input of exactly 2048 (a new array) and 2049 elements (a
    broadcast view), with ties, keepdims and negative axes; retain_graph and a second backward accumulate."""
    rng = np.random.default_rng(6)
    a = np.round(rng.standard_normal(n) * 2).astype(dtype)  # ties for max / min
    shape = (2, 1024) if n == 2048 else (n,)
    a = a.reshape(shape)
    for f, tf in ((npg.sum, torch.sum), (npg.mean, torch.mean), (npg.max, torch.amax), (npg.min, torch.amin)):
        for axis, keep in ((None, False), (-1, True), (0, False)):
            x, xt = npg.tensor(a, requires_grad=True), _t(a)
            y = f(x, axis=axis, keepdims=keep)
            yt = tf(xt) if axis is None else tf(xt, axis, keepdim=keep)
            w = rng.standard_normal(y.shape).astype(dtype)
            loss, loss_t = npg.sum(y * w), (yt * torch.tensor(w)).sum()
            loss.backward(retain_graph=True)
            first = x.grad
            loss_t.backward(retain_graph=True)
            assert x.grad.dtype == dtype and x.grad.shape == shape
            assert_close(x.grad, xt.grad.numpy())
            loss.backward()
            loss_t.backward()
            assert x.grad is first  # accumulated into the first .grad, in place
            assert_close(x.grad, xt.grad.numpy())


def test_a_small_reduction_gradient_is_never_shared():
    """unreduce's new array goes to two leaves (add passes it on), a retained .grad and a captured gradient:
    none of them shares memory with another, and writing into one changes no other."""
    a = np.arange(6.0).reshape(2, 3)
    x1, x2 = npg.tensor(a, requires_grad=True), npg.tensor(a, requires_grad=True)
    y = x1 + x2
    y.retain_grad()
    s = npg.sum(y)
    s.backward(retain_graph=True)
    grads = [x1.grad, x2.grad, y.grad]
    for i in range(3):
        for j in range(i):
            assert not np.shares_memory(grads[i], grads[j])
    s.backward()
    for g in grads:
        np.testing.assert_array_equal(g, np.full((2, 3), 2.0))
    g1, = npg.autograd.grad(npg.mean(x1 * 1), [x1])
    g2, = npg.autograd.grad(npg.mean(x1 * 1), [x1])
    assert not np.shares_memory(g1, g2) and not np.shares_memory(g1, x1.grad)
    x = npg.tensor(a, requires_grad=True)  # the same leaf twice
    (npg.sum(x) + npg.mean(x) + npg.max(x)).backward()
    xt = _t(a)
    (xt.sum() + xt.mean() + xt.amax()).backward()
    assert_close(x.grad, xt.grad.numpy())


@pytest.mark.parametrize("through", ["leaf", "non-leaf"])
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "mul-sum"])
def test_a_gradient_kept_by_a_hook_is_not_changed_by_the_next_backward(through, reduction):
    """A hook that keeps its gradient: npgrad stored that same array as the leaf's .grad (a reduction's gradient
    on a small input is a new array since this session: npg.sum(x); any op's before), and the next backward
    added into it in place, changing the kept gradient. PyTorch clones a gradient used elsewhere."""
    a = np.arange(6.0).reshape(2, 3)
    f = {"sum": lambda v: v.sum(), "mean": lambda v: v.mean(), "max": lambda v: v.amax() if hasattr(v, "amax")
         else npg.max(v), "mul-sum": lambda v: (v * 2).sum()}[reduction]
    results = []
    for x in (npg.tensor(a, requires_grad=True), _t(a)):
        h = x if through == "leaf" else x + 0
        kept = []
        h.register_hook(lambda g: kept.append(g))
        y = f(h)
        y.backward(retain_graph=True)
        y.backward()
        results.append((_arr(kept[0]), _arr(x.grad)))
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)


def test_hooks_that_modify_the_gradient_match_torch():
    a = np.arange(6.0).reshape(2, 3)
    results = []
    for x in (npg.tensor(a, requires_grad=True), _t(a)):
        x.register_hook(lambda g: g * 3)
        y = (x + 0)
        y.register_hook(lambda g: g + 1)
        (y.sum() if isinstance(x, torch.Tensor) else npg.sum(y)).backward()
        results.append(_arr(x.grad))
    np.testing.assert_array_equal(*results)
