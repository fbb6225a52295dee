"""Hunt for wrong answers from array layout and dtype variants: the same numbers in another byte order, memory
layout or container must give the values and gradients of a plain C-contiguous native array (checked against
PyTorch, which is given the native copy), or a clear error naming the op."""
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
