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


# ------------------------------------------------------------------ custom Function in torch's setup_context style
def _scaled_cube(lib):
    """The same Function written for npgrad and for torch: forward without ctx, setup_context, backward, jvp."""
    class ScaledCube(lib.autograd.Function):
        generate_vmap_rule = True   # (torch's hessian vmaps over it)

        @staticmethod
        def forward(x, scale=2.0):
            return x ** 3 * scale

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, scale = inputs
            ctx.scale = scale
            ctx.save_for_backward(x, output)
            ctx.save_for_forward(x)

        @staticmethod
        def backward(ctx, g):
            x, out = ctx.saved_tensors
            return 3 * ctx.scale * x ** 2 * g + 0 * out, None

        @staticmethod
        def jvp(ctx, tx, tscale):
            x, = ctx.saved_tensors
            return 3 * ctx.scale * x ** 2 * tx
    return ScaledCube


def test_function_setup_context_as_torch():
    """A Function in torch's newer style (``forward`` without ctx, ``setup_context(ctx, inputs, output)``; the
    style torch.func requires) used to fail: npgrad passed ctx to forward as its first argument."""
    N, Tc = _scaled_cube(npg), _scaled_cube(torch)
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    for args in [(), (0.5,)]:
        out, jv = func.jvp(lambda a: N.apply(a, *args), (x,), (v,))
        rout, rjv = tf.jvp(lambda a: Tc.apply(a, *args), (T(x),), (T(v),))
        assert_close(out, rout.numpy())
        assert_close(jv, rjv.numpy())
        g = func.grad(lambda a: npg.sum(npg.sin(N.apply(a, *args))))(x)
        rg = tf.grad(lambda a: torch.sum(torch.sin(Tc.apply(a, *args))))(T(x))
        assert_close(g, rg.numpy())
        h = func.hessian(lambda a: npg.sum(N.apply(a, *args)))(x)
        rh = tf.hessian(lambda a: torch.sum(Tc.apply(a, *args)))(T(x))
        assert_close(h, rh.numpy())
    xt = npg.tensor(x)
    N.apply(xt, scale=0.25).sum().backward()
    assert_close(xt.grad, 0.75 * x ** 2)


def test_function_reverse_mode_through_vmap_as_torch():
    """A custom Function called on batched values inside vmap recorded no graph node (the batched wrapper does
    not itself require grad), so vmap(grad(f)), grad(vmap(f)) and vmap(jacrev(f)) silently gave zeros. torch
    (with generate_vmap_rule=True) gives every sample its gradient."""
    N, Tc = _scaled_cube(npg), _scaled_cube(torch)
    x = rng.standard_normal((3, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (vmap may fall back to a per-sample loop, with a warning)
        cases = [
            (func.vmap(func.grad(lambda a: npg.sum(N.apply(a)))), tf.vmap(tf.grad(lambda a: torch.sum(Tc.apply(a))))),
            (func.grad(lambda a: npg.sum(func.vmap(N.apply)(a) ** 2)),
             tf.grad(lambda a: torch.sum(Tc.apply(a) ** 2))),  # (torch's generated rule fails here; elementwise)
            (func.vmap(func.jacrev(lambda a: N.apply(a, 0.5))), tf.vmap(tf.jacrev(lambda a: Tc.apply(a, 0.5)))),
            (func.vmap(func.hessian(lambda a: npg.sum(N.apply(a)))),
             tf.vmap(tf.hessian(lambda a: torch.sum(Tc.apply(a))))),
            (func.vmap(lambda a: func.vjp(N.apply, a)[1](npg.ones(2))[0]),
             tf.vmap(lambda a: tf.vjp(Tc.apply, a)[1](torch.ones(2, dtype=torch.float64))[0])),
        ]
        for k, (f, rf) in enumerate(cases):
            assert_close(f(x), rf(T(x)).numpy(), what=f"case {k}")


# ------------------------------------------------------------------ side effects of jacfwd / hessian
def test_jacfwd_runs_f_once_as_torch():
    """jacfwd ran f once for the outputs and once more per differentiated argument (hessian: jacfwd over
    jacrev, likewise), so f's side effects, e.g. a BatchNorm's running statistics in training mode, happened
    1 + len(argnums) times. torch.func.jacfwd runs f once, over one basis covering every argument."""
    x, y = rng.standard_normal(3), rng.standard_normal((2, 3))
    for argnums in [0, (0, 1)]:
        calls, tcalls = [], []

        def f(a, b):
            calls.append(1)
            return npg.tanh(b @ a) * npg.sum(a ** 2)

        def tf_(a, b):
            tcalls.append(1)
            return torch.tanh(b @ a) * torch.sum(a ** 2)
        got = func.jacfwd(f, argnums=argnums)(x, y)
        ref = tf.jacfwd(tf_, argnums=argnums)(T(x), T(y))
        for g, r in zip(got if isinstance(argnums, tuple) else [got], ref if isinstance(argnums, tuple) else [ref]):
            assert_close(g, r.numpy())
        assert len(calls) == len(tcalls) == 1, (argnums, len(calls), len(tcalls))

    bn, tbn = npg.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3).double()
    xb = rng.standard_normal((4, 3))
    tbn(T(xb))  # (torch's jacfwd refuses the in-place update of the statistics: one plain call is the oracle)
    params = {k: v.detach() for k, v in bn.named_parameters()}
    for run in [lambda: func.jacfwd(lambda p: func.functional_call(bn, p, (xb,)))(params),
                lambda: func.hessian(lambda p: npg.sum(func.functional_call(bn, p, (xb,)) ** 3))(params)]:
        bn.load_state_dict({k: v.numpy() * 0 + (k == "running_var") for k, v in tbn.state_dict().items()
                            if k != "num_batches_tracked"}, strict=False)
        bn.num_batches_tracked.data[...] = 0
        run()
        assert_close(bn.running_mean, tbn.running_mean.numpy())
        assert_close(bn.running_var, tbn.running_var.numpy())
        assert int(bn.num_batches_tracked.item()) == 1


def test_inference_mode_drops_tangents_no_grad_keeps_them():
    # inference_mode was no_grad here, which keeps forward-mode tangents; PyTorch's inference_mode drops them
    import npgrad.autograd.forward_ad as fw
    import torch.autograd.forward_ad as tfw
    res = []
    for lib, mod, F in ((npg, fw, lambda v: npg.tensor(v)), (torch, tfw, lambda v: torch.tensor(v))):
        with mod.dual_level():
            x = mod.make_dual(F([1.0, 2.0]), F([1.0, 1.0]))
            with lib.inference_mode():
                y = x * 3
            with lib.inference_mode(False):
                w = x * 3
            with lib.no_grad():
                z = x * 3
            res.append([None if t is None else np.array(t.data if lib is npg else t) for t in
                        (mod.unpack_dual(y).tangent, mod.unpack_dual(w).tangent, mod.unpack_dual(z).tangent)])
    (y1, w1, z1), (y2, w2, z2) = res
    assert y1 is None and y2 is None
    assert_close(w1, w2)
    assert_close(z1, z2)


def test_kl_div_gradient_in_the_target_at_zero_is_torchs_nan():
    # the target's gradient at target == 0 was -input (finite); d/dt t log t is -inf there and PyTorch gives nan
    x, t = np.log(np.array([0.3, 0.7])), np.array([0.0, 1.0])
    xi, ti = npg.tensor(x, requires_grad=True), npg.tensor(t, requires_grad=True)
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        npg.nn.functional.kl_div(xi, ti, reduction="sum").backward()
    torch.nn.functional.kl_div(xt, tt, reduction="sum").backward()
    assert_close(xi.grad, xt.grad.numpy())
    assert_close(ti.grad, tt.grad.numpy())  # (nan where nan)
