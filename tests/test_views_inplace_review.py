"""Adversarial review of in-place ops, views and version counters, each case run in npgrad and in PyTorch:
values, the gradient of every leaf, and whether each raises."""
import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close

X = np.arange(1.0, 5.0)
W = np.array([0.5, 1.5, 2.0, 3.0])


def _grads(lib, write, dtype):
    """``y = 2 x``, then ``write(lib, y, w)`` in place, then the gradients of ``sum(c y^2)`` (None as None)."""
    if lib == "torch":
        x, w = (torch.tensor(a.astype(dtype), requires_grad=True) for a in (X, W))
        c = torch.tensor(X.astype(dtype))
    else:
        x, w = (npg.tensor(a.astype(dtype), requires_grad=True) for a in (X, W))
        c = npg.tensor(X.astype(dtype), requires_grad=False)
    y = x * 2
    write(lib, y, w)
    (y * y * c).sum().backward()
    out = [y.detach().numpy() if lib == "torch" else y.data]
    for t in (x, w):
        out.append(None if t.grad is None else np.asarray(t.grad))
    return out


def _const(lib, a, like):
    return torch.tensor(a, dtype=like.dtype) if lib == "torch" else npg.tensor(a.astype(like.dtype),
                                                                                requires_grad=False)


# a write that replaces every value of a non-leaf with values independent of its old ones: PyTorch gives the
# old values a zero gradient (never the gradient of the new values through the old node)
REPLACING = {
    "copy_ constant tensor": lambda lib, y, w: y.copy_(_const(lib, W * 3, y)),
    "copy_ detached": lambda lib, y, w: y.copy_(w.detach() * 3),
    "copy_ grad source": lambda lib, y, w: y.copy_(w * 3),
    "copy_ broadcast source": lambda lib, y, w: y.copy_(w[:1]),
    "fill_ tensor": lambda lib, y, w: y.fill_(w[0]),
    "fill_ number": lambda lib, y, w: y.fill_(2.5),
    "zero_": lambda lib, y, w: y.zero_(),
    "normal_": lambda lib, y, w: y.normal_(),
    "uniform_": lambda lib, y, w: y.uniform_(),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(REPLACING))
def test_write_replacing_all_values_of_a_non_leaf_as_torch(name, dtype):
    got = _grads("npg", REPLACING[name], dtype)
    want = _grads("torch", REPLACING[name], dtype)
    if name not in ("normal_", "uniform_"):
        assert_close(got[0], want[0])
    for g, t in zip(got[1:], want[1:]):
        assert (g is None) == (t is None), (name, g, t)
        if t is not None:
            assert_close(g, t)


@pytest.mark.parametrize("write", ["mul_", "view add_", "setitem"])
def test_checkpointed_function_writing_into_its_input_raises_as_torch(write):
    # the recomputation in backward would run on the written values (and write again): PyTorch raises
    def f(a, b):
        if write == "mul_":
            a.mul_(2)
        elif write == "view add_":
            a[1:].add_(1)
        else:
            a[0] = 5.0
        return a * b

    x, w = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    y = torch.utils.checkpoint.checkpoint(f, x * 1, w, use_reentrant=False)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    x, w = npg.tensor(X, requires_grad=True), npg.tensor(W, requires_grad=True)
    z = x * 1
    y = npg.utils.checkpoint.checkpoint(f, z, w, use_reentrant=False)
    written = z.data.copy()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    assert_close(z.data, written)   # and the function did not run (and write) again


B = np.arange(12.0).reshape(3, 4) / 3
AUGMENTED = {
    "+=": lambda e, a: e.__iadd__(a), "-=": lambda e, a: e.__isub__(a), "*=": lambda e, a: e.__imul__(a),
    "/=": lambda e, a: e.__itruediv__(a + 1), "**=": lambda e, a: e.__ipow__(a),
    "view +=": lambda e, a: e[1:].__iadd__(a[1:]),
}


@pytest.mark.parametrize("name", sorted(AUGMENTED))
def test_augmented_assignment_of_a_batched_value_into_an_unbatched_tensor_raises_under_vmap(name):
    # the result would need a batch dimension: torch.func.vmap raises (npgrad summed the samples into e)
    op = AUGMENTED[name]
    e = torch.ones(4)
    with pytest.raises(RuntimeError):
        torch.func.vmap(lambda a: op(e, a) * 1)(torch.tensor(B))
    e = npg.tensor(np.ones(4), requires_grad=False)
    with pytest.raises(RuntimeError, match="vmap"):
        npg.func.vmap(lambda a: op(e, a) * 1)(npg.tensor(B, requires_grad=False))
    assert_close(e.data, np.ones(4))


@pytest.mark.parametrize("name", sorted(AUGMENTED))
def test_augmented_assignment_into_a_batched_tensor_under_vmap_as_torch(name):
    op = AUGMENTED[name]

    def f(a, e):
        c = a * 1
        op(c, e)
        return c

    C = np.array([0.5, 1.5, 2.0, 3.0])
    want = torch.func.vmap(f, in_dims=(0, None))(torch.tensor(B), torch.tensor(C))
    got = npg.func.vmap(f, in_dims=(0, None))(npg.tensor(B, requires_grad=False), npg.tensor(C, requires_grad=False))
    assert_close(got.data, want.numpy())
    want = torch.func.vmap(f)(torch.tensor(B), torch.tensor(B[::-1].copy()))
    got = npg.func.vmap(f)(npg.tensor(B, requires_grad=False), npg.tensor(B[::-1].copy(), requires_grad=False))
    assert_close(got.data, want.numpy())


ROLLS = {"0": lambda m, x: m.roll(x, 0), "n": lambda m, x: m.roll(x, 3, 1), "flat size": lambda m, x: m.roll(x, 6),
         "two axes": lambda m, x: m.roll(x, (3, 2), (1, 0)), "0-d": lambda m, x: m.roll(x[0, 0], 1),
         "method 0": lambda m, x: x.roll(0, 0), "method n": lambda m, x: x.roll(3, 1)}


@pytest.mark.parametrize("name", sorted(ROLLS))
def test_roll_by_a_whole_turn_is_a_copy_as_numpy_and_torch(name):
    # np.roll and torch.roll always copy: a write into the result must not reach the input
    call = ROLLS[name]
    a = np.arange(6.0).reshape(2, 3)
    for x, m in ((npg.tensor(a, requires_grad=False), npg), (torch.tensor(a), torch)):
        out = call(m, x)
        out += 10
        assert_close(np.asarray(x), a)
    if not name.startswith("method"):
        b = a.copy()
        assert not np.shares_memory(call(np, b), b)
    # in a graph: the gradient of the input is the one of the rolled values, and the input is not written
    x = npg.tensor(a)
    y = x * 1
    out = call(npg, y)
    out *= 3
    (out * out).sum().backward()
    assert_close(y.data, a)
    t = torch.tensor(a, requires_grad=True)
    tout = call(torch, t * 1)
    tout *= 3
    (tout * tout).sum().backward()
    assert_close(x.grad, t.grad.numpy())


JACFWD_WRITERS = {
    "one input": ((0,), lambda a: (a.mul_(2), a * a)[1]),
    "two inputs": ((0, 1), lambda a, b: (a.mul_(b), a * b)[1]),
    "view write": ((0,), lambda a, b: (a[1:].add_(b[:3]), a.exp())[1]),
}


@pytest.mark.parametrize("name", sorted(JACFWD_WRITERS))
def test_jacfwd_of_a_function_writing_into_its_input_as_torch(name):
    # torch.func.jacfwd runs f once (vectorized over the basis): the input is written once and the Jacobian is
    # the one at the caller's values; npgrad ran f once per pass, each on the values the last pass wrote
    argnums, f = JACFWD_WRITERS[name]
    a, b = np.array([0.5, 1.0, 1.5, 2.0]), np.array([1.0, 2.0, 3.0, 4.0])
    targs = [torch.tensor(a), torch.tensor(b)][:f.__code__.co_argcount]
    want = torch.func.jacfwd(f, argnums=argnums)(*targs)
    nargs = [npg.tensor(a, requires_grad=False), npg.tensor(b, requires_grad=False)][:len(targs)]
    got = npg.func.jacfwd(f, argnums=argnums)(*nargs)
    for g, w in zip(got, want):
        assert_close(g.data, w.numpy())
    for n, t in zip(nargs, targs):
        assert_close(n.data, t.numpy())
    nargs = [npg.tensor(a, requires_grad=False), npg.tensor(b, requires_grad=False)][:len(targs)]
    for g, w in zip(npg.func.jacfwd(f, argnums=argnums, chunk_size=1)(*nargs), want):   # one pass per chunk
        assert_close(g.data, w.numpy())
    for n, t in zip(nargs, targs):
        assert_close(n.data, t.numpy())


def test_nested_jacfwd_of_a_function_writing_into_its_input_matches_torch_or_raises_clearly():
    # npgrad gave the doubled second derivative (48 where torch gives 24 = d2/da2 (2a)^3 at 0.5): now f runs
    # once per chunk, as torch's, and the result and the written input match torch; with several chunks f
    # would run more than once, and the input cannot be put back between runs: a clear error
    def f(a):
        a.mul_(2)
        return a * a * a

    x = npg.tensor(np.array([0.5, 1.0]), requires_grad=False)
    got = npg.func.jacfwd(npg.func.jacfwd(f))(x)
    xt = torch.tensor([0.5, 1.0])
    want = torch.func.jacfwd(torch.func.jacfwd(f))(xt)
    assert_close(got, want.numpy())
    assert_close(x, xt.numpy())
    # an input that requires grad (npgrad's default) is refused at the write, as torch.func refuses it ("a view of
    # a leaf Variable that requires grad"): the write would change a leaf under its graph
    with pytest.raises(RuntimeError, match="make_dual / unpack_dual, a leaf tensor that requires grad"):
        npg.func.jacfwd(npg.func.jacfwd(f), chunk_size=1)(npg.tensor(np.array([0.5, 1.0])))


@pytest.mark.parametrize("method,args", [("fliplr", ()), ("flipud", ()), ("rot90", ()), ("rot90", (3, [1, 0]))])
def test_torch_copy_methods_fliplr_flipud_rot90_are_copies(method, args):
    # the methods returned NumPy's views (as the npg. functions do), so a write through the result changed x,
    # where PyTorch's methods (and README's list of the copies) give a new tensor
    base = np.arange(6.0).reshape(2, 3)
    x, xt = npg.tensor(base.copy()), torch.tensor(base.copy())
    y, yt = getattr(x, method)(*args), getattr(xt, method)(*args)
    y[0, 0] = 99.0
    yt[0, 0] = 99.0
    assert_close(x, xt.numpy())
    assert_close(y, yt.numpy())
    assert np.shares_memory(npg.fliplr(x).data, x.data)  # the NumPy function keeps NumPy's view


def test_masked_fill_keeps_the_tensor_dtype_as_torch():
    # an int tensor filled with 2.5 became float64 (out of place) or raised (masked_fill_); PyTorch keeps the
    # tensor's dtype (2.5 -> 2), and float32 stays float32 for a float64 value
    m = np.array([True, False, True])
    for fill in (2.5, -2.5, np.float64(7.9)):
        got = npg.tensor(np.array([1, 2, 3])).masked_fill(m, fill)
        want = torch.tensor([1, 2, 3]).masked_fill(torch.tensor(m), float(fill))
        assert got.dtype == np.int64
        assert_close(got, want.numpy())
        x = npg.tensor(np.array([1, 2, 3]))
        x.masked_fill_(npg.tensor(m), fill)
        assert_close(x, want.numpy())
    f = npg.zeros(3, dtype=np.float32, requires_grad=True)
    assert f.masked_fill(m, np.float64(-np.inf)).dtype == np.float32
    with pytest.raises(TypeError, match="masked_fill"):
        npg.zeros(3).masked_fill(m, 1j)


@pytest.mark.parametrize("name", ["scatter", "scatter_add", "index_add"])
def test_torch_writes_refuse_a_source_of_another_dtype(name):
    # an int tensor scattered with float values truncated them, and scatter_add / index_add promoted the result
    # (float32 + float64 -> float64); PyTorch raises for a source of another dtype
    idx = np.array([0, 2])
    for xd, sd in ((np.int64, np.float64), (np.float32, np.float64)):
        x, src = npg.zeros(3, dtype=xd), npg.tensor(np.array([1.5, 2.5], dtype=sd))
        xt, st = torch.zeros(3, dtype=torch.from_numpy(np.zeros(0, xd)).dtype), torch.tensor([1.5, 2.5],
                                                                                            dtype=torch.float64)
        with pytest.raises(RuntimeError):
            getattr(xt, name)(0, torch.tensor(idx), st)
        with pytest.raises(RuntimeError, match=name):
            getattr(x, name)(0, npg.tensor(idx), src)
    ok = getattr(npg.zeros(3), name)(0, npg.tensor(idx), npg.tensor(np.array([1.5, 2.5])))
    src64 = torch.tensor([1.5, 2.5], dtype=torch.float64)
    assert_close(ok, getattr(torch.zeros(3, dtype=torch.float64), name)(0, torch.tensor(idx), src64).numpy())


@pytest.mark.parametrize("call", [lambda x: x.topk(1).values, lambda x: x.cummax(0).values,
                                  lambda x: x.cummin(0).values])
def test_zero_d_topk_cummax_values_are_copies(call):
    # on a 0-d tensor the values were a view of the input: a write into them changed x (torch copies)
    x, xt = npg.tensor(np.array(3.0), requires_grad=True), torch.tensor(3.0, requires_grad=True)
    v, vt = call(x), call(xt)
    assert not np.shares_memory(v.data, x.data)
    v2, vt2 = v * 1, vt * 1
    v2.backward()
    vt2.backward()
    assert_close(x.grad, xt.grad.numpy())
