"""A review of the writes computed into a tensor's memory (relu_, ``x += y``, ``x -= y``, ``x *= c``, ``x /= c``,
add_/sub_/mul_/div_) and of relu's VJP reading its output: each program runs in npgrad and in PyTorch, and the
values, the gradients and whether backward raises must agree (float32 and float64). Where PyTorch refuses a
program that npgrad differentiates (an operand aliasing the written memory: npgrad reads a copy of it), npgrad's
gradient is checked against central finite differences instead.

Covered: writes through views (slices, transposes, reshapes, an int index, views of views), a base written after a
view was taken and the reverse, the written tensor used before and after the write, retain_grad and hooks, second
order, activation checkpointing, saved_tensors_hooks, anomaly mode, forward mode and npg.func, no_grad writes into
saved values, operands aliasing the written memory, 0-d and size-0 tensors, scalars and mixed precision. (Operands
of every kind and the refused writes: tests/test_inplace_into_operands.py.)
"""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TOLS = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-11, atol=1e-12)}
_rng = np.random.default_rng(11)
A, B = _rng.standard_normal((4, 5)), _rng.standard_normal((4, 5))


def _F(L):
    return F if L is npg else torch.nn.functional


def _leaves(L, arrays, dtype):
    if L is npg:
        return [npg.tensor(a.astype(dtype)) for a in arrays]
    return [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]


def _run(L, prog, arrays, dtype):
    """``prog(L, *leaves)`` -> loss; backward (unless ``prog`` ran it: the leaves have grads); (loss, leaves'
    grads), or the RuntimeError raised."""
    leaves = _leaves(L, arrays, dtype)
    try:
        loss = prog(L, *leaves)
        if all(t.grad is None for t in leaves):
            loss.backward()
    except RuntimeError as e:
        return e
    value = np.asarray(loss.data if L is npg else loss.detach().numpy())
    grads = [None if t.grad is None else np.asarray(t.grad.data if L is npg else t.grad.numpy()) for t in leaves]
    return value, grads


def _finite_differences(prog, arrays, eps=1e-6):
    def f(arrs):
        with npg.no_grad():
            return float(np.asarray(prog(npg, *[npg.tensor(a) for a in arrs]).data))
    out = []
    for k, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            hi, lo = [x.copy() for x in arrays], [x.copy() for x in arrays]
            hi[k][idx] += eps
            lo[k][idx] -= eps
            g[idx] = (f(hi) - f(lo)) / (2 * eps)
        out.append(g)
    return out


def check_against_torch(prog, dtype, arrays=(A, B)):
    ours, theirs = _run(npg, prog, arrays, dtype), _run(torch, prog, arrays, dtype)
    if isinstance(theirs, RuntimeError):
        assert isinstance(ours, RuntimeError), f"PyTorch raised {theirs!r}; npgrad ran"
        return
    assert not isinstance(ours, RuntimeError), f"npgrad raised {ours!r}; PyTorch ran"
    assert ours[0].dtype == dtype
    assert_close(ours[0], theirs[0], **TOLS[dtype])
    for g, tg in zip(ours[1], theirs[1]):
        assert (g is None) == (tg is None)
        if g is not None:
            assert g.dtype == dtype
            assert_close(g, tg, **TOLS[dtype])


def _iadd(t, o):
    t += o


def _isub(t, o):
    t -= o


def _imul(t, o):
    t *= o


def _idiv(t, o):
    t /= o


def _mixed(L, x, y):
    """Writes into ``x * 1`` with an operand of the other float precision."""
    if L is npg:
        o = y.astype(np.float64 if x.dtype == np.float32 else np.float32)
    else:
        o = y.double() if x.dtype == torch.float32 else y.float()
    h = x * 1.0
    h += o
    h.sub_(o, alpha=0.5)
    h *= o.detach()
    return (h * h).sum()


def _no_grad_write(L, h, write):
    with L.no_grad():
        write(h)


PROGRAMS = {  # each (L, x, y) -> a scalar loss; x, y leaves of shape (4, 5)
    "slice +=": lambda L, x, y: (lambda h: (_iadd(h[1:3], y[1:3]), (h * h).sum())[-1])(x * 1.0),
    "transposed view *= c, base and view read": lambda L, x, y: (
        lambda h: (lambda v: (_imul(v, 3.0), (h * h).sum() + (v * y.T).sum())[-1])(h.T))(x * 1.0),
    "reshaped view relu_": lambda L, x, y: (
        lambda h: (lambda v: (v.relu_(), (h * y).sum() + (v * v).sum())[-1])(h.reshape(20)))(x * 1.0),
    "int index relu_": lambda L, x, y: (lambda h: (h[2].relu_(), (h * y).sum())[-1])(x * 1.0),
    "view of a view -= y": lambda L, x, y: (
        lambda h: (_isub(h[1:].T[1:], y[1:].T[1:]), (h * h * y).sum())[-1])(x * 1.0),
    "base written after a view was taken": lambda L, x, y: (
        lambda h: (lambda v: (_iadd(h, y), h.relu_(), (v * v).sum())[-1])(h[1:3]))(x * 1.0),
    "view written, then the base": lambda L, x, y: (
        lambda h: (lambda v: (_idiv(v, 2.0), v.relu_(), (h * y).sum())[-1])(h[1:3]))(x * 1.0),
    "used before and after the writes": lambda L, x, y: (
        lambda h: (lambda a: (_iadd(h, y), h.relu_(), (a * (h * y)).sum() + h.exp().sum())[-1])(h.tanh()))(x * 1.0),
    "a view read before the base's relu_": lambda L, x, y: (
        lambda h: (lambda v: (lambda a: (h.relu_(), (a * v).sum() + h.sum())[-1])(v.tanh()))(h[1:]))(x * 1.0),
    "add_(alpha=), sub_(alpha=), mul_, div_": lambda L, x, y: (
        lambda h: (h.add_(y, alpha=-0.7), h.sub_(y * x, alpha=0.3), h.mul_(2.0), h.div_(-4), h.sub_(1.5),
                   (h * h * y).sum())[-1])(x * 1.0),
    "*= and /= by constant tensors, broadcast": lambda L, x, y: (
        lambda h: (_imul(h, y.detach()[0]), _idiv(h, y.detach() * y.detach() + 1), (h * h).sum())[-1])(x * 1.0),
    "mul_ / div_ by tensors with grad": lambda L, x, y: (
        lambda h: (h.mul_(y), h.div_(y * y + 1), (h * h).sum())[-1])(x * 1.0),
    "x += x": lambda L, x, y: (lambda h: (_iadd(h, h), (h * y).sum())[-1])(x * 1.0),
    "x.add_(x, alpha=2)": lambda L, x, y: (lambda h: (h.add_(h, alpha=2), (h * y).sum())[-1])(x * 1.0),
    "F.relu(inplace=True) of a view, then relu_ of the base (refused)": lambda L, x, y: (
        lambda h: (_F(L).relu(h[1:], inplace=True), h.relu_(), (h * y).sum())[-1])(x * 1.0),
    "F.relu(inplace=True) of a view": lambda L, x, y: (
        lambda h: (_F(L).relu(h[1:], inplace=True), (h * y).sum())[-1])(x * 1.0),
    "relu's output written (refused)": lambda L, x, y: (lambda h: (_iadd(h, 1.0), (h * y).sum())[-1])(L.relu(x * 1)),
    "relu_'s output written through a view (refused)": lambda L, x, y: (
        lambda h: (h.relu_(), _imul(h[1:], 2.0), (h * y).sum())[-1])(x * 1.0),
    "relu's input written after it (allowed)": lambda L, x, y: (
        lambda h: (lambda r: (_iadd(h, y), (r * r).sum() + (h * y).sum())[-1])(L.relu(h)))(x * 1.0),
    "sigmoid's output relu_ (refused)": lambda L, x, y: (lambda h: (h.relu_(), (h * y).sum())[-1])((x * 1).sigmoid()),
    "exp's output += (refused)": lambda L, x, y: (lambda h: (_iadd(h, 1.0), (h * y).sum())[-1])((x * 1).exp()),
    "a saved input += after its use (refused)": lambda L, x, y: (
        lambda h: (lambda z: (_iadd(h, 1.0), z.sum())[-1])(h * y))(x * 1.0),
    "a saved view's base relu_ (refused)": lambda L, x, y: (
        lambda h: (lambda z: (h.relu_(), z.sum())[-1])(h[1:] * y[1:]))(x * 1.0),
    "a constant multiplier written after *= (refused)": lambda L, x, y: (
        lambda h, c: (_imul(h, c), _iadd(c, 1.0), (h * h).sum())[-1])(x * 1.0, y.detach() * 1),
    "no_grad *= into a saved value (refused)": lambda L, x, y: (
        lambda h: (lambda z: (_no_grad_write(L, h, lambda t: _imul(t, 2.0)), z.sum())[-1])(h * y))(x * 1.0),
    "no_grad relu_ into a saved value (refused)": lambda L, x, y: (
        lambda h: (lambda z: (_no_grad_write(L, h, lambda t: t.relu_()), z.sum())[-1])(h * y))(x * 1.0),
    "no_grad add_ into relu's output (refused)": lambda L, x, y: (
        lambda h: (_no_grad_write(L, h, lambda t: t.add_(y, alpha=2)), (h * y).sum())[-1])(L.relu(x * 1)),
    "no_grad += into an unsaved value (allowed)": lambda L, x, y: (
        lambda h: (lambda z: (_no_grad_write(L, h, lambda t: _iadd(t, 1.0)), (z * h).sum())[-1])(h.exp()))(x + y),
    "0-d tensors": lambda L, x, y: (lambda h: (_iadd(h, y[0, 0]), _imul(h, 2.0), h.relu_(), h * y[1, 1])[-1])(
        x[0, 0] * 1.0),
    "size-0 tensors": lambda L, x, y: (lambda h: (_iadd(h, y[:0]), _idiv(h, 3.0), h.relu_(), h.sum() + x.sum())[-1])(
        x[:0] * 1.0),
    "Python and NumPy scalars": lambda L, x, y: (
        lambda h: (_iadd(h, 2), _imul(h, 1.5), _idiv(h, np.float32(3.0)), _iadd(h, True), _isub(h, 0.25),
                   h.add_(np.float32(0.5)), h.mul_(np.int64(2)), (h * y).sum())[-1])(x * 1.0),
    "a float64 operand into float32, and float32 into float64": lambda L, x, y: _mixed(L, x, y),
}

# npgrad reads a copy of an operand that aliases the written memory; PyTorch refuses or reads it mid-write:
# npgrad's gradient must match finite differences
ALIASING = {
    "x *= x": lambda L, x, y: (lambda h: (_imul(h, h), (h * y).sum())[-1])(x * 1.0),
    "x += x.T": lambda L, x, y: (lambda h: (_iadd(h, h.T), (h * y[:, :4]).sum())[-1])(x[:, :4] * 1.0),
    "x[1:] += x[:-1]": lambda L, x, y: (lambda h: (_iadd(h[1:], h[:-1]), (h * h * y).sum())[-1])(x * 1.0),
    "x /= x[0]": lambda L, x, y: (lambda h: (_idiv(h, h[0]), (h * y).sum())[-1])(x * 1.0 + 3),
    "x.sub_(x[0], alpha=0.5)": lambda L, x, y: (lambda h: (h.sub_(h[0], alpha=0.5), (h * h).sum())[-1])(x * 1.0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program_matches_torch(name, dtype):
    check_against_torch(PROGRAMS[name], dtype)


@pytest.mark.parametrize("name", list(ALIASING))
def test_aliasing_operand_gradient_matches_finite_differences(name):
    prog = ALIASING[name]
    value, grads = _run(npg, prog, (A, B), np.float64)
    for g, fd in zip(grads, _finite_differences(prog, [A, B])):
        assert_close(np.zeros_like(fd) if g is None else g, fd, rtol=1e-6, atol=1e-7)


def test_refused_and_allowed_programs_are_what_their_names_say():
    wrong = [name for name, prog in PROGRAMS.items()  # (so the tests above compare gradients, or errors, as meant)
             if isinstance(_run(torch, prog, (A, B), np.float64), RuntimeError) != ("(refused)" in name)]
    assert not wrong


# ------------------------------------------------ retain_grad and hooks on the written tensor and its views
def _hooked_program(L, x, y, seen):
    def hook(tag):
        return lambda g: seen.setdefault(tag, []).append(np.array(g.data if L is npg else g.detach().numpy()))
    h = x * 1.0
    h.register_hook(hook("h before"))
    v = h[1:]
    v.register_hook(hook("v before (its value is not read later)"))
    h.retain_grad()
    h *= 1.5
    h.register_hook(hook("h after *="))
    h += y
    h.register_hook(hook("h after +="))
    v *= 2.0
    if L is torch:
        v.grad_fn  # noqa: B018  (PyTorch 2.13 crashes registering a hook on a view whose graph is stale)
    v.register_hook(hook("v after its *="))
    v.retain_grad()
    h.register_hook(hook("h after v *="))
    h.add_(y, alpha=-0.5)
    h /= 3.0
    h.relu_()
    h.register_hook(hook("h after relu_"))
    return (h * h * y).sum(), h, v


@pytest.mark.parametrize("dtype", DTYPES)
def test_hooks_and_retain_grad_see_the_gradients_of_the_versions_they_were_registered_on(dtype):
    results = []
    for L in (npg, torch):
        seen = {}
        x, y = _leaves(L, (A, B), dtype)
        loss, h, v = _hooked_program(L, x, y, seen)
        loss.backward()
        grads = {"x": x.grad, "y": y.grad, "h.grad": h.grad, "v.grad": v.grad}
        results.append((seen, {k: None if g is None else np.asarray(g.data if L is npg else g.numpy())
                               for k, g in grads.items()}))
    (seen, grads), (tseen, tgrads) = results
    assert sorted(seen) == sorted(tseen)
    for k in tseen:
        assert len(seen[k]) == len(tseen[k]), k
        for g, tg in zip(seen[k], tseen[k]):
            assert_close(g, tg, what=k, **TOLS[dtype])
    for k in tgrads:
        assert (grads[k] is None) == (tgrads[k] is None), k
        if tgrads[k] is not None:
            assert_close(grads[k], tgrads[k], what=k, **TOLS[dtype])


# ------------------------------------------------ second order through relu_ and the arithmetic writes
SECOND_ORDER = {
    "relu_ then a square": lambda L, x, y: (lambda h: (h.relu_(), (h * h * y).sum())[-1])(x * x - 0.5),
    "+= then relu_": lambda L, x, y: (lambda h: (_iadd(h, y * x), h.relu_(), (h * h * h).sum())[-1])(x * 1.0),
    "relu_ of a view": lambda L, x, y: (lambda h: (h[1:].relu_(), (h * h * y).sum())[-1])(x * x - 0.5),
    "transposed *=, -=": lambda L, x, y: (
        lambda h: (_imul(h.T, 3.0), _isub(h, y * y * x), (h * h * h).sum())[-1])(x * 1.0),
    "add_(alpha=), /=": lambda L, x, y: (
        lambda h: (h.add_(x * y, alpha=-0.7), _idiv(h, 2.0), (h * h * h).sum())[-1])(x * x),
    "*= / /= constant tensors": lambda L, x, y: (
        lambda h: (_imul(h, y.detach()), _idiv(h, y.detach() ** 2 + 1), (h * h * h).sum())[-1])(x * 1.0),
    "mul_ by a tensor with grad, F.relu(inplace=True)": lambda L, x, y: (
        lambda h: (h.mul_(y * x), _F(L).relu(h, inplace=True), (h * h * x).sum())[-1])(x * 1.0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(SECOND_ORDER))
def test_second_order_matches_torch(name, dtype):
    def prog(L, x, y):
        grad = npg.autograd.grad if L is npg else torch.autograd.grad
        g, = grad(SECOND_ORDER[name](L, x, y), x, create_graph=True)
        h = g * 1.0  # the gradient itself written in place, then differentiated again
        h.relu_()
        h += y
        g2, = grad((h * h).sum(), x, create_graph=True)
        return (g * g * y).sum() + (g2 * x).sum()
    check_against_torch(prog, dtype)


# ------------------------------------------------ checkpointing, saved tensor hooks, anomaly mode
def _block(L, h, y):
    h = h * 1.0
    h += y
    v = h[1:]
    v *= 2.0
    h.relu_()
    z = h * y
    z.add_(y, alpha=0.5)
    z /= 3.0
    z -= h
    _F(L).relu(z, inplace=True)
    return z


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["use_reentrant=False", "use_reentrant=True", "create_graph"])
def test_checkpointed_blocks_with_inplace_writes_match_torch(variant, dtype):
    def prog(L, x, y):
        cp = npg.utils.checkpoint.checkpoint if L is npg else torch.utils.checkpoint.checkpoint
        reentrant = variant == "use_reentrant=True"
        out = cp(lambda a, b: _block(L, a, b), x * 1.0, y, use_reentrant=reentrant)
        out = cp(lambda a, b: _block(L, a, b), out + x, y, use_reentrant=reentrant)
        if variant != "create_graph":
            return (out * out).sum()
        g, = (npg.autograd.grad if L is npg else torch.autograd.grad)((out * out * out).sum(), x, create_graph=True)
        return (g * g).sum()
    check_against_torch(prog, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pack", ["identity", "doubled"])
def test_saved_tensors_hooks_around_inplace_writes_match_torch(pack, dtype):
    def prog(L, x, y):
        hooks = npg.autograd.graph.saved_tensors_hooks if L is npg else torch.autograd.graph.saved_tensors_hooks
        with hooks((lambda t: t) if pack == "identity" else (lambda t: t * 2), lambda t: t):
            h = x * 1.0
            h *= y.detach()  # (mul by a constant tensor: the constant is what is saved, and packed)
            h.div_(y.detach() + 3)
            h[1:].mul_(y.detach()[0])
            z = _block(L, h, y)
        return (z * z).sum()
    check_against_torch(prog, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_anomaly_mode_matches_torch(dtype):
    def fine(L, x, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (both warn that anomaly mode is on)
            with (npg.autograd.detect_anomaly() if L is npg else torch.autograd.detect_anomaly()):
                z = _block(L, x, y)
                loss = (z * z).sum()
                loss.backward()
        return loss

    def refused(L, x, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (PyTorch's anomaly traceback warning)
            with (npg.autograd.detect_anomaly() if L is npg else torch.autograd.detect_anomaly()):
                h = x * 1.0
                h.relu_()
                h += y
                loss = (h * h).sum()
                loss.backward()
        return loss
    check_against_torch(fine, dtype)
    check_against_torch(refused, dtype)
    with pytest.raises(RuntimeError, match="relu.*add_"):  # (naming the op that saved the value, and the write)
        refused(npg, *_leaves(npg, (A, B), dtype))


# ------------------------------------------------ forward mode and npg.func around relu_ and the writes
def _fn(L, x, y, last=True):
    h = x * 1.0
    h += y
    h.T.__imul__(2.0)
    h.add_(y, alpha=-0.5)
    h[1:] -= y[1:]
    h /= 3.0
    h.relu_()
    z = h * y
    z.sub_(x, alpha=2.0)
    _F(L).relu(z, inplace=True)
    if last:
        z.mul_(1.5)  # relu's output written: forward mode needs no saved value
    return z


@pytest.mark.parametrize("dtype", DTYPES)
def test_func_transforms_of_functions_writing_in_place_match_torch_func(dtype):
    a, b, t = (_rng.standard_normal((3, 4)).astype(dtype) for _ in range(3))
    ab, bb = np.stack([a, 0.5 * a, -a]), np.stack([b, b, 2 * b])

    def n(arr):
        return npg.tensor(arr, requires_grad=False)

    def check(ours, theirs, what):
        ours = np.asarray(ours.data)
        assert ours.dtype == dtype, what
        assert_close(ours, theirs.detach().numpy(), what=what, **TOLS[dtype])

    p, tg = npg.func.jvp(lambda x, y: _fn(npg, x, y), (n(a), n(b)), (n(t), n(0.3 * t)))
    tp, ttg = torch.func.jvp(lambda x, y: _fn(torch, x, y), (torch.tensor(a), torch.tensor(b)),
                             (torch.tensor(t), torch.tensor(0.3 * t)))
    check(p, tp, "jvp primal")
    check(tg, ttg, "jvp tangent")
    g = npg.func.grad(lambda x, y: (_fn(npg, x, y, False) ** 2).sum(), argnums=(0, 1))(n(a), n(b))
    tg = torch.func.grad(lambda x, y: (_fn(torch, x, y, False) ** 2).sum(), argnums=(0, 1))(torch.tensor(a),
                                                                                               torch.tensor(b))
    check(g[0], tg[0], "grad x")
    check(g[1], tg[1], "grad y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a per-sample fallback may warn)
        check(npg.func.vmap(lambda x, y: _fn(npg, x, y))(n(ab), n(bb)),
              torch.func.vmap(lambda x, y: _fn(torch, x, y))(torch.tensor(ab), torch.tensor(bb)), "vmap")
        check(npg.func.vmap(lambda x: _fn(npg, x, n(b)))(n(ab)),
              torch.func.vmap(lambda x: _fn(torch, x, torch.tensor(b)))(torch.tensor(ab)), "vmap, y unbatched")
        check(npg.func.vmap(npg.func.grad(lambda x, y: (_fn(npg, x, y, False) ** 2).sum()))(n(ab), n(bb)),
              torch.func.vmap(torch.func.grad(lambda x, y: (_fn(torch, x, y, False) ** 2).sum()))(
                  torch.tensor(ab), torch.tensor(bb)), "vmap of grad")
    check(npg.func.jacrev(lambda x: _fn(npg, x, n(b), False))(n(a)),
          torch.func.jacrev(lambda x: _fn(torch, x, torch.tensor(b), False))(torch.tensor(a)), "jacrev")
    check(npg.func.jacfwd(lambda x: _fn(npg, x, n(b)))(n(a)),
          torch.func.jacfwd(lambda x: _fn(torch, x, torch.tensor(b)))(torch.tensor(a)), "jacfwd")


@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_mode_and_backward_together_match_torch(dtype):
    import torch.autograd.forward_ad as tfw
    from npgrad.autograd import forward_ad as fw
    a, b, t = (_rng.standard_normal((3, 4)).astype(dtype) for _ in range(3))
    with fw.dual_level():
        x, y = npg.tensor(a), npg.tensor(b)
        z = _fn(npg, fw.make_dual(x, npg.tensor(t)), y, False)
        p, tg = fw.unpack_dual(z)
        npg.sum(z * z).backward()
    with tfw.dual_level():
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
        tz = _fn(torch, tfw.make_dual(tx, torch.tensor(t)), ty, False)
        tp, ttg = tfw.unpack_dual(tz)
        (tz * tz).sum().backward()
    for ours, theirs in ((p, tp), (tg, ttg), (x.grad, tx.grad), (y.grad, ty.grad)):
        assert_close(ours, theirs.detach().numpy(), **TOLS[dtype])
