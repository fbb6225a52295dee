"""Complex tensors through ops that had no complex test: PyTorch's values and gradients where torch defines the op
on complex numbers, a TypeError naming the op where torch refuses it (no silent lexicographic comparison of
complex numbers, no dropped imaginary part)."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.complex_helpers import CDTYPES, close, compare, crandn

F = npg.nn.functional
TF = torch.nn.functional

# ops torch's kernels refuse on complex input ("not implemented for 'ComplexFloat'"), with npgrad's call
REFUSED = {
    "gelu": lambda z, y: F.gelu(z),
    "gelu_tanh": lambda z, y: F.gelu(z, approximate="tanh"),
    "leaky_relu": lambda z, y: F.leaky_relu(z, 0.1),
    "softplus": lambda z, y: F.softplus(z),
    "softmax": lambda z, y: F.softmax(z, -1),
    "log_softmax": lambda z, y: F.log_softmax(z, -1),
    "softmin": lambda z, y: F.softmin(z, -1),
    "gumbel_softmax": lambda z, y: F.gumbel_softmax(z),
    "mse_loss": lambda z, y: F.mse_loss(z, y),
    "smooth_l1_loss": lambda z, y: F.smooth_l1_loss(z, y),
    "binary_cross_entropy_with_logits": lambda z, y: F.binary_cross_entropy_with_logits(z, y),
    "nll_loss": lambda z, y: F.nll_loss(z[0], npg.tensor(np.array([0, 1, 2]))),
    "layer_norm": lambda z, y: F.layer_norm(z, (4,)),
    "group_norm": lambda z, y: F.group_norm(z, 1),
    "instance_norm": lambda z, y: F.instance_norm(z),
    "batch_norm": lambda z, y: F.batch_norm(z, None, None, training=True),
    "local_response_norm": lambda z, y: F.local_response_norm(z, 2),
}


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_ops_torch_refuses_on_complex_raise_naming_the_op(name, requires_grad):
    # they computed NumPy's lexicographic comparisons of complex numbers (leaky_relu, softplus), dropped the
    # imaginary part with a ComplexWarning (gelu) or returned a complex "loss" (mse_loss: mean of d**2, not
    # |d|**2; smooth_l1_loss even recorded a gradient); torch raises for each
    rng = np.random.default_rng(0)
    z0, y0 = crandn(rng, (2, 3, 4), np.complex128), crandn(rng, (2, 3, 4), np.complex128)
    op = name.replace("_tanh", "")
    with pytest.raises((RuntimeError, NotImplementedError)):
        tz = torch.tensor(z0, requires_grad=requires_grad)
        _torch_call(name, tz, torch.tensor(y0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TypeError, match=f"{op}: .*complex"):
            REFUSED[name](npg.tensor(z0, requires_grad=requires_grad), npg.tensor(y0, requires_grad=False))


def _torch_call(name, z, y):
    calls = {
        "gelu": lambda: TF.gelu(z), "gelu_tanh": lambda: TF.gelu(z, approximate="tanh"),
        "leaky_relu": lambda: TF.leaky_relu(z, 0.1), "softplus": lambda: TF.softplus(z),
        "softmax": lambda: TF.softmax(z, -1), "log_softmax": lambda: TF.log_softmax(z, -1),
        "softmin": lambda: TF.softmin(z, -1), "gumbel_softmax": lambda: TF.gumbel_softmax(z),
        "mse_loss": lambda: TF.mse_loss(z, y), "smooth_l1_loss": lambda: TF.smooth_l1_loss(z, y),
        "binary_cross_entropy_with_logits": lambda: TF.binary_cross_entropy_with_logits(z, y),
        "nll_loss": lambda: TF.nll_loss(z[0], torch.tensor([0, 1, 2])),
        "layer_norm": lambda: TF.layer_norm(z, (4,)), "group_norm": lambda: TF.group_norm(z, 1),
        "instance_norm": lambda: TF.instance_norm(z),
        "batch_norm": lambda: TF.batch_norm(z, None, None, training=True),
        "local_response_norm": lambda: TF.local_response_norm(z, 2),
    }
    return calls[name]()


def test_a_complex_target_of_a_real_input_is_refused_too():
    x, t = np.array([1.0, 2.0]), np.array([1 + 1j, 2 - 1j])
    with pytest.raises((RuntimeError, NotImplementedError)):
        TF.mse_loss(torch.tensor(x), torch.tensor(t))
    with pytest.raises(TypeError, match="mse_loss: .*complex"):
        F.mse_loss(npg.tensor(x), npg.tensor(t, requires_grad=False))
    with pytest.raises(TypeError, match="mse_loss: .*complex"):
        F.mse_loss(npg.tensor(x), t)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_silu_of_complex_values_is_torchs_and_refuses_a_gradient_as_torch(dtype):
    # its sigmoid went through np.logaddexp, which has no complex loop: a bare NumPy TypeError
    z0 = crandn(np.random.default_rng(1), (3, 4), dtype)
    out = F.silu(npg.tensor(z0, requires_grad=False))
    close(out, TF.silu(torch.tensor(z0)), "silu")
    assert out.dtype == dtype
    with pytest.raises(RuntimeError):
        TF.silu(torch.tensor(z0, requires_grad=True))
    with pytest.raises(TypeError, match="silu"):
        F.silu(npg.tensor(z0, requires_grad=True))




LINEAR_CASES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), lambda x, w, b: TF.linear(x, w, b), [(2, 4), (3, 4), (3,)]),
    "linear_3d_no_bias": (lambda x, w: F.linear(x, w), lambda x, w: TF.linear(x, w), [(2, 5, 4), (3, 4)]),
    "rms_norm": (lambda x: F.rms_norm(x, (4,)), lambda x: TF.rms_norm(x, (4,)), [(2, 3, 4)]),
    "rms_norm_weight": (lambda x, w: F.rms_norm(x, (3, 4), w), lambda x, w: TF.rms_norm(x, (3, 4), w),
                        [(2, 3, 4), (3, 4)]),
    # (small values: the default eps is the complex dtype's machine epsilon, as torch's; it was float32's for
    # complex128, 1e-7 on a mean square of 1e-8)
    "rms_norm_small": (lambda x: F.rms_norm(x * 1e-4, (4,)), lambda x: TF.rms_norm(x * 1e-4, (4,)), [(2, 3, 4)]),
}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(LINEAR_CASES))
def test_linear_and_rms_norm_of_complex_tensors_match_torch(name, dtype):
    # torch defines both on complex tensors, with gradients; npgrad refused to record linear ("linear: not
    # supported for complex tensors with gradients") and rms_norm, and rms_norm's value used float32's eps
    f, tf, shapes = LINEAR_CASES[name]
    rng = np.random.default_rng(2)
    compare(f, tf, [crandn(rng, s, dtype) for s in shapes], name)


def test_complex_linear_and_rms_norm_forward_mode_and_second_order_match_torch():
    rng = np.random.default_rng(3)
    x, w, t = crandn(rng, (2, 4), np.complex128), crandn(rng, (3, 4), np.complex128), crandn(rng, (2, 4), np.complex128)
    f = lambda a: F.rms_norm(F.linear(a, npg.tensor(w, requires_grad=False)), (3,))  # noqa: E731
    tf = lambda a: TF.rms_norm(TF.linear(a, torch.tensor(w)), (3,))  # noqa: E731
    _, jo = npg.func.jvp(f, (npg.tensor(x),), (npg.tensor(t),))
    _, tjo = torch.func.jvp(tf, (torch.tensor(x),), (torch.tensor(t),))
    close(jo, tjo, "jvp")
    c = np.arange(3.0)
    xa, wa = npg.tensor(x), npg.tensor(w)
    gx, = npg.autograd.grad((npg.abs(F.rms_norm(F.linear(xa, wa), (3,))) ** 2 * c).sum(), [xa], create_graph=True)
    (npg.real(gx).sum() + (npg.imag(gx) ** 2).sum()).backward()
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    gt, = torch.autograd.grad((TF.rms_norm(TF.linear(xt, wt), (3,)).abs() ** 2 * torch.tensor(c)).sum(), [xt],
                              create_graph=True)
    (gt.real.sum() + (gt.imag ** 2).sum()).backward()
    close(gx, gt, "first derivative")
    close(xa.grad, xt.grad, "second derivative, input")
    close(wa.grad, wt.grad, "second derivative, weight")


def test_a_complex_nn_linear_trains_as_torchs():
    tm = torch.nn.Linear(4, 3).double()
    with pytest.warns(UserWarning, match="Complex modules"):
        tm = tm.to(torch.complex128)
    m = npg.nn.Linear(4, 3)
    with pytest.warns(UserWarning, match="Complex modules"):
        m.to(np.complex128)
    m.weight.data[...] = tm.weight.detach().numpy()
    m.bias.data[...] = tm.bias.detach().numpy()
    x = crandn(np.random.default_rng(4), (5, 4), np.complex128)
    (npg.abs(m(npg.tensor(x, requires_grad=False)) - 1j) ** 2).sum().backward()
    (torch.abs(tm(torch.tensor(x)) - 1j) ** 2).sum().backward()
    close(m.weight.grad, tm.weight.grad, "weight")
    close(m.bias.grad, tm.bias.grad, "bias")


ORDER_OPS = {
    "topk": (lambda z: npg.topk(z, 1), lambda z: torch.topk(z, 1)),
    "kthvalue": (lambda z: npg.kthvalue(z, 1), lambda z: torch.kthvalue(z, 1)),
    "cummax": (lambda z: npg.cummax(z, 0), lambda z: torch.cummax(z, 0)),
    "cummin": (lambda z: npg.cummin(z, 0), lambda z: torch.cummin(z, 0)),
    "msort": (lambda z: npg.msort(z), lambda z: torch.msort(z)),
    "topk_method": (lambda z: z.topk(2), lambda z: z.topk(2)),
}


@pytest.mark.parametrize("name", sorted(ORDER_OPS))
def test_torch_only_order_ops_refuse_complex_input_as_torch(name):
    # without gradients they answered in NumPy's lexicographic order of complex numbers (real part first);
    # torch has no order on complex numbers and raises
    f, tf = ORDER_OPS[name]
    z = np.array([1 + 2j, -1 + 0.5j, 0.3 - 2j])
    with pytest.raises((RuntimeError, NotImplementedError)):
        tf(torch.tensor(z))
    with pytest.raises(TypeError, match=f"{name.replace('_method', '')}: not defined for complex"):
        f(npg.tensor(z, requires_grad=False))


@pytest.mark.parametrize("name", ["deg2rad", "rad2deg", "degrees", "radians"])
def test_angle_conversions_refuse_complex_by_name(name):
    """torch refuses deg2rad / rad2deg on complex; npgrad raised NumPy's bare 'ufunc not supported' TypeError
    (and declared them holomorphic in complex_rules.py)."""
    z = np.array([1 + 2j, -0.5j])
    if hasattr(torch, name):
        with pytest.raises(RuntimeError):
            getattr(torch, name)(torch.tensor(z))
    with pytest.raises(TypeError, match=r"(deg2rad|rad2deg): not defined for complex tensors"):
        getattr(npg, name)(npg.tensor(z))
    x = np.array([30.0, -90.0])
    np.testing.assert_allclose(getattr(npg, name)(npg.tensor(x)).data, getattr(np, name)(x), rtol=1e-15)
