"""A review of this session's per-op speedups against PyTorch and NumPy: the one-op stack, views kept as a list
of weak references, backward's seed and entry, and x[idx]'s gradient for a few distinct rows. Values, gradients,
dtypes, shapes, errors and aliasing (the reductions and unreduce: test_perf_review_reduce.py)."""
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad.ops import inplace_views as _inplace_views
from tests.helpers import assert_close, switching_often, together, torch_or_stand_in

torch = torch_or_stand_in()


FLOATS = [np.float32, np.float64]


def _t(a, grad=True):
    return torch.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind in "fc")


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

    monkeypatch.setattr(_inplace_views, "_weakref", CountingRef)
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
    """Threads making views of one base: the list's compaction replaced the whole list with the live references
    it had scanned, dropping a view another thread appended meanwhile; a write into the base then left that view
    on its old node, so its gradient skipped the write (most runs lost some with a short switch interval)."""
    with switching_often():
        for _ in range(6):
            x = npg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
            y = x * 1
            kept = [y.T]  # (the list exists before the threads start)

            def work():
                for i in range(2000):
                    v = y.T if i % 2 else y[1:]
                    if i % 50 == 0:
                        kept.append(v)

            together([work] * 4)
            refs = {id(r()) for r in y._extra["views"]}
            assert all(id(v) in refs for v in kept)
            y.mul_(2.0)  # every view reads the doubled values, and its gradient goes through the write
            rows = [v for v in kept if v.shape == (1, 3)]
            assert all(np.array_equal(v.data, y.data[1:]) for v in rows)
            npg.sum(npg.stack([npg.sum(v) for v in rows])).backward()
            np.testing.assert_array_equal(x.grad, [[0, 0, 0], [2 * len(rows)] * 3])


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


# ----------------------------------------------------------------------------- x[idx]
_IDX = [np.array([3, 1, 7]), np.array([3, 3, 1]), np.array([-1, -100, 5]), np.array([0, -100]),
        np.array([[1, 2], [3, 4]]), np.arange(64), np.arange(65), np.arange(64)[::-1] % 50,
        np.array([], np.int64), np.array([5], np.uint8), np.array([5, -2], np.int32), np.arange(64, dtype=np.int16)]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64, np.complex128])
def test_row_lookup_gradients_match_torch(dtype):
    """Distinct / repeated / negative / 2-d / 64 / 65 rows, integer index types, of 2-d and 1-d tensors."""
    rng = np.random.default_rng(7)
    base = rng.standard_normal((100, 3))
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == np.float16 else dict(rtol=1e-6, atol=1e-6)
    for a in (base, base[:, 0]):
        for idx in _IDX:
            x, xt = npg.tensor(a.astype(dtype), requires_grad=True), _t(a.astype(dtype))
            y, yt = x[idx], xt[torch.tensor(idx.astype(np.int64))]
            w = rng.standard_normal(y.shape).astype(dtype)
            if np.dtype(dtype).kind == "c":
                w = w + 1j * rng.standard_normal(y.shape).astype(dtype)
            loss, loss_t = npg.sum(y * w), (yt * torch.tensor(w)).sum()
            if np.dtype(dtype).kind == "c":
                loss, loss_t = npg.real(loss), loss_t.real
            loss.backward()
            loss_t.backward()
            assert y.dtype == dtype and x.grad.dtype == dtype and x.grad.shape == a.shape
            assert_close(y.data, yt.detach().numpy(), **tol)
            assert_close(x.grad, xt.grad.numpy(), **tol)


def test_row_lookup_with_an_index_tensor_second_order_and_errors():
    a = np.random.default_rng(8).standard_normal((5, 3))
    x, xt = npg.tensor(a, requires_grad=True), _t(a)
    idx = np.array([4, 0, 2])
    npg.sum(x[npg.tensor(np.array([2, 0, 2]))] ** 2).backward()  # an int64 tensor, as a LongTensor
    (xt[torch.tensor([2, 0, 2])] ** 2).sum().backward()
    assert_close(x.grad, xt.grad.numpy())
    g, = npg.autograd.grad(npg.sum(x[idx] ** 3), [x], create_graph=True)
    h, = npg.autograd.grad(npg.sum(g * g), [x])
    gt, = torch.autograd.grad((xt[torch.tensor(idx)] ** 3).sum(), [xt], create_graph=True)
    ht, = torch.autograd.grad((gt * gt).sum(), [xt])
    assert_close(h, ht.numpy())
    y = x[idx]
    g1, = npg.autograd.grad(npg.sum(y), [x], retain_graph=True)
    g2, = npg.autograd.grad(npg.sum(y), [x])
    assert not np.shares_memory(g1, g2)
    for bad, msg in ((np.array([5]), "index 5 is out of bounds"), (np.array([-6]), "index -6 is out of bounds"),
                     (np.array([1.0]), "integer")):
        with pytest.raises(IndexError, match=msg):
            x[bad]


# ----------------------------------------------------------------------------- backward's seed and entry
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (1, 1, 1)])
def test_backward_on_one_element_outputs_matches_torch(dtype, shape):
    a = np.full(shape, 2.0, dtype)
    x, xt = npg.tensor(a, requires_grad=True), _t(a)
    (x * x).backward()
    (xt * xt).backward()
    assert x.grad.dtype == dtype and x.grad.shape == shape
    np.testing.assert_array_equal(x.grad, xt.grad.numpy())
    x.backward()  # a leaf's own backward: its seed is not kept as .grad's memory
    x.backward()
    np.testing.assert_array_equal(x.grad, xt.grad.numpy() + 2)


def test_backward_seed_errors_and_given_gradients():
    with pytest.raises(RuntimeError, match="implicitly created only for real scalar outputs"):
        (npg.tensor(np.array(1 + 1j), requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="implicitly created only for one-element outputs"):
        (npg.tensor(np.ones(2), requires_grad=True) * 2).backward()
    x = npg.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    with pytest.raises(ValueError, match=r"gradient has shape \(2,\) but the tensor has shape \(2, 2\)"):
        (x * 3).backward(gradient=np.ones(2))
    with pytest.raises(TypeError, match="got both grad and its PyTorch spelling"):
        (x * 3).backward(np.ones((2, 2)), gradient=np.ones((2, 2)))
    seed = np.full((2, 2), 2.0)
    for gradient in (seed, [[2.0, 2.0], [2.0, 2.0]], npg.tensor(seed, requires_grad=False)):
        x.grad = None
        (x * 3).backward(gradient=gradient)
        assert x.grad.dtype == np.float32
        np.testing.assert_array_equal(x.grad, np.full((2, 2), 6.0))
    x.grad = None
    s = np.ones((2, 2), np.float32)
    (x * 1).backward(s)
    x.grad += 1
    np.testing.assert_array_equal(s, np.ones((2, 2)))  # the caller's seed was not taken as .grad


def test_tensor_backward_in_a_fresh_interpreter():
    """Tensor.backward reaches the engine through a module global the engine sets when imported."""
    code = ("import numpy as np, npgrad as npg\n"
            "x = npg.tensor(np.arange(4.0), requires_grad=True)\n"
            "npg.sum(x * x).backward()\n"
            "print(x.grad.tolist())\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(npg.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=root))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[0.0, 2.0, 4.0, 6.0]"


def test_threads_making_a_bases_first_views_at_once_lose_none():
    """The first view of a base makes its list of views: two threads doing so at once each made a list, and the
    one assigned first was lost with its view (a later write into the base then left that view on its old
    node). The list is now made under the lock."""
    with switching_often():
        x = npg.tensor(np.arange(8.0).reshape(4, 2), requires_grad=True)
        for _ in range(1000):
            y = x * 1          # a fresh base: no view yet
            kept = together([lambda i=i: y[i:i + 1] for i in range(4)])
            refs = {id(r()) for r in y._extra["views"]}
            assert all(id(v) in refs for v in kept)
