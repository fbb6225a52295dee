"""relu_ computed straight into its tensor's memory, and relu's VJP reading its output (as PyTorch's).

``relu_`` on a graph tensor used to keep a copy of the value it overwrote (its VJP read the input) and to
compute the result out of place before copying it in: two arrays of the tensor's size per call. Now relu's
VJP reads the output, as PyTorch's ``threshold_backward(grad, result, 0)``, and ``relu_`` writes
``max(x, 0)`` into ``x`` in one pass. Checked against PyTorch: values, gradients, which in-place writes
backward refuses afterwards, and forward-mode tangents; and with tracemalloc, that no array of the
tensor's size is allocated.
"""
import tracemalloc

import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from npgrad.autograd import forward_ad as fwAD
from tests.helpers import assert_close

TOL = {np.float32: dict(rtol=2e-6, atol=2e-6), np.float64: dict(rtol=1e-13, atol=1e-13)}

ENTRIES = {  # the ways to ask for relu in place, each with PyTorch's spelling
    "method": (lambda h: h.relu_(), lambda h: h.relu_()),
    "F.relu_": (lambda h: F.relu_(h), lambda h: torch.nn.functional.relu_(h)),
    "F.relu(inplace=True)": (lambda h: F.relu(h, inplace=True), lambda h: torch.nn.functional.relu(h, inplace=True)),
    "nn.ReLU(inplace=True)": (lambda h: nn.ReLU(inplace=True)(h), lambda h: torch.nn.ReLU(inplace=True)(h)),
    "view": (lambda h: h[1:].relu_(), lambda h: h[1:].relu_()),
    "transposed view": (lambda h: h.T.relu_(), lambda h: h.T.relu_()),
}


def _values(shape, dtype, rng):
    a = rng.standard_normal(shape).astype(dtype)
    if a.size >= 4:
        a.flat[:4] = [0.0, -0.0, np.nan, 2.0]  # relu's ties and NaN, as torch propagates them
    return a


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(4, 5), (3, 1), (), (0, 3)], ids=str)
@pytest.mark.parametrize("entry", list(ENTRIES))
def test_relu_inplace_matches_torch(entry, shape, dtype):
    if entry in ("view", "transposed view") and len(shape) < 2:
        shape = (4, 5)
    rng = np.random.default_rng(0)
    a, c = _values(shape, dtype, rng), rng.standard_normal(shape).astype(dtype)
    ours, theirs = ENTRIES[entry]
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    h, th = x * 1.5, tx * 1.5
    ours(h)
    theirs(th)
    assert h.dtype == dtype
    assert_close(h, th.detach().numpy(), **TOL[dtype])
    npg.sum(h * c).backward()
    (th * torch.tensor(c)).sum().backward()
    assert_close(x.grad, tx.grad.numpy(), **TOL[dtype])


def test_relu_saves_its_output_not_its_input_as_torch():
    a = np.array([-1.0, 0.5, 2.0, -3.0])
    # the input overwritten after relu: both backward fine, with the same gradient
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    h, th = x * 2, tx * 2
    y, ty = F.relu(h), torch.relu(th)
    h.add_(10.0)
    th.add_(10.0)
    npg.sum(y * y).backward()
    (ty * ty).sum().backward()
    assert_close(x.grad, tx.grad.numpy())
    # the output overwritten: both refuse
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    y, ty = F.relu(x * 2), torch.relu(tx * 2)
    y.add_(1.0)
    ty.add_(1.0)
    with pytest.raises(RuntimeError, match="inplace"):
        ty.sum().backward()
    with pytest.raises(RuntimeError, match="relu"):
        npg.sum(y).backward()


def test_relu_inplace_allocates_no_array_of_the_tensors_size():
    x = npg.tensor(np.random.default_rng(1).standard_normal((256, 1024)))  # 2 MiB
    h = x * 1.0
    nbytes = h.data.nbytes
    F.relu(h)  # (relu's shared read-only zeros grow to this size once: calloc'd, and kept)
    tracemalloc.start()
    try:
        h.relu_()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < nbytes // 4, (peak, nbytes)
    npg.sum(h).backward()
    assert_close(x.grad, (x.data > 0).astype(x.dtype))


def test_relu_inplace_without_graph_writes_into_the_memory_and_counts_the_write():
    x = npg.tensor(np.array([[-1.0, 2.0], [3.0, -4.0]]), requires_grad=False)
    data, version = x.data, x._version
    assert x.relu_() is x
    assert x.data is data and x._version == version + 1
    assert_close(x, [[0.0, 2.0], [3.0, 0.0]])
    with npg.no_grad():
        w = npg.tensor(np.array([-1.0, 1.0]))
        F.relu_(w)
    assert_close(w, [0.0, 1.0])


def test_relu_inplace_refuses_read_only_and_complex_tensors_unchanged():
    b = npg.broadcast_to(npg.tensor(np.array([-1.0, 2.0]), requires_grad=False), (3, 2))
    with pytest.raises(ValueError, match="read-only"):
        b.relu_()
    assert_close(b, [[-1.0, 2.0]] * 3)
    z = npg.tensor(np.array([1 - 1j, -2 + 0j]))
    h = z * 1
    with pytest.raises(TypeError, match="relu"):
        h.relu_()
    assert_close(h, [1 - 1j, -2 + 0j])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_inplace_forward_mode_matches_torch(dtype):
    rng = np.random.default_rng(2)
    a, t = rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
    with fwAD.dual_level():
        h = fwAD.make_dual(npg.tensor(a), npg.tensor(t)) * 2
        h.relu_()
        primal, tangent = fwAD.unpack_dual(h)
    import torch.autograd.forward_ad as tfw
    with tfw.dual_level():
        th = tfw.make_dual(torch.tensor(a), torch.tensor(t)) * 2
        th.relu_()
        tprimal, ttangent = tfw.unpack_dual(th)
    assert_close(primal, tprimal.numpy(), **TOL[dtype])
    assert_close(tangent, ttangent.numpy(), **TOL[dtype])


def test_relu_second_order_through_its_output_matches_torch():
    a = np.array([-1.0, 0.5, 2.0, -3.0, 1.5])
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    y, ty = F.relu(x * x - 1), torch.relu(tx * tx - 1)
    g, = npg.autograd.grad(npg.sum(y * y), x, create_graph=True)
    tg, = torch.autograd.grad((ty * ty).sum(), tx, create_graph=True)
    assert_close(g, tg.detach().numpy())
    npg.sum(g * g).backward()
    (tg * tg).sum().backward()
    assert_close(x.grad, tx.grad.numpy())
