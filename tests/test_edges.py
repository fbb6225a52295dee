"""Edge cases users meet first (issue 12): exact NaN/inf behaviour at the edges of an op's domain,
clear errors, and the original npgrad's API. Every expected value comes from PyTorch or NumPy."""
import re
import sys
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import func
from tests.helpers import assert_close, check_finite_difference

QUIET = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore:.*degrees of freedom:UserWarning")


def _value_and_grad(npg_fn, torch_fn, a, seed=0):
    """Value and gradient of ``sum(f(x) * w)`` in npgrad and PyTorch, for one input."""
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    out, tout = npg_fn(x), torch_fn(t)
    w = np.random.default_rng(seed).uniform(0.5, 1.5, out.shape).astype(out.dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    return out, x.grad, tout.detach().numpy(), t.grad.numpy()


def _hvp(npg_fn, torch_fn, a, seed=0):
    """Second derivative along a direction, ``d/dx <grad sum(f(x) * w), v>``, in npgrad and PyTorch."""
    rng = np.random.default_rng(seed)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    out, tout = npg_fn(x), torch_fn(t)
    w = rng.uniform(0.5, 1.5, out.shape)
    v = rng.standard_normal(np.shape(a))
    (g,) = npg.autograd.grad(npg.sum(out * w), x, create_graph=True)
    (tg,) = torch.autograd.grad((tout * torch.tensor(w)).sum(), t, create_graph=True)
    # a gradient with no graph of its own (a constant) has a zero derivative
    h = npg.autograd.grad(npg.sum(g * v), x)[0] if g.requires_grad else np.zeros(np.shape(a))
    th = torch.autograd.grad((tg * torch.tensor(v)).sum(), t)[0].numpy() if tg.requires_grad else np.zeros(np.shape(a))
    return g, h, tg.detach().numpy(), th


# ------------------------------------------------------------------ std / var at zero degrees of freedom
def _tdim(axis):
    return {} if axis is None else {"dim": axis}


STD_VAR_CASES = [
    # (name, array, axis, ddof)
    ("std", [3.0, 3.0, 3.0], None, 0),          # a constant vector: std 0, gradient 0 (not nan)
    ("std", [3.0, 3.0, 3.0], 0, 1),
    ("std", [3.0], None, 0),                    # one element
    ("std", [[3.0, 3.0], [1.0, 2.0]], 1, 0),    # one constant row among others
    ("std", [[2.0, 2.0, 2.0], [1.0, 5.0, 2.0]], 0, 0),
    ("std", [3.0], None, 1),                    # n == ddof: nan, as torch
    ("std", [1.0, 2.0], None, 3),               # ddof > n
    ("std", [1.0, 2.0], 0, 3),
    ("var", [3.0], None, 1),                    # was a bare ZeroDivisionError in backward; torch gives nan
    ("var", [3.0], 0, 1),
    ("var", [1.0, 2.0], None, 3),               # torch: inf (was finite)
    ("var", [1.0, 2.0], None, 2),
    ("var", [1.0, 1.0], None, 3),
    ("var", [[3.0, 3.0], [1.0, 2.0]], 1, 2),    # n == ddof over an axis: inf times the centred value
    ("var", [[3.0, 3.0], [1.0, 2.0]], 1, 0),
]


@QUIET
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,a,axis,ddof", STD_VAR_CASES)
def test_std_var_degenerate_against_torch(name, a, axis, ddof, dtype):
    a = np.array(a, dtype=dtype)
    tfn = getattr(torch, name)
    out, grad, tout, tgrad = _value_and_grad(lambda x: getattr(npg, name)(x, axis=axis, ddof=ddof),
                                             lambda t: tfn(t, correction=ddof, **_tdim(axis)), a)
    assert_close(out, tout)
    assert grad.dtype == dtype
    assert_close(grad, tgrad)
    # np.std / np.var dispatch to the same op, under func.grad too
    fgrad = func.grad(lambda x: np.sum(getattr(np, name)(x, axis=axis, ddof=ddof)))(a)
    assert_close(fgrad, _torch_sum_grad(tfn, a, axis, ddof))


def _torch_sum_grad(tfn, a, axis, ddof):
    t = torch.tensor(a, requires_grad=True)
    tfn(t, correction=ddof, **_tdim(axis)).sum().backward()
    return t.grad.numpy()


@QUIET
@pytest.mark.parametrize("name,a,axis,ddof", [c for c in STD_VAR_CASES if c[0] == "std" and c[3] == 0])
def test_std_second_derivative_at_zero_std_against_torch(name, a, axis, ddof):
    a = np.array(a)
    g, h, tg, th = _hvp(lambda x: npg.std(x, axis=axis, ddof=ddof),
                        lambda t: torch.std(t, correction=ddof, **_tdim(axis)), a)
    assert_close(g, tg)
    assert_close(h, th)


# ------------------------------------------------------------------ pow at a zero base or exponent
def _torch_second_derivative(f, x0):
    return torch.func.grad(torch.func.grad(f))(torch.tensor(x0, dtype=torch.float64)).item()


@QUIET
@pytest.mark.parametrize("exponent", [0.0, 0, np.array(0.0), np.float64(0.0), 1.0, 2.0, 3])
@pytest.mark.parametrize("x0", [0.0, 1.5, -2.0])
def test_pow_second_derivative_at_zero_against_torch(exponent, x0):
    """d²/dx² x**0 is 0 everywhere, at x = 0 too (was nan: 0 * inf on the way). The exponent given as
    an array is the same function as torch's Python-number exponent."""
    expected = _torch_second_derivative(lambda x: x ** float(exponent), x0)
    actual = func.grad(func.grad(lambda x: x ** exponent))(x0)
    assert_close(np.float64(actual), np.float64(expected))


@QUIET
@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0, 2.5])
def test_pow_python_exponent_hvp_against_torch(exponent):
    a = np.array([0.0, 1.5, 3.0, 0.0])
    g, h, tg, th = _hvp(lambda x: x ** exponent, lambda t: t ** exponent, a)
    assert_close(g, tg)
    assert_close(h, th)


@QUIET
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_zero_base_negative_exponent_gradient_against_torch(dtype):
    """d(0**b)/db is -inf for b < 0 (inf * log 0), as PyTorch (was nan); 0 for b >= 0."""
    b = np.array([-1.0, -0.5, 0.0, 2.0, -3.0], dtype=dtype)
    for base in (0.0, 0, np.zeros(5, dtype), np.array([0.0, 0.0, 0.0, 0.0, 2.0], dtype)):
        tbase = torch.tensor(base) if isinstance(base, np.ndarray) else base
        out, grad, tout, tgrad = _value_and_grad(lambda x: base ** x, lambda t: tbase ** t, b)
        assert_close(out, tout)
        assert grad.dtype == dtype
        assert_close(grad, tgrad)
    # both operands tensors: the base's gradient too
    a = np.zeros(5, dtype)
    xs, ts = [npg.tensor(a), npg.tensor(b)], [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    npg.sum(xs[0] ** xs[1]).backward()
    (ts[0] ** ts[1]).sum().backward()
    assert_close(xs[0].grad, ts[0].grad.numpy())
    assert_close(xs[1].grad, ts[1].grad.numpy())


# ------------------------------------------------------------------ F.normalize, attention: no nan at the edges
NF = npg.nn.functional
TF = torch.nn.functional


def _compare_grads(npg_fn, torch_fn, arrays, seed=0, second=False):
    """Values and gradients of ``sum(f(*xs) * w)`` for every input, and with ``second`` a Hessian-vector
    product, against PyTorch."""
    rng = np.random.default_rng(seed)
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    assert_close(out, tout.detach().numpy(), what="value")
    w = rng.uniform(0.5, 1.5, out.shape).astype(out.dtype)
    gs = npg.autograd.grad(npg.sum(out * w), xs, create_graph=second)
    tgs = torch.autograd.grad((tout * torch.tensor(w)).sum(), ts, create_graph=second)
    for i, (g, tg) in enumerate(zip(gs, tgs)):
        assert np.isfinite(np.asarray(g.data)).all(), f"input {i}: non-finite gradient"
        assert_close(g, tg.detach().numpy(), what=f"grad {i}")
    if second:
        vs = [rng.standard_normal(a.shape) for a in arrays]
        hs = npg.autograd.grad(sum(npg.sum(g * v) for g, v in zip(gs, vs)), xs, allow_unused=True)
        ths = torch.autograd.grad(sum((tg * torch.tensor(v)).sum() for tg, v in zip(tgs, vs)), ts, allow_unused=True)
        for i, (h, th, a) in enumerate(zip(hs, ths, arrays)):
            assert_close(np.zeros(a.shape) if h is None else h,
                         np.zeros(a.shape) if th is None else th.numpy(), what=f"second derivative {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_normalize_zero_vector_gradient_against_torch(p, dtype):
    """A zero vector normalizes to 0 with the gradient 1 / eps of x / eps (was nan)."""
    a = np.array([[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [0.0, 0.0, 0.0]], dtype=dtype)
    for dim, eps in ((1, 1e-12), (0, 1e-12), (1, 0.5)):
        _compare_grads(lambda x: NF.normalize(x, p=p, dim=dim, eps=eps),
                       lambda t: TF.normalize(t, p=p, dim=dim, eps=eps), [a])


def _attention_inputs(dtype, S=5):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in ((2, 3, 4), (2, S, 4), (2, S, 6))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_attention_fully_masked_row_against_torch(kind, dtype):
    """A query row that may attend to no key gives 0 and zero gradients, as PyTorch (was nan)."""
    allowed = np.ones((3, 5), dtype=bool)
    allowed[1] = False
    allowed[2, :3] = False
    mask = allowed if kind == "bool" else np.where(allowed, 0.0, -np.inf).astype(dtype)
    _compare_grads(lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                   lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
                   _attention_inputs(dtype))


def test_attention_fully_masked_row_second_derivative_against_torch():
    mask = np.ones((2, 3, 5), dtype=bool)
    mask[0, 1] = False
    _compare_grads(lambda q, k, v: NF.scaled_dot_product_attention(q, k, v, attn_mask=mask),
                   lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(mask)),
                   _attention_inputs(np.float64), second=True)


def test_attention_without_keys_against_torch():
    """No keys at all (S = 0): zeros, as PyTorch (was a NumPy error about a zero-size reduction)."""
    q, k, v = _attention_inputs(np.float64, S=0)
    out = NF.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v))
    tout = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    assert_close(out, tout.numpy())


# ------------------------------------------------------------------ one_hot: indices out of range are errors
@pytest.mark.parametrize("indices,num_classes", [([1, 5], 3), ([1, -1], 3), ([1, -1], -1), ([[0, 3], [2, 1]], 3),
                                                 ([], -1)])
def test_one_hot_out_of_range_raises_as_torch(indices, num_classes):
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(indices, dtype=torch.int64), num_classes)
    with pytest.raises((IndexError, ValueError), match="one_hot"):
        NF.one_hot(np.array(indices, dtype=np.int64), num_classes)


@pytest.mark.parametrize("indices,num_classes", [([1, 2], 3), ([0, 2, 2], -1), ([[0, 3], [2, 1]], 4), ([], 3)])
def test_one_hot_against_torch(indices, num_classes):
    out = NF.one_hot(npg.tensor(np.array(indices, dtype=np.int64)), num_classes)
    tout = TF.one_hot(torch.tensor(indices, dtype=torch.int64), num_classes)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, tout.numpy())


def test_one_hot_refuses_float_indices():
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor([1.0]), 3)
    with pytest.raises(TypeError, match="one_hot.*integers"):
        NF.one_hot(np.array([1.0]), 3)


# ------------------------------------------------------------------ losses: a target that broadcasts
REGRESSION_LOSSES = [("mse_loss", "MSELoss"), ("l1_loss", "L1Loss"), ("smooth_l1_loss", "SmoothL1Loss")]


def _warnings_of(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [w for w in caught if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("name,module", REGRESSION_LOSSES)
@pytest.mark.parametrize("shapes", [((4, 1), (4,)), ((4,), (1,)), ((3, 4), (4,))])
def test_regression_loss_warns_on_broadcast_target_as_torch(name, module, shapes):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    tout, twarn = _warnings_of(lambda: getattr(TF, name)(torch.tensor(a), torch.tensor(b)))
    assert len(twarn) == 1 and "target size" in str(twarn[0].message)
    out, warned = _warnings_of(lambda: getattr(NF, name)(npg.tensor(a), npg.tensor(b)))
    assert len(warned) == 1, [str(w.message) for w in warned]
    message = str(warned[0].message)
    assert name in message and "target size" in message and "broadcasting" in message
    assert str(shapes[0]) in message and str(shapes[1]) in message
    assert warned[0].filename == __file__  # it points at the caller's line
    assert_close(out, tout.numpy())  # (the loss is still computed, broadcast, as PyTorch)
    _, warned = _warnings_of(lambda: getattr(npg.nn, module)()(npg.tensor(a), b))
    assert len(warned) == 1


@pytest.mark.parametrize("name,module", REGRESSION_LOSSES)
def test_regression_loss_same_shape_does_not_warn(name, module):
    a = np.ones((4, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(NF, name)(npg.tensor(a), a * 2)
        getattr(npg.nn, module)()(npg.tensor(a), npg.tensor(a * 2))


@pytest.mark.parametrize("name", ["binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_binary_cross_entropy_refuses_broadcast_target_as_torch(name):
    a, b = np.full((4, 1), 0.5), np.full((4,), 0.5)
    with pytest.raises(ValueError):
        getattr(TF, name)(torch.tensor(a), torch.tensor(b))
    with pytest.raises(ValueError, match=name):
        getattr(NF, name)(npg.tensor(a), b)


# ------------------------------------------------------------------ binary cross-entropy: nan and range checks
@pytest.mark.parametrize("input,target", [([0.5, np.nan], [1.0, 0.0]), ([0.5, 1.5], [1.0, 0.0]),
                                          ([-0.1, 0.5], [1.0, 0.0]), ([0.5, 0.5], [np.nan, 0.0]),
                                          ([0.5, 0.5], [2.0, 0.0]), ([0.5, 0.5], [1.0, -1.0])])
def test_binary_cross_entropy_refuses_nan_and_out_of_range_as_torch(input, target):
    x, t = np.array(input), np.array(target)
    with pytest.raises(RuntimeError, match="should be between 0 and 1"):
        TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t))
    with pytest.raises(ValueError, match="binary_cross_entropy.*should be between 0 and 1"):
        NF.binary_cross_entropy(npg.tensor(x), t)
    with pytest.raises(ValueError, match="should be between 0 and 1"):
        npg.nn.BCELoss()(npg.tensor(x), npg.tensor(t))


def test_binary_cross_entropy_with_logits_passes_nan_as_torch():
    """The logits variant has no range to check: a nan input gives a nan loss, in PyTorch too."""
    x, t = np.array([0.5, np.nan]), np.array([1.0, 0.0])
    out = NF.binary_cross_entropy_with_logits(npg.tensor(x), t)
    assert_close(out, TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t)).numpy())


# ------------------------------------------------------------------ convolutions: a size-0 kernel is an error
@pytest.mark.parametrize("name,x_shape,w_shape", [
    ("conv1d", (1, 2, 5), (3, 2, 0)),
    ("conv2d", (1, 2, 5, 5), (3, 2, 0, 3)),
    ("conv2d", (1, 2, 5, 5), (3, 2, 1, 0)),
    ("conv2d", (2, 5, 5), (3, 2, 0, 0)),            # unbatched
    ("conv3d", (1, 2, 4, 4, 4), (3, 2, 1, 0, 1)),
    ("conv_transpose1d", (1, 2, 5), (2, 3, 0)),
    ("conv_transpose2d", (1, 2, 5, 5), (2, 3, 0, 3)),
    ("conv_transpose3d", (1, 2, 4, 4, 4), (2, 3, 2, 2, 0)),
])
def test_conv_size_zero_kernel_raises_as_torch(name, x_shape, w_shape):
    x, w = np.ones(x_shape), np.ones(w_shape)
    with pytest.raises(RuntimeError, match="kernel size should be greater than zero|non-empty"):
        getattr(TF, name)(torch.tensor(x), torch.tensor(w))
    with pytest.raises(ValueError, match=f"{name}: kernel size must be greater than zero"):
        getattr(NF, name)(npg.tensor(x), npg.tensor(w))
    for padding in (1, "same") if not name.startswith("conv_transpose") else (1,):
        with pytest.raises(ValueError, match="kernel size"):
            getattr(NF, name)(npg.tensor(x), w, padding=padding)


# ------------------------------------------------------------------ astype: only numeric and bool dtypes
@pytest.mark.parametrize("dtype", [str, "U3", bytes, object, "datetime64[s]"])
def test_astype_refuses_non_numeric_dtypes(dtype):
    assert np.ones(3).astype(dtype).dtype.kind not in "biufc"  # NumPy converts; a Tensor cannot hold the result
    x = npg.tensor([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="astype: unsupported dtype"):
        x.astype(dtype)
    with pytest.raises(TypeError, match="astype: unsupported dtype"):
        npg.astype(x, dtype)


@pytest.mark.parametrize("dtype", [bool, np.int8, np.int32, np.uint16, np.float16, np.float32, "float64"])
def test_astype_numeric_dtypes_as_numpy(dtype):
    a = np.array([0.0, 1.5, -2.0, 3.0])
    out = npg.tensor(a).astype(dtype)
    assert out.dtype == a.astype(dtype).dtype
    np.testing.assert_array_equal(out.data, a.astype(dtype))


# ------------------------------------------------------------------ clear errors: arange, foreign ufuncs
@pytest.mark.parametrize("args", [(0, 10, 0), (0.0, 1.0, 0.0), (5, 1, 0)])
def test_arange_zero_step_is_a_clear_error(args):
    with pytest.raises(ValueError, match="must not be zero"):
        range(*(int(a) for a in args))  # Python's own range: a ValueError
    with pytest.raises(ZeroDivisionError):
        np.arange(*args)  # NumPy: a bare "division by zero"
    with pytest.raises(ValueError, match=r"arange: step must not be zero"):
        npg.arange(*args)
    np.testing.assert_array_equal(npg.arange(0, 10, 3).data, np.arange(0, 10, 3))  # other steps as NumPy
    np.testing.assert_array_equal(npg.arange(5, 1, -1).data, np.arange(5, 1, -1))


def test_foreign_ufunc_error_names_its_module(monkeypatch):
    """A ufunc that is not NumPy's (SciPy's have no ``__module__``) is named by the module exporting it."""
    import types
    ufunc = np.frompyfunc(lambda x: x, 1, 1)
    assert getattr(ufunc, "__module__", None) is None
    module = types.ModuleType("fakescipy.special")
    setattr(module, ufunc.__name__, ufunc)
    monkeypatch.setitem(sys.modules, "fakescipy.special", module)
    monkeypatch.setitem(sys.modules, "fakescipy.special._ufuncs", module)  # the shortest name is chosen
    with pytest.raises(TypeError, match=re.escape(f"npgrad does not implement fakescipy.special.{ufunc.__name__} ")):
        ufunc(npg.tensor([1.0]))
    with pytest.raises(TypeError, match="npgrad does not implement numpy.isnat for Tensors"):
        np.isnat(npg.tensor([1.0]))  # (a datetime ufunc: tensors hold no datetime64 data)
    with pytest.raises(TypeError, match=r"npgrad does not implement numpy.add.reduceat for Tensors"):
        np.add.reduceat(npg.tensor([1.0]), [0])


def test_scipy_special_ufunc_error_names_scipy():
    from scipy import special  # (the test extra installs SciPy)
    for name in ("ellipk", "spence", "dawsn"):  # (erf, gammaln, expit... are npg.special's: tests/test_special.py)
        with pytest.raises(TypeError, match=f"npgrad does not implement scipy.special.{name} for Tensors"):
            getattr(special, name)(npg.tensor([0.5]))


# ------------------------------------------------------------------ func.vjp: NumPy in, NumPy out
def _t(a):
    return torch.tensor(np.asarray(a, dtype=np.float64))


def test_vjp_of_a_function_calling_an_earlier_vjp_fn_returns_numpy():
    _, f = func.vjp(np.tanh, np.ones(3))
    _, tf = torch.func.vjp(torch.tanh, _t(np.ones(3)))
    value, g = func.vjp(lambda u: f(u)[0], np.zeros(3))
    tvalue, tg = torch.func.vjp(lambda u: tf(u)[0], _t(np.zeros(3)))
    (grad,) = g(np.ones(3))
    (tgrad,) = tg(_t(np.ones(3)))
    assert type(value) is np.ndarray and type(grad) is np.ndarray  # were Tensors
    assert_close(value, tvalue.numpy())
    assert_close(grad, tgrad.numpy())
    # the same inside grad: a NumPy gradient, torch's value
    d = func.grad(lambda u: np.sum(f(u)[0] ** 2))(np.full(3, 0.5))
    assert type(d) is np.ndarray
    assert_close(d, torch.func.grad(lambda u: (tf(u)[0] ** 2).sum())(_t(np.full(3, 0.5))).numpy())


def test_vjp_fn_inside_grad_still_records_what_an_enclosing_grad_needs():
    """The closure case: the inner vjp reads the outer input x, so its result must carry x's graph."""
    def inner(x):
        return func.vjp(lambda y: np.sin(x * y), 1.0)[1](1.0)[0]   # d/dy sin(xy) at y = 1: x cos x

    def tinner(x):
        return torch.func.vjp(lambda y: torch.sin(x * y), _t(1.0))[1](_t(1.0))[0]
    d = func.grad(inner)(2.0)
    assert_close(np.float64(d), torch.func.grad(tinner)(_t(2.0)).numpy())
    # Tensor inputs keep giving Tensors
    _, f = func.vjp(np.tanh, npg.tensor(np.ones(3)))
    value, g = func.vjp(lambda u: f(u)[0], npg.tensor(np.zeros(3)))
    assert isinstance(value, npg.Tensor) and isinstance(g(np.ones(3))[0], npg.Tensor)


# ------------------------------------------------------------------ npg.float32 / npg.float64 are NumPy's
@pytest.mark.parametrize("name", ["float32", "float64"])
def test_float_dtypes_are_numpy_dtype_classes(name):
    ours, theirs = getattr(npg, name), getattr(np, name)
    assert ours is theirs
    assert ours(1.5) == theirs(1.5) and type(ours(1.5)) is theirs       # callable as a scalar type
    assert isinstance(theirs(2.0), ours)
    x = npg.tensor([1.0, 2.0], dtype=ours)
    assert x.dtype == np.dtype(theirs) and x.dtype.type is ours
    assert npg.zeros(2, dtype=ours).dtype.type is theirs and npg.ones((2,), dtype=ours).dtype.type is theirs
    assert npg.arange(3, dtype=ours).dtype.type is theirs and npg.eye(2, dtype=ours).dtype.type is theirs
    assert x.astype(ours).dtype.type is theirs and npg.astype(x, ours).dtype.type is theirs
    assert np.zeros(2, dtype=ours).dtype.type is theirs                # NumPy takes it too
    before = npg.get_default_dtype()
    try:
        npg.set_default_dtype(ours)
        assert npg.get_default_dtype() == np.dtype(theirs) and npg.randn(2).dtype.type is theirs
        assert npg.tensor([1.0]).dtype.type is theirs
    finally:
        npg.set_default_dtype(before)


# ------------------------------------------------------------------ the original npgrad's API
def test_reshape_accepts_shape_and_newshape_keywords():
    a = np.arange(12.0)
    expected = np.reshape(a, shape=(3, 4))           # NumPy 2.1+'s keyword; newshape= is its older name
    for call in (lambda x: npg.reshape(x, newshape=(3, 4)), lambda x: npg.reshape(x, shape=(3, 4)),
                 lambda x: np.reshape(x, shape=(3, 4)), lambda x: np.reshape(x, (3, 4), order="C"),
                 lambda x: npg.reshape(x, newshape=[3, -1])):
        x = npg.tensor(a)
        out = call(x)
        np.testing.assert_array_equal(out.data, expected)
        t = torch.tensor(a, requires_grad=True)
        w = np.random.default_rng(0).standard_normal((3, 4))
        npg.sum(out * w).backward()
        (t.reshape(3, 4) * torch.tensor(w)).sum().backward()
        assert_close(x.grad, t.grad.numpy())
    np.testing.assert_array_equal(npg.reshape(npg.tensor(a), newshape=12).data, np.reshape(a, shape=12))


def test_reshape_shape_given_twice_or_not_at_all_is_an_error():
    x = npg.tensor(np.arange(6.0))
    with pytest.raises(TypeError):
        np.reshape(np.arange(6.0), (2, 3), shape=(3, 2))   # NumPy refuses it too
    for call in (lambda: npg.reshape(x, (2, 3), shape=(3, 2)), lambda: npg.reshape(x, shape=(2, 3), newshape=(2, 3)),
                 lambda: npg.reshape(x)):
        with pytest.raises(TypeError, match="reshape: give the new shape exactly once"):
            call()


@pytest.mark.parametrize("axis", [0, -1, None])
@pytest.mark.parametrize("repeats", [3, [2], 0])
def test_repeat_of_0d_tensor_as_numpy(repeats, axis):
    a = np.array(2.5)
    expected = np.repeat(a, repeats, axis=axis)
    out = npg.repeat(npg.tensor(a), repeats, axis=axis)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.data, expected)
    check_finite_difference(lambda x: npg.repeat(x, repeats, axis=axis) * 1.5, [a], what="repeat 0-d")
    with pytest.raises(np.exceptions.AxisError):
        np.repeat(a, 3, axis=1)
    with pytest.raises(np.exceptions.AxisError):
        npg.repeat(npg.tensor(a), 3, axis=1)
