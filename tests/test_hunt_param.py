"""Hunt for silent graph cuts at hyperparameters: a 0-d Tensor that requires grad given where a function takes a
number. Each such parameter is either differentiable (its gradient equals a central finite difference of the
function in the number, and the other inputs' gradients and values equal torch's with the number) or refused
with a TypeError naming the function and the argument; a 0-d Tensor outside any graph works as its number."""
import warnings

import numpy as np
import pytest

import npgrad as npg
import npgrad.nn.functional as F
import npgrad.special as S

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
POS = np.abs(X) + 0.5
Q, K, V = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 5, 4)), RNG.standard_normal((2, 5, 4))
IMG = RNG.standard_normal((2, 3, 5, 5))
TGT = np.array([0, 2, 1])
TGT4 = np.array([0, 2, 1, 3])


def _t(a, dtype=np.float64, rg=False):
    return npg.tensor(np.asarray(a, dtype=dtype), requires_grad=rg)


def _weights(shape):
    return np.random.default_rng(7).uniform(0.5, 1.5, shape)


def _scalar(fn, p):
    """sum(fn(p) * w) as a float, no graph."""
    with npg.no_grad():
        r = fn(p)
    a = np.asarray(r.data, dtype=np.float64)
    return float(np.sum(a * _weights(a.shape)))


# (name, fn(param) -> Tensor, value): the output depends smoothly on the parameter
DIFFERENTIABLE = [
    ("elu alpha", lambda a: F.elu(_t(X), alpha=a), 1.3),
    ("celu alpha", lambda a: F.celu(_t(X), alpha=a), 1.3),
    ("softplus beta", lambda a: F.softplus(_t(X), beta=a), 1.5),
    ("softplus beta, past the threshold", lambda a: F.softplus(_t(X * 10), beta=a, threshold=5.0), 1.5),
    ("cross_entropy label_smoothing", lambda a: F.cross_entropy(_t(X), TGT, label_smoothing=a), 0.2),
    ("cross_entropy label_smoothing, weighted sum",
     lambda a: F.cross_entropy(_t(X), TGT, weight=_t([1., 2., 3., 4.]), reduction="sum", label_smoothing=a), 0.3),
    ("cross_entropy label_smoothing, probabilities",
     lambda a: F.cross_entropy(_t(X), _t(np.abs(Y) / np.abs(Y).sum(1, keepdims=True)), label_smoothing=a), 0.3),
    ("sdpa scale", lambda a: F.scaled_dot_product_attention(_t(Q), _t(K), _t(V), scale=a), 0.7),
    ("normalize p", lambda a: F.normalize(_t(X), p=a), 2.5),
    ("normalize p < 1", lambda a: F.normalize(_t(X), p=a), 0.7),
    ("vector_norm ord", lambda a: npg.linalg.vector_norm(_t(X), ord=a, axis=1), 3.0),
    ("Tensor.norm p", lambda a: _t(X).norm(p=a), 2.5),
    ("renorm p", lambda a: _t(X).renorm(a, 0, 0.5), 2.5),
]


@pytest.mark.parametrize("name,fn,v", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_differentiable_parameter(name, fn, v):
    p = _t(v, rg=True)
    out = fn(p)
    npg.sum(out * _weights(out.shape)).backward()
    h = 1e-6
    fd = (_scalar(fn, v + h) - _scalar(fn, v - h)) / (2 * h)
    assert p.grad is not None
    assert abs(fd) > 1e-6  # (the case exercises the parameter)
    np.testing.assert_allclose(float(p.grad), fd, rtol=1e-5, atol=1e-8)
    # the value equals the number's; and a no-grad 0-d Tensor works as the number
    np.testing.assert_allclose(_scalar(fn, p.detach()), _scalar(fn, v), rtol=1e-12)
    np.testing.assert_allclose(float(np.sum(out.data * _weights(out.shape))), _scalar(fn, v), rtol=1e-12)


TORCH_INPUT_GRAD = [  # (name, npgrad fn(x, param), torch fn(x, number), value)
    ("elu", lambda x, a: F.elu(x, a), lambda x, a: __import__("torch").nn.functional.elu(x, a), 1.3),
    ("celu", lambda x, a: F.celu(x, alpha=a), lambda x, a: __import__("torch").nn.functional.celu(x, alpha=a), 0.6),
    ("softplus", lambda x, a: F.softplus(x, a, 3.0), lambda x, a: __import__("torch").nn.functional.softplus(x, a, 3.0),
     1.7),
    ("cross_entropy", lambda x, a: F.cross_entropy(x, TGT4, label_smoothing=a),
     lambda x, a: __import__("torch").nn.functional.cross_entropy(x, __import__("torch").tensor(TGT4),
                                                                   label_smoothing=a), 0.3),
    ("normalize", lambda x, a: F.normalize(x, a), lambda x, a: __import__("torch").nn.functional.normalize(x, a), 3.0),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,nfn,tfn,v", TORCH_INPUT_GRAD, ids=[c[0] for c in TORCH_INPUT_GRAD])
def test_input_gradient_with_tensor_parameter_matches_torch(name, nfn, tfn, v, dtype):
    import torch
    xs = np.concatenate([X, np.zeros((1, 4))]).astype(dtype) * 2  # (0 included: elu's kink)
    x = _t(xs, dtype, rg=True)
    a = _t(v, dtype, rg=True)
    out = nfn(x, a)
    assert out.dtype == dtype
    w = _weights(out.shape).astype(dtype)
    npg.sum(out * w).backward()
    tx = torch.tensor(xs, requires_grad=True)
    tout = tfn(tx, v)
    (tout * torch.tensor(w)).sum().backward()
    # (torch's float64 celu computes 1 / alpha in float32: a relative 1e-7 off its own formula)
    tol = 1e-5 if dtype == np.float32 else 1e-6 if name == "celu" else 1e-10
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=tol, atol=tol)


# (function name in the message, argument, fn(param), value): refused when the Tensor requires grad
REFUSED = [
    ("leaky_relu", "negative_slope", lambda a: F.leaky_relu(_t(X), a), 0.1),
    ("hardtanh", "min_val", lambda a: F.hardtanh(_t(X), min_val=a), -0.5),
    ("hardtanh", "max_val", lambda a: F.hardtanh(_t(X), max_val=a), 0.5),
    ("threshold", "threshold", lambda a: F.threshold(_t(X), a, 2.0), 0.1),
    ("threshold", "value", lambda a: F.threshold(_t(X), 0.1, a), 2.0),
    ("softshrink", "lambd", lambda a: F.softshrink(_t(X), a), 0.3),
    ("hardshrink", "lambd", lambda a: F.hardshrink(_t(X), a), 0.3),
    ("rrelu", "lower", lambda a: F.rrelu(_t(X), lower=a, upper=0.3), 0.1),
    ("rrelu", "upper", lambda a: F.rrelu(_t(X), lower=0.1, upper=a), 0.3),
    ("softplus", "threshold", lambda a: F.softplus(_t(X), threshold=a), 0.5),
    ("scaled_dot_product_attention", "dropout_p",
     lambda a: F.scaled_dot_product_attention(_t(Q), _t(K), _t(V), dropout_p=a), 0.0),
    ("cdist", "p", lambda a: npg.cdist(_t(X), _t(Y), p=a), 2.5),
    ("batch_norm", "eps", lambda a: F.batch_norm(_t(X), None, None, training=True, eps=a), 0.1),
    ("batch_norm", "eps", lambda a: F.batch_norm(_t(X), _t(np.zeros(4)), _t(np.ones(4)), eps=a), 0.1),
    ("batch_norm", "momentum",
     lambda a: F.batch_norm(_t(X), _t(np.zeros(4)), _t(np.ones(4)), training=True, momentum=a), 0.1),
    ("layer_norm", "eps", lambda a: F.layer_norm(_t(X), (4,), eps=a), 0.1),
    ("group_norm", "eps", lambda a: F.group_norm(_t(IMG), 1, eps=a), 0.1),
    ("instance_norm", "eps", lambda a: F.instance_norm(_t(IMG), eps=a), 0.1),
    ("embedding", "max_norm", lambda a: F.embedding(npg.tensor(np.array([0, 1])), _t(X), max_norm=a), 1.0),
    ("interpolate", "scale_factor", lambda a: F.interpolate(_t(IMG), scale_factor=a, mode="bilinear"), 2.0),
    ("multi_margin_loss", "p", lambda a: F.multi_margin_loss(_t(X), TGT, p=a), 2.0),
    ("var", "ddof", lambda a: npg.var(_t(X), ddof=a), 1.0),
    ("std", "ddof", lambda a: npg.std(_t(X), ddof=a), 1.0),
    ("multigammaln", "d", lambda a: S.multigammaln(_t(POS + 2), a), 2.0),
]


@pytest.mark.parametrize("fname,arg,fn,v", REFUSED, ids=[f"{c[0]} {c[1]}" for c in REFUSED])
def test_refused_parameter(fname, arg, fn, v):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TypeError, match=f"^{fname}: {arg} must be a number"):
            fn(_t(v, rg=True))
        # a no-grad 0-d Tensor works as the number
        npg.random.seed(0)
        a = _scalar(fn, _t(v))
        npg.random.seed(0)
        np.testing.assert_allclose(a, _scalar(fn, v), rtol=1e-12)


def test_refused_under_no_grad_is_the_number():
    """Under no_grad a requires-grad Tensor takes no part in a graph: it works as its number."""
    with npg.no_grad():
        r = F.leaky_relu(_t(X), _t(0.1, rg=True))
    np.testing.assert_allclose(r.data, np.where(X > 0, X, 0.1 * X))


def test_non_scalar_tensor_refused():
    with pytest.raises(TypeError, match="leaky_relu: negative_slope must be a number or a 0-d Tensor"):
        F.leaky_relu(_t(X), _t([0.1, 0.2]))
    with pytest.raises(TypeError, match="elu: alpha must be a number or a 0-d Tensor"):
        F.elu(_t(X), _t([0.1, 0.2], rg=True))


def test_label_smoothing_tensor_out_of_range():
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(_t(X), TGT, label_smoothing=_t(1.5, rg=True))


def test_vector_norm_tensor_ord_must_be_positive():
    with pytest.raises(ValueError, match="vector_norm: an ord that requires grad must be finite and positive"):
        npg.linalg.vector_norm(_t(X), ord=_t(-1.0, rg=True))


def test_modules_pass_tensor_parameters():
    """nn modules hand their hyperparameters to the functions: a Tensor in a graph is differentiated or refused."""
    a = _t(1.3, rg=True)
    npg.sum(npg.nn.ELU(alpha=a)(_t(X))).backward()
    assert a.grad is not None and float(a.grad) != 0
    with pytest.raises(TypeError, match="^leaky_relu: negative_slope must be a number"):
        npg.nn.LeakyReLU(_t(0.1, rg=True))(_t(X))


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d",
                                  "dropout3d"])
def test_dropout_p_as_a_constant_tensor_works_as_the_number(name):
    f = getattr(npg.nn.functional, name)
    ndim = {"dropout1d": 3, "dropout2d": 4, "dropout3d": 5}.get(name, 2)
    x = npg.tensor(np.random.default_rng(0).standard_normal((2, 3) + (4,) * (ndim - 2)))
    npg.manual_seed(5)
    a = f(x, npg.tensor(0.25, requires_grad=False), training=True)
    npg.manual_seed(5)
    b = f(x, 0.25, training=True)
    np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(TypeError, match=f"{name}: p must be a number"):
        f(x, npg.tensor(0.25), training=True)


@pytest.mark.parametrize("call,name,arg", [
    (lambda v: npg.nn.functional.pad(npg.ones((2, 3)), (1, 1), value=v), "pad", "value"),
    (lambda v: npg.nn.functional.cosine_similarity(npg.ones((2, 3)), npg.ones((2, 3)), eps=v), "cosine_similarity",
     "eps"),
    (lambda v: npg.nn.functional.gaussian_nll_loss(npg.ones(3), npg.zeros(3), npg.ones(3), eps=v),
     "gaussian_nll_loss", "eps")])
def test_more_numbers_refuse_a_tensor_in_a_graph_by_name(call, name, arg):
    with pytest.raises(TypeError, match=f"{name}: {arg} must be a number"):
        call(npg.tensor(0.5))
    np.testing.assert_array_equal(call(npg.tensor(0.5, requires_grad=False)).data, call(0.5).data)
