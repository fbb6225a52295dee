"""NumPy interop: ``np.asarray(t)`` gives the data, and NumPy ufuncs / functions applied to tensors
dispatch to npgrad (``__array_ufunc__`` / ``__array_function__``) and return differentiable tensors.
Each case is checked for type, value (against NumPy on the raw arrays) and gradient (central
finite differences; a few also against PyTorch)."""
import warnings

import numpy as np
import pytest

import npgrad as npg
import torch
from tests.helpers import assert_close, check_finite_difference

R = np.random.default_rng(0)
POS = lambda s: R.uniform(0.5, 2.0, s)  # noqa: E731
REAL = lambda s: R.standard_normal(s)  # noqa: E731
AWAY = lambda s: R.choice([-1.0, 1.0], s) * R.uniform(0.3, 1.5, s)  # noqa: E731
IDX = np.array([[0, 2], [1, 1]])

# name -> (fn applied to tensors and to arrays alike, input makers, differentiable)
CASES = {
    # ufuncs, one argument
    "exp": (np.exp, [REAL((2, 3))]),
    "expm1": (np.expm1, [REAL((3,))]),
    "log": (np.log, [POS((2, 3))]),
    "log1p": (np.log1p, [POS((3,))]),
    "log2": (np.log2, [POS((3,))]),
    "log10": (np.log10, [POS((3,))]),
    "sqrt": (np.sqrt, [POS((2, 2))]),
    "square": (np.square, [REAL((3,))]),
    "reciprocal": (np.reciprocal, [AWAY((3,))]),
    "sin": (np.sin, [REAL((3,))]),
    "cos": (np.cos, [REAL((3,))]),
    "tan": (np.tan, [R.uniform(-1, 1, 3)]),
    "tanh": (np.tanh, [REAL((2, 3))]),
    "absolute": (np.absolute, [AWAY((3,))]),
    "abs": (np.abs, [AWAY((3,))]),
    "fabs": (np.fabs, [AWAY((3,))]),
    "negative": (np.negative, [REAL((3,))]),
    "positive": (np.positive, [REAL((3,))]),
    "sign": (np.sign, [AWAY((3,))]),
    "floor": (np.floor, [REAL((3,)) * 3]),
    "ceil": (np.ceil, [REAL((3,)) * 3]),
    "rint": (np.rint, [REAL((3,)) * 3]),
    # ufuncs, two arguments (tensor-tensor and tensor-array)
    "add": (np.add, [REAL((2, 3)), REAL((3,))]),
    "subtract": (np.subtract, [REAL((2, 3)), REAL((2, 1))]),
    "multiply": (np.multiply, [REAL((2, 3)), REAL(())]),
    "divide": (np.divide, [REAL((3,)), AWAY((3,))]),
    "true_divide": (np.true_divide, [REAL((3,)), AWAY((2, 3))]),
    "power": (np.power, [POS((3,)), REAL((3,))]),
    "float_power": (np.float_power, [POS((3,)), REAL((3,))]),
    "maximum": (np.maximum, [REAL((3,)), REAL((3,))]),
    "minimum": (np.minimum, [REAL((2, 3)), REAL((3,))]),
    "remainder": (np.remainder, [REAL((3,)) * 3, AWAY((3,))]),
    "floor_divide": (np.floor_divide, [REAL((3,)) * 3, AWAY((3,))]),
    "matmul_ufunc": (np.matmul, [REAL((2, 3)), REAL((3, 4))]),
    "matmul_array_tensor": (lambda t: np.matmul(np.arange(6.0).reshape(2, 3), t), [REAL((3, 2))]),
    "add_array_tensor": (lambda t: np.add(np.ones(3), t), [REAL((2, 3))]),
    # array functions: reductions
    "sum_axis0": (lambda t: np.sum(t, axis=0), [REAL((2, 3))]),
    "sum_keepdims": (lambda t: np.sum(t, axis=(0, 2), keepdims=True), [REAL((2, 3, 2))]),
    "mean": (lambda t: np.mean(t, axis=-1), [REAL((2, 3))]),
    "max": (lambda t: np.max(t, axis=1), [REAL((2, 3))]),
    "amin": (lambda t: np.amin(t), [REAL((2, 3))]),
    "prod": (lambda t: np.prod(t, axis=0), [POS((3, 2))]),
    "var": (lambda t: np.var(t, axis=0), [REAL((4, 2))]),
    "std": (lambda t: np.std(t, ddof=1), [REAL((4,))]),
    "cumsum": (lambda t: np.cumsum(t, axis=1), [REAL((2, 3))]),
    "cumprod": (lambda t: np.cumprod(t), [REAL((2, 2))]),
    # array functions: shapes
    "reshape": (lambda t: np.reshape(t, (3, 2)), [REAL((2, 3))]),
    "ravel": (np.ravel, [REAL((2, 3))]),
    "transpose": (lambda t: np.transpose(t, (1, 0, 2)), [REAL((2, 3, 2))]),
    "swapaxes": (lambda t: np.swapaxes(t, 0, 1), [REAL((2, 3))]),
    "moveaxis": (lambda t: np.moveaxis(t, 0, -1), [REAL((2, 3, 4))]),
    "squeeze": (np.squeeze, [REAL((1, 3, 1))]),
    "expand_dims": (lambda t: np.expand_dims(t, 1), [REAL((2, 3))]),
    "broadcast_to": (lambda t: np.broadcast_to(t, (4, 3)), [REAL((3,))]),
    "concatenate": (lambda t, u: np.concatenate([t, u]), [REAL((2, 3)), REAL((1, 3))]),
    "concatenate_mixed": (lambda t: np.concatenate([t, np.ones((2, 1))], axis=1), [REAL((2, 3))]),
    "stack": (lambda t, u: np.stack([t, u], axis=1), [REAL((3,)), REAL((3,))]),
    "split": (lambda t: np.split(t, 2, axis=1)[1] * 2, [REAL((2, 4))]),
    "flip": (lambda t: np.flip(t, axis=0), [REAL((3, 2))]),
    "pad": (lambda t: np.pad(t, ((1, 0), (2, 1))), [REAL((2, 2))]),
    "repeat": (lambda t: np.repeat(t, 2, axis=0), [REAL((2, 3))]),
    "tile": (lambda t: np.tile(t, (2, 1)), [REAL((2, 3))]),
    "where": (lambda t, u: np.where(np.array([True, False, True]), t, u), [REAL((3,)), REAL((2, 3))]),
    "clip": (lambda t: np.clip(t, -0.5, 0.5), [REAL((5,))]),
    "round": (lambda t: np.round(t), [REAL((3,)) * 3]),
    # contractions and indexing
    "dot": (np.dot, [REAL((2, 3)), REAL((3,))]),
    "inner": (np.inner, [REAL((2, 3)), REAL((4, 3))]),
    "outer": (np.outer, [REAL((3,)), REAL((2,))]),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=1), [REAL((2, 3)), REAL((3, 2))]),
    "einsum": (lambda a, b: np.einsum("ij,jk->ki", a, b), [REAL((2, 3)), REAL((3, 4))]),
    "take": (lambda t: np.take(t, [0, 4, 4]), [REAL((2, 3))]),
    "take_along_axis": (lambda t: np.take_along_axis(t, IDX, axis=1), [REAL((2, 3))]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_call_dispatches_and_differentiates(name):
    fn, arrays = CASES[name]
    xs = [npg.tensor(a) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = fn(*xs)
        expected = fn(*arrays)
    assert isinstance(out, npg.Tensor), f"np.{name} returned {type(out).__name__}"
    assert out.requires_grad
    assert_close(out, expected, what=name)
    check_finite_difference(fn, arrays, what=name)


def test_at_least_thirty_numpy_names():
    assert len(CASES) >= 30


def test_gradients_match_torch_for_numpy_calls():
    import torch
    a = R.standard_normal((3, 4))
    b = R.standard_normal((4,))
    m = R.standard_normal((2, 3))
    x, u = npg.tensor(a), npg.tensor(b)
    tx, tu = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out = np.sum(np.exp(np.matmul(m, x)) * u, axis=0) + np.concatenate([u, np.tanh(u)])[:4]
    tout = torch.sum(torch.exp(torch.tensor(m) @ tx) * tu, 0) + torch.cat([tu, torch.tanh(tu)])[:4]
    assert_close(out, tout.detach().numpy())
    npg.sum(out).backward()
    tout.sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    assert_close(u.grad, tu.grad.numpy())


def test_float32_stays_float32_through_numpy_calls():
    x = npg.tensor(np.array([0.5, 2.0], dtype=np.float32))
    y = np.sqrt(np.exp(x) * 2.5) + np.sum(x)
    assert y.dtype == np.float32
    npg.sum(y).backward()
    assert x.grad.dtype == np.float32
    assert np.float_power(x, 2).dtype == np.float_power(x.data, 2).dtype == np.float64  # as NumPy


def test_asarray_gives_the_data_when_no_graph_is_cut():
    c = npg.tensor([1.0, 2.0], requires_grad=False)
    assert np.asarray(c) is c.data
    assert np.asarray(c, dtype=np.float32).dtype == np.float32
    assert np.array(c).tolist() == [1.0, 2.0]
    x = npg.tensor([1.0, 2.0])
    with npg.no_grad():
        assert np.asarray(x) is x.data          # free under no_grad
    assert np.asarray(x.detach()).tolist() == [1.0, 2.0] and x.numpy() is x.data


# NumPy entry points that cannot dispatch to npgrad: each would compute on plain arrays and lose the
# gradient (PyTorch raises "Can't call numpy() on Tensor that requires grad" in the same places)
GRAPH_CUTS = {
    "np.mean(list)": lambda a, b: np.mean([a, b + 2]),
    "np.array(list)": lambda a, b: np.array([a, b]),
    "np.sum(list)": lambda a, b: np.sum([a, b]),
    "np.max(list)": lambda a, b: np.max([a, b]),
    "np.full": lambda a, b: np.full((2,), a),
    "np.r_": lambda a, b: np.r_[a, b],
    "np.c_": lambda a, b: np.c_[a, b],
    "np.asarray": lambda a, b: np.asarray(a),
}


@pytest.mark.parametrize("name", list(GRAPH_CUTS))
def test_numpy_calls_that_would_cut_the_graph_raise(name):
    a, b = npg.tensor(0.5), npg.tensor(1.5)
    with pytest.raises(RuntimeError, match=r"requires grad.*\.detach\(\)"):
        GRAPH_CUTS[name](a, b)
    with npg.no_grad():
        GRAPH_CUTS[name](a, b)                  # under no_grad: plain values, no error


def test_func_grad_of_a_list_mean_raises_instead_of_returning_zero():
    with pytest.raises(RuntimeError, match="npg.stack"):
        npg.func.grad(lambda x: np.mean([x, x + 2]))(0.0)
    assert npg.func.grad(lambda x: npg.mean(npg.stack([x, x + 2])))(0.0) == 1.0


def test_conversion_to_torch_and_formatting():
    c = npg.tensor([[1.0, 2.0]], requires_grad=False)
    t = torch.tensor(c)
    assert t.dtype == torch.float64 and t.tolist() == [[1.0, 2.0]]
    assert torch.as_tensor(c).tolist() == [[1.0, 2.0]]
    assert torch.tensor(npg.tensor(3.5, requires_grad=False)).item() == 3.5   # 0-d
    x = npg.tensor([1.0])
    with pytest.raises(RuntimeError, match="detach"):
        torch.tensor(x)
    assert torch.tensor(x.detach()).tolist() == [1.0]
    loss = npg.sum(x * 2.0)
    assert f"{loss:.4f}" == f"{np.float64(2.0):.4f}" == "2.0000"
    assert f"{loss}" == f"{torch.tensor(2.0, dtype=torch.float64, requires_grad=True) * 1}" == "2.0"
    with pytest.raises(TypeError):
        f"{x:.2f}"                               # as NumPy arrays and PyTorch tensors of more than 0 dims


def test_non_differentiable_results():
    x = npg.tensor([1.0, np.nan, 3.0])
    for out in (np.isnan(x), np.argmax(x), np.equal(x, 1.0), np.greater(x, 2.0)):
        assert isinstance(out, npg.Tensor) and not out.requires_grad
    assert np.shape(x) == (3,) and np.ndim(x) == 1 and np.size(x) == 3


@pytest.mark.parametrize("call,name", [
    (lambda t: np.lib.stride_tricks.sliding_window_view(t, 2), "sliding_window_view"),  # (np.fft dispatches)
    (lambda t: np.isnat(t), "isnat"),  # (every np.linalg function dispatches: tests/test_linalg.py)
    (lambda t: np.add.reduceat(t, [0, 2]), "add.reduceat"),  # (outer/reduce/accumulate/at: test_numpy_ports.py)
    (lambda t: np.exp(t, out=np.empty(4)), "exp"),
    (lambda t: np.divide.accumulate(t), "divide.accumulate"),
    (lambda t: np.add.reduce(t, out=np.empty(())), "add.reduce"),
    (lambda t: np.cumsum(t, out=np.empty(4)), "cumsum"),
])
def test_unsupported_numpy_calls_raise_type_error_naming_them(call, name):
    t = npg.tensor(np.eye(2).reshape(4) + 1.0) if "linalg" not in name else npg.tensor(np.eye(2) + 1.0)
    with pytest.raises(TypeError, match=name.replace(".", r"\.")):
        call(t)


def test_positive_copies_and_fabs_refuses_complex_as_numpy():
    a = np.array([1.5, -2.0], dtype=np.float32)
    x = npg.tensor(a.copy())
    y = np.positive(x)                      # NumPy: a new array, not an alias
    assert y is not x and not np.shares_memory(y.data, x.data) and y.dtype == np.float32
    y.data[0] = 7.0
    assert x.data[0] == 1.5
    (np.positive(x) * np.arange(2.0)).sum().backward()
    np.testing.assert_array_equal(x.grad, np.arange(2.0))
    np.testing.assert_array_equal(np.fabs(x).data, np.fabs(a))
    with pytest.raises(TypeError):
        np.fabs(np.array([1 + 1j]))           # NumPy refuses complex fabs ...
    with pytest.raises(TypeError, match="fabs"):
        np.fabs(npg.tensor(np.array([1 + 1j])))   # ... and so does npgrad, naming the op
    with pytest.raises(TypeError):
        np.positive(np.array([True]))
    with pytest.raises(TypeError, match="positive"):
        np.positive(npg.tensor(np.array([True])))


def test_graph_cut_error_names_the_npgrad_function_of_the_same_name():
    """A SciPy/NumPy function that cannot dispatch to npgrad converts the tensor to an array: the error names
    the npgrad function a user should call instead, when npgrad has one of that name and namespace."""
    import scipy.special
    x = npg.tensor([0.5, 1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"scipy\.special\.logsumexp cannot dispatch to npgrad: use "
                                           r"npg\.special\.logsumexp instead"):
        scipy.special.logsumexp(x)
    assert float(npg.special.logsumexp(x).data) == pytest.approx(scipy.special.logsumexp(x.data))
    with pytest.raises(RuntimeError, match=r"npg\.stack") as e:   # np.r_ is no function: the general advice only
        np.r_[x, x]
    assert "cannot dispatch to npgrad: use" not in str(e.value)
