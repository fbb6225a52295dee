"""Forward-mode AD (npg.autograd.forward_ad) with in-place writes and views, against torch.autograd.forward_ad.

Each scenario runs the same code with npgrad and with torch (``m`` is the library, ``fw`` its forward_ad) on the
same numbers, and compares every returned tensor's primal, tangent (present or not), shape and dtype.
"""
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import npgrad as npg
import npgrad.autograd.forward_ad as nfw
from tests.helpers import assert_close

X0 = np.arange(6.0).reshape(2, 3) - 2.5
T0 = np.linspace(-1, 1, 6).reshape(2, 3)
Z0, ZT = np.array([1 + 2j, -0.5 + 1j, 3 - 1j]), np.array([0.5 - 1j, 2 + 0j, -1 + 1j])


def _t(m, a, dtype=None):
    a = np.array(a) if dtype is None else np.array(a, dtype=dtype)
    return npg.tensor(a, requires_grad=False) if m is npg else torch.tensor(a)


def _dual(m, fw, a=X0, t=T0, dtype=None):
    return fw.make_dual(_t(m, a, dtype), _t(m, t, dtype))


def _idx(m, a):
    return npg.tensor(np.array(a)) if m is npg else torch.tensor(a)


def _run(m, fw, scenario, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fw.dual_level():
            outs = scenario(m, fw, dtype)
            res = []
            for o in outs:
                p, t = fw.unpack_dual(o)
                conv = (lambda v: v.data) if m is npg else (lambda v: v.detach().resolve_conj().numpy())
                res.append((np.array(conv(p)), None if t is None else np.array(conv(t))))
    return res


INPLACE = {
    "mul_scalar": lambda m, fw, d: [(lambda x: x.mul_(2))(_dual(m, fw, dtype=d) * 1)],
    "add_dual": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).add_(_dual(m, fw, t=3 * T0, dtype=d))],
    "copy_into_plain": lambda m, fw, d: [_t(m, np.zeros((2, 3)), d).copy_(_dual(m, fw, dtype=d))],
    "copy_broadcast": lambda m, fw, d: [_t(m, np.zeros((2, 3)), d).copy_(_dual(m, fw, dtype=d)[0])],
    "fill_dual": lambda m, fw, d: [_t(m, np.zeros((2, 3)), d).fill_(_dual(m, fw, dtype=d)[0, 0])],
    "mul_into_plain": lambda m, fw, d: [_t(m, np.ones((2, 3)), d).mul_(_dual(m, fw, dtype=d))],
    "clamp_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).clamp_(-1, 1)],
    "clamp_tensor_min": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).clamp_(min=_t(m, np.zeros(3), d))],
    "relu_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).relu_()],
    "sigmoid_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).sigmoid_()],
    "chain_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).exp_().tanh_().abs_().neg_()],
    "pow_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).pow_(2)],
    "div_dual": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).div_(_dual(m, fw, a=X0 + 10, dtype=d))],
    "addcmul_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).addcmul_(
        _dual(m, fw, dtype=d), _dual(m, fw, t=2 * T0, dtype=d), value=0.5)],
    "lerp_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).lerp_(_dual(m, fw, a=2 * X0, t=-T0, dtype=d), 0.3)],
    "masked_fill_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).masked_fill_(_t(m, X0 > 0), 3.0)],
    "masked_scatter_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).masked_scatter_(
        _t(m, X0 > 0), _dual(m, fw, a=2 * X0, t=5 * T0, dtype=d))],
    "index_add_": lambda m, fw, d: [_t(m, np.ones((4, 3)), d).index_add_(0, _idx(m, [0, 2]), _dual(m, fw, dtype=d))],
    "index_copy_": lambda m, fw, d: [_t(m, np.ones((2, 3)), d).index_copy_(
        1, _idx(m, [2, 0]), _dual(m, fw, dtype=d)[:, :2])],
    "index_fill_": lambda m, fw, d: [_t(m, np.ones((2, 3)), d).index_fill_(1, _idx(m, [1]), _dual(m, fw, dtype=d)[0, 0])],
    "scatter_": lambda m, fw, d: [_t(m, np.ones((2, 3)), d).scatter_(
        1, _idx(m, [[1, 0, 2], [2, 1, 0]]), _dual(m, fw, dtype=d))],
    "scatter_add_": lambda m, fw, d: [_t(m, np.ones((2, 3)), d).scatter_add_(
        1, _idx(m, [[1, 0, 2], [2, 1, 0]]), _dual(m, fw, dtype=d))],
    "scatter_reduce_sum": lambda m, fw, d: [_t(m, np.ones((2, 3)), d).scatter_reduce_(
        1, _idx(m, [[1, 0, 2], [2, 1, 0]]), _dual(m, fw, dtype=d), "sum")],
    "put_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).put_(
        _idx(m, [0, 4]), _dual(m, fw, a=[9.0, 8.0], t=[3.0, 4.0], dtype=d))],
    "zero_": lambda m, fw, d: [(_dual(m, fw, dtype=d) * 1).zero_()],
}


def _setitem_plain(m, fw, d):
    y = _t(m, np.zeros((2, 3)), d)
    y[0] = _dual(m, fw, dtype=d)[1]
    return [y]


def _setitem_view_of_plain(m, fw, d):
    y = _t(m, np.zeros((2, 3)), d)
    v = y[:, 1:]
    v[0] = _dual(m, fw, dtype=d)[1, :2]
    return [y, v]


def _setitem_index(m, fw, d):
    y = _t(m, np.zeros(6), d)
    y[_idx(m, [1, 3, 5])] = _dual(m, fw, dtype=d)[0]
    return [y]


def _write_view_of_dual(m, fw, d):
    x = _dual(m, fw, dtype=d) * 1
    v = x[1]
    v.mul_(_dual(m, fw, a=[1.0, 2.0, 3.0], t=[0.5, -1.0, 2.0], dtype=d))
    return [x, v]


def _write_chained_views(m, fw, d):
    x = _dual(m, fw, dtype=d) * 1
    x.unsqueeze(0).squeeze(0).t()[1].mul_(3)
    x.view(-1)[::2].mul_(_dual(m, fw, a=np.full(3, 2.0), t=np.ones(3), dtype=d))
    return [x]


def _write_complex_views(m, fw, d):
    cd = {np.float32: np.complex64, np.float64: np.complex128}[d]
    z = _dual(m, fw, a=Z0, t=ZT, dtype=cd) * 1
    m.view_as_real(z)[:, 1].mul_(2)
    z.imag.mul_(3)
    z.real.add_(_dual(m, fw, a=np.ones(3), t=np.full(3, 2.0), dtype=d))
    return [z]


INPLACE.update(setitem_plain=_setitem_plain, setitem_view_of_plain=_setitem_view_of_plain,
               setitem_index=_setitem_index, write_view_of_dual=_write_view_of_dual,
               write_chained_views=_write_chained_views, write_complex_views=_write_complex_views)

VIEWS = {
    "shape_views": lambda m, fw, d: (lambda x: [x.reshape(3, 2), x.t(), x[:, 1:], x.unsqueeze(0),
                                                x.unsqueeze(0).expand(3, 2, 3), x.view(-1), x.movedim(0, 1),
                                                x.narrow(1, 0, 2), x.select(1, 2), x.T, x.mT])(_dual(m, fw, dtype=d)),
    "pieces": lambda m, fw, d: (lambda x: [*x.split([1, 2], dim=1), *x.unbind(0), *x.chunk(3, 1)])(
        _dual(m, fw, dtype=d)),
    "diagonal": lambda m, fw, d: (lambda x: [x.diagonal(), x.diagonal(1)])(
        _dual(m, fw, a=np.arange(9.0).reshape(3, 3), t=np.arange(9.0).reshape(3, 3) / 7, dtype=d)),
    "unfold": lambda m, fw, d: [_dual(m, fw, a=np.arange(8.0), t=np.arange(8.0) / 3, dtype=d).unfold(0, 3, 2)],
    "complex": lambda m, fw, d: (lambda z: [m.view_as_real(z), z.real, z.imag, m.view_as_complex(m.view_as_real(z)),
                                            z.conj(), z.abs()])(
        _dual(m, fw, a=Z0, t=ZT, dtype={np.float32: np.complex64, np.float64: np.complex128}[d])),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(INPLACE) + sorted(VIEWS))
def test_against_torch(name, dtype):
    scenario = INPLACE.get(name) or VIEWS[name]
    ours, theirs = _run(npg, nfw, scenario, dtype), _run(torch, tfw, scenario, dtype)
    assert len(ours) == len(theirs)
    for i, ((p, t), (tp, tt)) in enumerate(zip(ours, theirs)):
        assert p.dtype == tp.dtype, f"{name}[{i}] primal dtype {p.dtype}, torch {tp.dtype}"
        assert_close(p, tp, what=f"{name}[{i}] primal")
        assert (t is None) == (tt is None), f"{name}[{i}]: tangent {t}, torch's {tt}"
        if t is not None:
            assert t.dtype == tt.dtype, f"{name}[{i}] tangent dtype {t.dtype}, torch {tt.dtype}"
            assert_close(t, tt, what=f"{name}[{i}] tangent")


def test_self_aliasing_mul_through_a_view_is_exact():
    """v *= v through a view of a dual: 2 v t (finite differences). torch 2.13 reads the tangent it is
    overwriting here (it gives 0.15 for v = 0.5, t = 0.2, not 0.2), so the oracle is the derivative itself."""
    def f(eps):
        x = npg.tensor(X0 + eps * T0, requires_grad=False) * 1
        v = x[1]
        v.mul_(v)
        return x.data.copy()
    with nfw.dual_level():
        x = _dual(npg, nfw) * 1
        v = x[1]
        v.mul_(v)
        got = nfw.unpack_dual(x).tangent.data
    assert_close(got, (f(1e-6) - f(-1e-6)) / 2e-6, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------ make_dual / unpack_dual share memory
def test_write_into_make_dual_output_reaches_primal_as_torch():
    """Without a graph, a write into make_dual's output is seen in the primal (shared memory, as torch's
    view), whose tangent stays None; a write into the primal leaves the dual's tangent alone."""
    for m, fw in ((npg, nfw), (torch, tfw)):
        with fw.dual_level():
            p = _t(m, [1.0, 2.0])
            x = fw.make_dual(p, _t(m, [3.0, 4.0]))
            x.mul_(2)
            assert fw.unpack_dual(p).tangent is None
            assert_close(p.data if m is npg else p.numpy(), np.array([2.0, 4.0]))
            p.mul_(fw.make_dual(_t(m, [2.0, 2.0]), _t(m, [1.0, 1.0])))
            t = fw.unpack_dual(x).tangent
            assert_close(t.data if m is npg else t.numpy(), np.array([6.0, 8.0]))
            prim = fw.unpack_dual(x).primal
            prim.add_(1.0)
            assert_close(x.data if m is npg else x.detach().numpy(), np.array([5.0, 9.0]))


def test_write_into_make_dual_of_leaf_that_requires_grad_raises_as_torch():
    w, tw = npg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0], requires_grad=True)
    with tfw.dual_level(), pytest.raises(RuntimeError, match="leaf"):
        tfw.make_dual(tw, torch.ones(2)).mul_(2)
    with nfw.dual_level():
        x = nfw.make_dual(w, npg.ones(2))
        with pytest.raises(RuntimeError, match=r"mul_: .*make_dual.*a leaf tensor that requires grad"):
            x.mul_(2)
        with pytest.raises(RuntimeError, match="make_dual"):
            x[0] = 5.0          # through a view of it too
        with npg.no_grad():     # allowed under no_grad, as in torch
            x.mul_(2)
    assert_close(w, np.array([2.0, 4.0]))


def test_write_into_make_dual_of_graph_tensor_refuses_rather_than_wrong_gradient():
    """torch rewrites the primal's history (CopySlices: d/dw sum(p * p) = 8 w after x *= 2). npgrad does not
    track that alias in its graph: it refuses the write (it used to change p under its graph, giving 4 w)."""
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    with tfw.dual_level():
        tp = tw * 1
        tfw.make_dual(tp, torch.ones(2)).mul_(2)
        (tp * tp).sum().backward()
    assert_close(tw.grad.numpy(), 8 * np.array([1.0, 2.0]))
    w = npg.tensor([1.0, 2.0])
    with nfw.dual_level():
        p = w * 1
        x = nfw.make_dual(p, npg.ones(2))
        with pytest.raises(RuntimeError, match="make_dual"):
            x.mul_(2)
        with pytest.raises(RuntimeError, match="unpack_dual"):
            nfw.unpack_dual(x).primal.add_(1.0)
        (p * p).sum().backward()
    assert_close(w.grad, 2 * np.array([1.0, 2.0]))   # p unchanged


# ------------------------------------------------------------------------ custom Functions under forward AD
def _functions(m, fw):
    seen = []

    class Double(m.autograd.Function):
        """Writes into its input (mark_dirty); its jvp updates the tangent in place, as torch asks."""
        @staticmethod
        def forward(ctx, x):
            seen.append(fw.unpack_dual(x * 1).tangent)   # forward runs without forward AD
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

        @staticmethod
        def jvp(ctx, t):
            t.mul_(2)
            return t

    class Square(m.autograd.Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            raise AssertionError("not called")

        @staticmethod
        def jvp(ctx, t):
            x, = ctx.saved_tensors
            return 2 * x * t
    return Double, Square, seen


def test_function_forward_runs_without_forward_ad_as_torch():
    """The mark_dirty Function's tangent was doubled twice (4 t): its forward's write updated the input's
    tangent, then its jvp doubled that again; torch runs forward with forward AD off."""
    res = {}
    for m, fw in ((npg, nfw), (torch, tfw)):
        Double, Square, seen = _functions(m, fw)
        with fw.dual_level():
            z = fw.make_dual(_t(m, [1.0, 2.0]), _t(m, [3.0, 4.0])) * 1
            w = Double.apply(z)
            assert w is z
            y = Square.apply(fw.make_dual(_t(m, [1.0, -2.0]), _t(m, [0.5, 1.0])))
            res[m] = [fw.unpack_dual(v).tangent for v in (w, z, y)] + [v for v in (w, y)] + seen
    for ours, theirs in zip(res[npg][:5], res[torch][:5]):
        assert_close(ours, theirs.detach().numpy())
    assert res[npg][5:] == res[torch][5:] == [None]   # the input seen inside forward has no tangent
