"""Random programs of views, out-of-place ops and in-place writes, run by npgrad and by PyTorch.

The table tests of tests/test_inplace.py try one view and one write at a time; here hypothesis draws whole
programs (up to eight steps over a pool of live tensors: views of views, writes through one view read
through another, values saved by an op and overwritten later) and checks every outcome:

* PyTorch runs the program: npgrad's values and gradient must match, or npgrad must raise where PyTorch
  raises (an overwritten saved value, a write into a view of a leaf...).
* PyTorch raises and npgrad does not (npgrad keeps more history than PyTorch in some cases): npgrad's
  gradient must then match central finite differences of the program. Never a silent wrong answer.
"""
import warnings

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import npgrad as npg

SHAPE = (4, 6)

# views that both libraries make as views (shared memory) whatever the strides
VIEWS = {
    "rows": lambda t: t[1:3] if t.ndim else t,   # (a 0-d tensor has no slices, in either library)
    "cols": lambda t: t[..., 1:4] if t.ndim else t,
    "step": lambda t: t[::2] if t.ndim else t,
    "T": lambda t: t.T,
    "row": lambda t: t[1] if t.ndim and t.shape[0] > 1 else t,
    "flip_axes": lambda t: t.swapaxes(0, 1) if t.ndim == 2 else t,
    "flat": lambda t: t.reshape(-1),      # a view or a copy: both libraries decide by the strides
    "head": lambda t: t[:-1] if t.ndim and t.shape[0] > 1 else t,
    "tail": lambda t: t[1:] if t.ndim and t.shape[0] > 1 else t,
    # PyTorch's view methods (npgrad/ops/torch_views.py)
    "narrow": lambda t: t.narrow(-1, 1, 2) if t.ndim and t.shape[-1] >= 3 else t,
    "select": lambda t: t.select(-1, 0) if t.ndim and t.shape[-1] else t,
    "movedim": lambda t: t.movedim(0, -1) if t.ndim >= 2 else t,
    "t": lambda t: t.t() if t.ndim <= 2 else t,
    "mH": lambda t: t.mH if t.ndim >= 2 else t,
    "swapdims": lambda t: t.swapdims(0, -1) if t.ndim else t,
    "unflatten": lambda t: t.unflatten(0, (1, -1)) if t.ndim else t,
    "unfold": lambda t: t.unfold(0, 2, 2) if t.ndim and t.shape[0] >= 2 else t,   # windows apart: writable
    "unfold_gap": lambda t: t.unfold(-1, 1, 2) if t.ndim and t.shape[-1] else t,
    "split": lambda t: t.split(3)[0] if t.ndim and t.shape[0] else t,   # PyTorch refuses writes into these
}
UNARY = ["tanh", "exp", "sin", "square", "scale"]
INPLACE = ["+=", "*=", "-=", "setitem_const", "setitem_tensor", "fill_slice", "shift_add", "shift_set", "mul_",
           "tanh_", "clamp_", "div_self",
           # the writes computed straight into the memory (relu_ reads its output; add, sub and mul/div by a
           # constant read nothing the write overwrites)
           "relu_", "-=_tensor", "/=_const", "*=_const", "add_alpha", "sub_alpha"]


def _unary(lib, name, t):
    if name == "square":
        return t * t
    if name == "scale":
        return t * 0.7 + 0.1
    return getattr(lib, name)(t)


def _same_shape_operand(pool, t):
    for u in pool:
        if u is not t and tuple(u.shape) == tuple(t.shape):
            return u
    return None


def run(lib, program, a):
    """Interpret ``program`` with ``lib`` (npg or torch) from the leaf ``a``; returns the pool of live
    tensors and the loss."""
    pool = [a * 1.0]                    # a non-leaf copy: in-place writes into it are allowed
    for step in program:
        kind, i, arg = step
        t = pool[i % len(pool)]
        if kind == "view":
            pool.append(VIEWS[arg](t))
        elif kind == "unary":
            pool.append(_unary(lib, arg, t))
        elif kind == "binary":
            u = _same_shape_operand(pool, t)
            pool.append(t * u if u is not None else t + 1.0)
        else:                            # in place, into t (a tensor of the pool, maybe a view)
            u = _same_shape_operand(pool, t)
            if lib is torch and u is not None and u.untyped_storage().data_ptr() == t.untyped_storage().data_ptr():
                # an operand that is another view of the written memory (t[1:] += t[:-1], x.unfold(...) +=
                # its swapdims): NumPy (and npgrad) read it whole before writing; PyTorch's result depends on
                # its loop order, so it gets NumPy's semantics by a clone (as in shift_add below)
                u = u.clone()
            if arg == "+=":
                t += u if u is not None else 0.5
            elif arg == "-=":
                t -= 0.25
            elif arg == "*=":
                t *= u if u is not None else 1.5
            elif arg == "setitem_const":
                t[...] = 0.3
            elif arg == "setitem_tensor" and u is not None:
                t[...] = u * 2.0
            elif arg == "fill_slice" and t.ndim and t.shape[0] > 1:
                t[:1] = 2.0
            elif arg == "shift_add" and t.ndim and t.shape[0] > 1:
                # the operand overlaps the written memory: NumPy reads it whole before writing (npgrad
                # too); PyTorch's result depends on its loop order, so it gets NumPy's semantics by a clone
                t[1:] += t[:-1].clone() if lib is torch else t[:-1]
            elif arg == "shift_set" and t.ndim and t.shape[0] > 1:
                t[1:] = t[:-1] * 1.5
            elif arg == "mul_":
                t.mul_(u if u is not None else t)
            elif arg == "tanh_":
                t.tanh_()
            elif arg == "clamp_":
                t.clamp_(min=-0.2)
            elif arg == "div_self":
                t /= t * t + 1.0
            elif arg == "relu_":
                t.relu_()
            elif arg == "-=_tensor":
                t -= u if u is not None else 0.75
            elif arg == "/=_const":
                t /= -1.25
            elif arg == "*=_const":
                t *= 0.8
            elif arg == "add_alpha":
                t.add_(u if u is not None else 0.5, alpha=-0.5)
            elif arg == "sub_alpha":
                t.sub_(u if u is not None else 0.25, alpha=2.0)
    loss = 0.0
    for k, t in enumerate(pool):
        loss = loss + (t * (0.3 + 0.1 * k)).sum()
    return pool, loss


steps = st.one_of(
    st.tuples(st.just("view"), st.integers(0, 7), st.sampled_from(sorted(VIEWS))),
    st.tuples(st.just("unary"), st.integers(0, 7), st.sampled_from(UNARY)),
    st.tuples(st.just("binary"), st.integers(0, 7), st.none()),
    st.tuples(st.just("inplace"), st.integers(0, 7), st.sampled_from(INPLACE)),
)


def _loss_value(program, a0):
    with npg.no_grad():
        _, loss = run(npg, program, npg.tensor(a0))
    return float(np.asarray(loss.data if isinstance(loss, npg.Tensor) else loss))


def _finite_differences(program, a0, eps=1e-6):
    g = np.zeros_like(a0)
    for idx in np.ndindex(a0.shape):
        ap, am = a0.copy(), a0.copy()
        ap[idx] += eps
        am[idx] -= eps
        g[idx] = (_loss_value(program, ap) - _loss_value(program, am)) / (2 * eps)
    return g


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(steps, min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_random_view_and_inplace_programs(program, seed):
    a0 = np.random.default_rng(seed).uniform(-1, 1, SHAPE)
    ta = torch.tensor(a0, requires_grad=True)
    try:
        t_pool, t_loss = run(torch, program, ta)
        t_loss.backward()
        t_err = None
    except RuntimeError as e:
        t_err = e

    a = npg.tensor(a0)
    try:
        pool, loss = run(npg, program, a)
        loss.backward()
        err = None
    except (RuntimeError, ValueError, TypeError) as e:
        err = e

    if t_err is None:
        assert err is None, f"npgrad raised {err!r} where PyTorch ran: {program}"
        assert len(pool) == len(t_pool)
        for k, (x, tx) in enumerate(zip(pool, t_pool)):
            np.testing.assert_allclose(x.data, tx.detach().numpy(), rtol=1e-12, atol=1e-12,
                                       err_msg=f"value of pool[{k}] in {program}")
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=str(program))
    elif err is None:
        # PyTorch refused (e.g. a saved value overwritten); npgrad differentiated: it must be right
        # (central differences lose about 1e-16 |loss| / eps in absolute terms: exp(exp(...)) gets large)
        atol = 1e-6 + 1e-9 * abs(_loss_value(program, a0))
        np.testing.assert_allclose(a.grad, _finite_differences(program, a0), rtol=1e-5, atol=atol,
                                   err_msg=f"PyTorch raised {t_err!r}; npgrad's gradient differs from "
                                           f"finite differences: {program}")


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(steps, min_size=1, max_size=8), seed=st.integers(0, 2**16))
def test_random_view_and_inplace_programs_in_forward_mode(program, seed):
    """The same programs with a dual tensor as input (forward-mode AD through views and in-place writes,
    PyTorch's copy_slices JVP). The loss's tangent must match a central difference along the tangent, and
    torch.func.jvp to 1e-9 wherever PyTorch's own tangent matches that difference: PyTorch's forward mode is
    wrong for an in-place op whose operand is its own output (``z.mul_(z)``: it reads the operand's tangent
    after overwriting it), which npgrad gets right."""
    from npgrad.autograd import forward_ad as fwad
    rng = np.random.default_rng(seed)
    a0, t0 = rng.uniform(-1, 1, SHAPE), rng.uniform(-1, 1, SHAPE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_value, t_tangent = torch.func.jvp(lambda a: run(torch, program, a)[1], (torch.tensor(a0),),
                                                (torch.tensor(t0),))
        t_err = None
    except RuntimeError as e:
        t_err = e
    try:
        with fwad.dual_level():
            _, loss = run(npg, program, fwad.make_dual(npg.tensor(a0, requires_grad=False), npg.tensor(t0)))
            value, tangent = fwad.unpack_dual(loss)
            value = float(np.asarray(value.data))
            tangent = 0.0 if tangent is None else float(np.asarray(tangent.data))
        err = None
    except (RuntimeError, ValueError, TypeError) as e:
        err = e
    if err is not None:
        assert t_err is not None, f"npgrad raised {err!r} in forward mode where PyTorch ran: {program}"
        return
    eps = 1e-6
    fd = (_loss_value(program, a0 + eps * t0) - _loss_value(program, a0 - eps * t0)) / (2 * eps)
    atol = 1e-6 + 1e-9 * abs(value)
    np.testing.assert_allclose(tangent, fd, rtol=1e-5, atol=atol, err_msg=f"finite difference: {program}")
    if t_err is None and np.isclose(float(t_tangent), fd, rtol=1e-5, atol=atol):
        np.testing.assert_allclose(value, float(t_value), rtol=1e-12, atol=1e-12, err_msg=str(program))
        np.testing.assert_allclose(tangent, float(t_tangent), rtol=1e-9, atol=1e-10, err_msg=str(program))


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(program=st.lists(steps, min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_random_view_and_inplace_programs_under_vmap(program, seed):
    """vmap of the program's loss, and of its gradient, over a batch of three inputs against a loop over the
    samples (in-place writes through batched views may run as a per-sample loop: correct either way)."""
    batch = np.random.default_rng(seed).uniform(-1, 1, (3,) + SHAPE)

    def loss(a):
        return run(npg, program, a)[1]

    try:
        expected = [loss(npg.tensor(b)) for b in batch]
        expected_grads = [npg.autograd.grad(e, x)[0] for e, x in [(loss(x), x) for x in map(npg.tensor, batch)]]
    except (RuntimeError, ValueError, TypeError):
        return                                     # (an error per sample: nothing to batch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # (a per-op loop fallback warns; its values are what is checked)
        values = npg.func.vmap(loss)(npg.tensor(batch))
        grads = npg.func.vmap(npg.func.grad(loss))(npg.tensor(batch))
    np.testing.assert_allclose(values.data, [float(np.asarray(e.data)) for e in expected], rtol=1e-12, atol=1e-12,
                               err_msg=str(program))
    np.testing.assert_allclose(grads.data, np.stack([np.asarray(g.data) for g in expected_grads]), rtol=1e-10,
                               atol=1e-12, err_msg=str(program))
