"""Bad input to the public API gets a clear error naming the op (and the value or shapes at fault), never a
bare NumPy/Python error from deep inside nor a silent result; where relevant, NumPy/PyTorch refuse the same
input too (the oracle)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F


def _t(*shape, dtype=np.float64):
    return npg.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype), requires_grad=True)


# --- pointwise losses: a target that is None / a string / of a shape that does not broadcast ---------------

POINTWISE_LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "poisson_nll_loss", "soft_margin_loss",
                    "kl_div", "hinge_embedding_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


@pytest.mark.parametrize("name", POINTWISE_LOSSES)
@pytest.mark.parametrize("bad", [None, "abc"])
def test_loss_target_not_a_tensor(name, bad):
    x = _t(3, 3)
    with pytest.raises((TypeError, AttributeError)):  # the oracle: torch refuses a non-Tensor target
        getattr(TF, name)(torch.tensor(x.data), bad)
    with pytest.raises(TypeError, match=rf"^{name}: target"):
        getattr(F, name)(x, bad)


@pytest.mark.parametrize("name", ["l1_loss", "smooth_l1_loss", "huber_loss", "poisson_nll_loss"])
def test_loss_target_shape_mismatch(name):
    x, t = _t(2, 3), _t(4, 5)
    with pytest.raises(RuntimeError):
        getattr(TF, name)(torch.tensor(x.data), torch.tensor(t.data))
    with pytest.raises(ValueError, match=rf"^{name}: input of shape \(2, 3\) and target of shape \(4, 5\)"):
        getattr(F, name)(x, t)


def test_gaussian_nll_loss_none_target_or_var():
    x = _t(3)
    with pytest.raises(TypeError):
        TF.gaussian_nll_loss(torch.tensor(x.data), None, torch.ones(3))
    with pytest.raises(TypeError, match=r"^gaussian_nll_loss: target"):
        F.gaussian_nll_loss(x, None, npg.ones(3))
    with pytest.raises(TypeError, match=r"^gaussian_nll_loss: var"):
        F.gaussian_nll_loss(x, x, None)


@pytest.mark.parametrize("name", ["margin_ranking_loss", "cosine_embedding_loss"])
def test_pair_loss_target_none(name):
    a, b = _t(2, 3), _t(2, 3)
    if name == "margin_ranking_loss":
        a, b = a[0], b[0]
    with pytest.raises((TypeError, AttributeError)):
        getattr(TF, name)(torch.tensor(a.data), torch.tensor(b.data), None)
    with pytest.raises(TypeError, match=rf"^{name}: target must be a tensor, got NoneType"):
        getattr(F, name)(a, b, None)


def test_hinge_embedding_loss_none_target_was_silent():
    # before: F.hinge_embedding_loss(x, None) returned tensor(1.) (None compared unequal to +-1 everywhere)
    x = _t(3, 3)
    with pytest.raises(TypeError):
        TF.hinge_embedding_loss(torch.tensor(x.data), None)
    with pytest.raises(TypeError, match=r"^hinge_embedding_loss: target must be a tensor, got NoneType"):
        F.hinge_embedding_loss(x, None)


# --- NumPy functions without a gradient (npgrad/ops/nondiff.py) and any/all: NumPy's own errors, named ---------

_X = np.random.default_rng(1).standard_normal((2, 3))


@pytest.mark.parametrize("name, call", [
    ("any", lambda m, x: m.any(x, axis=5)),
    ("all", lambda m, x: m.all(x, axis=-3)),
    ("argsort", lambda m, x: m.argsort(x, axis=5)),
    ("count_nonzero", lambda m, x: m.count_nonzero(x, axis=2)),
    ("nanargmax", lambda m, x: m.nanargmax(x, axis=5)),
    ("nanargmin", lambda m, x: m.nanargmin(x, axis=5)),
    ("unique", lambda m, x: m.unique(x, axis=5)),
    ("argpartition", lambda m, x: m.argpartition(x, np.ones((2, 2), int))),
    ("searchsorted", lambda m, x: m.searchsorted(x, 0.5)),
    ("digitize", lambda m, x: m.digitize(x, np.ones((2, 2)))),
    ("allclose", lambda m, x: m.allclose(x, np.ones((4, 5)))),
    ("isclose", lambda m, x: m.isclose(x, np.ones((4, 5)))),
])
def test_nondiff_numpy_errors_name_the_function(name, call):
    with pytest.raises(Exception) as oracle:  # NumPy refuses the same input
        call(np, _X)
    with pytest.raises(type(oracle.value), match=rf"^{name}: "):
        call(npg, npg.tensor(_X))


# --- activations, softmax and dropout on bad input ---------------------------------------------------------

_INT = np.arange(24).reshape(2, 3, 4)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_integer_input(name):
    with pytest.raises(NotImplementedError):  # torch: "softmax_lastdim_kernel_impl" not implemented for 'Long'
        getattr(TF, name)(torch.tensor(_INT), dim=1)
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating point input, got int64"):
        getattr(F, name)(npg.tensor(_INT), dim=1)
    # with dtype= (torch's way to run it on integers) it works, as torch's
    out = getattr(F, name)(npg.tensor(_INT), dim=1, dtype=np.float64)
    ref = getattr(TF, name)(torch.tensor(_INT), dim=1, dtype=torch.float64)
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                  "feature_alpha_dropout"])
def test_dropout_integer_input(name):
    # before: dropout1d/2d/3d silently returned an int tensor (kept values scaled by 1/(1-p) and truncated),
    # dropout a bare "Cannot cast ufunc 'multiply' output"; torch refuses an integer input while training
    x = _INT.reshape((2, 3, 4) if name not in ("dropout3d",) else (1, 2, 3, 4))
    with pytest.raises(RuntimeError):
        getattr(TF, name)(torch.tensor(x), 0.3, training=True)
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating point input, got int64"):
        getattr(F, name)(npg.tensor(x), 0.3, training=True)
    assert getattr(F, name)(npg.tensor(x), 0.3, training=False).dtype == np.int64  # (not training: as it is)


@pytest.mark.parametrize("name", ["dropout", "dropout1d", "alpha_dropout"])
@pytest.mark.parametrize("p", [None, "abc"])
def test_dropout_p_not_a_number(name, p):
    x = _t(2, 3, 4)
    with pytest.raises(TypeError):
        getattr(TF, name)(torch.tensor(x.data), p)
    with pytest.raises(TypeError, match=rf"^{name}: dropout probability must be a number, got {p!r}"):
        getattr(F, name)(x, p)


@pytest.mark.parametrize("name", ["relu_", "elu_", "selu_", "celu_", "hardtanh_", "relu6_", "leaky_relu_",
                                  "rrelu_", "threshold_"])
@pytest.mark.parametrize("bad", [None, "abc"])
def test_inplace_activation_not_a_tensor(name, bad):
    args = (0.5, 0.0) if name == "threshold_" else ()
    with pytest.raises((TypeError, AttributeError)):
        getattr(TF, name)(bad, *args)
    with pytest.raises(TypeError, match=rf"^{name}: expected a Tensor to write into, got {type(bad).__name__}"):
        getattr(F, name)(bad, *args)
