"""Hunt for wrong answers from array layout and dtype variants: the same numbers in another byte order, memory
layout or container must give the values and gradients of a plain C-contiguous native array (checked against
PyTorch, which is given the native copy), or a clear error naming the op."""
import pickle
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import assert_close

A = np.array([[0.3, -1.2, 0.8, 2.0], [1.5, -0.4, 0.1, -0.9], [-0.7, 0.9, 2.0, 0.6]])
W = np.array([[1.0, 0.5, -2.0, 0.3], [0.3, -1.1, 0.7, 1.2], [1.4, 0.2, -0.6, -0.8]])


def _big(a):
    """``a``'s values in big-endian byte order (non-native on the little-endian machines npgrad runs on)."""
    return a.astype(a.dtype.newbyteorder(">"))


def _torch_grad(f, a):
    x = torch.tensor(a, requires_grad=True)
    (f(torch, x) * torch.tensor(W.astype(a.dtype))).sum().backward()
    return x.grad.numpy()


BYTE_ORDER_OPS = {
    "abs": lambda T, x: T.abs(x),
    "mul": lambda T, x: x * x,
    "exp": lambda T, x: T.exp(x),
    "cdist": lambda T, x: T.cdist(x, x * 1.5) @ x,
}


@pytest.mark.parametrize("ctor", ["tensor", "Tensor", "as_tensor", "asarray", "array", "Parameter"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_creation_swaps_a_big_endian_array_into_native_order(ctor, dtype):
    a = A.astype(dtype)
    make = npg.nn.Parameter if ctor == "Parameter" else getattr(npg, ctor)
    t = make(_big(a))
    assert t.dtype == np.dtype(dtype) and t.dtype.isnative
    assert t.data.tobytes() == a.tobytes()


@pytest.mark.parametrize("name", sorted(BYTE_ORDER_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_of_a_big_endian_leaf_has_the_native_dtype_and_torch_value(name, dtype):
    # before: the leaf kept '>f8', its gradient came back '<f8' (another dtype than the tensor's), and abs's
    # backward raised NumPy's bare TypeError about ufunc dtype= and byte order; cdist refused '>f8' with 'float64'
    f = BYTE_ORDER_OPS[name]
    a = A.astype(dtype)
    x = npg.tensor(_big(a))
    npg.sum(f(npg, x) * W.astype(dtype)).backward()
    assert x.grad.dtype == x.dtype == np.dtype(dtype)
    assert_close(x.grad, _torch_grad(f, a), dtype)


def test_big_endian_constant_of_a_unary_op_is_native():
    t = npg.exp(_big(A))
    assert t.dtype == np.float64 and t.dtype.isnative
    assert_close(t.data, np.exp(A), np.float64)


def test_asarray_copy_false_refuses_a_big_endian_array():
    with pytest.raises(ValueError, match="asarray: unable to avoid a copy"):
        npg.asarray(_big(A), copy=False)


def test_from_numpy_refuses_a_big_endian_array_as_torch():
    with pytest.raises(ValueError, match="from_numpy: the array's byte order"):
        npg.from_numpy(_big(A))
    with pytest.raises(ValueError):
        torch.from_numpy(_big(A))


def _read_only(a):
    a = a.copy()
    a.flags.writeable = False
    return a


READ_ONLY_ARRAYS = {"writeable=False": lambda: _read_only(A), "broadcast_to": lambda: np.broadcast_to(A[0], A.shape)}


@pytest.mark.parametrize("make", sorted(READ_ONLY_ARRAYS))
@pytest.mark.parametrize("name", ["SGD", "Adam", "LBFGS"])
def test_optimizer_step_names_a_read_only_parameter_before_updating_anything(make, name):
    # before: NumPy's bare "output array is read-only" from inside the update, after the optimizer's state had
    # already moved (Adam's moments, SGD's momentum buffer) for a parameter left as it was
    free = npg.nn.Parameter(W.copy())
    p = npg.nn.Parameter(READ_ONLY_ARRAYS[make]())
    opt = getattr(npg.optim, name)([free, p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = npg.sum(free * p)
        loss.backward()
        return loss
    closure()
    with pytest.raises(ValueError, match=rf"{name}\.step: parameter 1 of param group 0 .*read-only"):
        opt.step(closure)
    np.testing.assert_array_equal(free.data, W)  # nothing updated
    assert not opt.state.get(free)


@pytest.mark.parametrize("make", sorted(READ_ONLY_ARRAYS))
@pytest.mark.parametrize("init", ["normal_", "zeros_", "orthogonal_", "kaiming_uniform_"])
def test_nn_init_names_itself_for_a_read_only_tensor(make, init):
    with pytest.raises(ValueError, match=rf"nn\.init\.{init}: the tensor .*read-only"):
        getattr(npg.nn.init, init)(npg.nn.Parameter(READ_ONLY_ARRAYS[make]()))


def test_vector_to_parameters_refuses_a_read_only_parameter_before_writing_any():
    first = npg.nn.Parameter(np.zeros(2))
    with pytest.raises(ValueError, match=r"vector_to_parameters \(parameter 1\).*read-only"):
        npg.nn.utils.vector_to_parameters(npg.ones(2 + A.size), [first, npg.nn.Parameter(_read_only(A))])
    np.testing.assert_array_equal(first.data, 0.0)


def test_load_state_dict_assign_takes_a_big_endian_array_in_native_order():
    m = npg.nn.Linear(4, 3)
    m.load_state_dict({"weight": _big(A), "bias": _big(A[:, 0])}, assign=True)
    assert m.weight.dtype == np.float64 and m.weight.dtype.isnative
    x = np.ones((2, 4))
    npg.sum(m(x)).backward()
    assert m.weight.grad.dtype == m.weight.dtype
    np.testing.assert_array_equal(m.weight.data, A)


with warnings.catch_warnings():  # (NumPy's PendingDeprecationWarning for the matrix subclass)
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    MATRIX = np.matrix([[1.0, 2.0], [3.0, 4.0]])
B = np.array([[1.0, 0.5], [2.0, 1.0]])
MASKED = np.ma.array(A, mask=A < 0)


@pytest.mark.parametrize("op", ["mul", "rmul", "pow", "matmul", "sum", "exp", "where"])
def test_an_np_matrix_operand_is_refused_naming_the_op(op):
    # before: t * matrix was elementwise in the forward but its gradient g * matrix was a matrix product
    # (sum(x * M) gave x.grad [[4, 6], [4, 6]], not M), and np.matrix's own ops differ (ndarray * matrix is @)
    x = npg.tensor(B)
    call = {"mul": lambda: x * MATRIX, "rmul": lambda: MATRIX * x, "pow": lambda: x ** MATRIX,
            "matmul": lambda: x @ MATRIX, "sum": lambda: npg.sum(MATRIX, axis=0), "exp": lambda: npg.exp(MATRIX),
            "where": lambda: npg.where(B > 1, x, MATRIX)}[op]
    with pytest.raises(TypeError, match="np.matrix operand is not supported"):
        call()


@pytest.mark.parametrize("ctor", ["tensor", "Tensor", "asarray", "array", "as_tensor"])
def test_tensor_of_an_np_matrix_is_its_plain_array_and_its_gradient_is_torch_s(ctor):
    x = getattr(npg, ctor)(MATRIX)
    assert type(x.data) is np.ndarray
    x.requires_grad_()
    npg.sum(x * B).backward()
    t = torch.tensor(MATRIX, requires_grad=True)
    (t * torch.tensor(B)).sum().backward()
    assert type(x.grad) is np.ndarray
    assert_close(x.grad, t.grad.numpy(), np.float64)


def test_an_np_matrix_assigned_as_grad_becomes_its_array_so_adam_squares_elementwise():
    # before: p.grad kept the np.matrix and Adam's g * g was a matrix product: a wrong step, silently
    p, q = npg.nn.Parameter(np.zeros((2, 2))), torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
    p.grad, q.grad = MATRIX, torch.tensor(MATRIX)
    npg.optim.Adam([p], lr=0.5).step()
    torch.optim.Adam([q], lr=0.5).step()
    assert type(p.grad) is np.ndarray
    assert_close(p.data, q.detach().numpy(), np.float64)


@pytest.mark.parametrize("call", ["tensor", "Tensor", "asarray", "array", "mul", "sum", "mean", "exp", "grad"])
def test_a_masked_array_is_refused_rather_than_stripped_of_its_mask(call):
    # before: npg.sum(masked) summed the masked entries too (NumPy's np.sum skips them), t * masked lost the
    # mask, npg.Tensor(masked) kept the MaskedArray as its data
    x = npg.tensor(A)
    f = {"tensor": lambda: npg.tensor(MASKED), "Tensor": lambda: npg.Tensor(MASKED),
         "asarray": lambda: npg.asarray(MASKED), "array": lambda: npg.array(MASKED), "mul": lambda: x * MASKED,
         "sum": lambda: npg.sum(MASKED), "mean": lambda: npg.mean(MASKED), "exp": lambda: npg.exp(MASKED),
         "grad": lambda: setattr(x, "grad", MASKED)}[call]
    with pytest.raises(TypeError, match="MaskedArray is not supported"):
        f()


@pytest.mark.parametrize("key", [Ellipsis, ()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_setitem_into_a_0d_tensor_backward_when_the_gradient_is_a_numpy_scalar(key, dtype):
    # before: 0-d arithmetic hands the setitem VJP a NumPy scalar, which it zeroed in place:
    # TypeError "'numpy.float64' object does not support item assignment" from backward
    def run(T, x):
        y = x * 1
        y[key] = x * 3
        return (y * 0.5).sum()
    x = npg.tensor(np.array(0.7, dtype))
    run(npg, x).backward()
    t = torch.tensor(np.array(0.7, dtype), requires_grad=True)
    run(torch, t).backward()
    assert x.grad.dtype == np.dtype(dtype)
    assert_close(x.grad, t.grad.numpy(), dtype)


def _unpickled(a):
    """``a`` through pickle: equal values and an equal dtype, but not NumPy's own dtype object for it."""
    b = pickle.loads(pickle.dumps(a))
    assert b.dtype == a.dtype and b.dtype is not np.dtype(a.dtype.type)
    return b


H = np.ones(70000, np.float16)  # np.var in float16 overflows its sum of squares: inf; torch (in float32): 0


@pytest.mark.parametrize("make", ["tensor", "Tensor", "asarray", "from_numpy", "operand"])
@pytest.mark.parametrize("op", ["var", "std", "mean"])
def test_float16_from_an_unpickled_array_accumulates_in_float32_as_torch(make, op):
    # before: npgrad's float16 paths were keyed on the dtype object's identity, and an unpickled float16 array's
    # dtype is another object: npg.var of 70,000 float16 ones was inf (NumPy's float16 sums), torch's 0
    b = _unpickled(H)
    x = b * npg.tensor(np.float16(1)) if make == "operand" else getattr(npg, make)(b)  # (NumPy's result takes
    # its first operand's dtype object)
    r = getattr(npg, op)(x)
    expected = getattr(torch, op)(torch.tensor(H)).numpy()
    assert r.dtype == np.float16
    assert_close(r.data, expected, np.float16)


def test_tensor_of_an_unpickled_array_or_a_matrix_does_not_share_its_memory():
    for a in (_unpickled(A), MATRIX):
        t = npg.tensor(a)
        assert not np.shares_memory(t.data, a) and t.dtype is np.dtype(np.float64)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, ">i8"])
def test_repeat_with_counts_of_another_integer_dtype_has_torch_s_gradient(dtype):
    # before: uint8 counts made the backward's positions float64 (uint64 cumsum + int64 arange), an IndexError
    counts = np.array([1, 2, 3, 1])
    x = npg.tensor(A)
    npg.sum(npg.repeat(x, counts.astype(dtype), axis=1) * np.arange(21.0).reshape(3, 7)).backward()
    t = torch.tensor(A, requires_grad=True)
    (torch.repeat_interleave(t, torch.tensor(counts), dim=1) * torch.arange(21.0, dtype=torch.float64).reshape(3, 7)
     ).sum().backward()
    assert_close(x.grad, t.grad.numpy(), np.float64)


@pytest.mark.parametrize("op", ["index_select", "index_add"])
def test_a_big_endian_int64_index_is_taken_as_int64(op):
    # before: refused with "Expected dtype int32/int64 for index, got >i8"
    idx = np.array([2, 0, 2])
    x = npg.tensor(A)
    t = torch.tensor(A, requires_grad=True)
    if op == "index_select":
        y, ty = npg.index_select(x, 0, _big(idx)), torch.index_select(t, 0, torch.tensor(idx))
    else:
        y, ty = x.index_add(0, _big(idx), x * 2), t.index_add(0, torch.tensor(idx), t * 2)
    npg.sum(y * y).backward()
    (ty * ty).sum().backward()
    assert_close(y.data, ty.detach().numpy(), np.float64)
    assert_close(x.grad, t.grad.numpy(), np.float64)
