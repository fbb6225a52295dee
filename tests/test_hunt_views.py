"""Adversarial review of views, in-place ops and version counters (second round): each case is run in npgrad and in
PyTorch 2.13 and compared on values, the gradient of every leaf, and whether it raises."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import npgrad as npg
import npgrad.autograd.forward_ad as nfw
from tests.helpers import assert_close

A = np.array([[0.3, -1.2, 0.8], [1.5, -0.4, 0.1], [-0.7, 0.9, 2.0]])
TA = np.array([[1.0, 0.5, -2.0], [0.3, -1.1, 0.7], [1.4, 0.2, -0.6]])
C = np.arange(1.0, 10.0).reshape(3, 3)

# in-place methods whose JVP reads the values they write (computed straight into the tensor's memory, or out of
# place and copied in), written into a tensor or through a view of it
TANGENT_READS_RESULT = {
    "exp_": lambda y: y.exp_(),
    "tanh_": lambda y: y.tanh_(),
    "sigmoid_": lambda y: y.sigmoid_(),
    "sqrt_ of abs": lambda y: y.abs_().sqrt_(),
    "exp_ through a view": lambda y: y[:, 1:].exp_(),
    "sigmoid_ through a transposed view": lambda y: y.T[0].sigmoid_(),
}


def _reverse_over_forward(lib, write, dtype):
    """The tangent of ``write(y)`` (``y`` a copy of a dual tensor whose primal requires grad), and the gradient
    of ``sum(C * tangent)`` with respect to the primal."""
    T, F = (torch, tfw) if lib == "torch" else (npg, nfw)
    a = T.tensor(A.astype(dtype), requires_grad=True)
    with F.dual_level():
        y = F.make_dual(a, T.tensor(TA.astype(dtype))).clone()
        write(y)
        primal, tangent = F.unpack_dual(y)
        (tangent * T.tensor(C.astype(dtype))).sum().backward()
    if lib == "torch":
        return primal.detach().numpy(), tangent.detach().numpy(), a.grad.numpy()
    return primal.data, tangent.data, np.asarray(a.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(TANGENT_READS_RESULT))
def test_backward_through_the_tangent_of_an_inplace_op_as_torch(name, dtype):
    """Reverse over forward through an in-place op whose tangent reads its result: the tangent's ops were recorded
    before the write was counted, and backward refused them (the result 'modified by an in-place operation', or
    the op's node 'replaced after the op was recorded')."""
    write = TANGENT_READS_RESULT[name]
    for got, want in zip(_reverse_over_forward("npgrad", write, dtype), _reverse_over_forward("torch", write, dtype)):
        assert got.dtype == dtype
        assert_close(got, want, what=name)


@pytest.mark.parametrize("name", ["exp_", "sigmoid_ through a transposed view"])
def test_jacfwd_of_a_function_writing_in_place_into_a_copy_of_its_input_as_torch(name):
    """jacfwd of such a function, at an input that requires grad (npgrad's default)."""
    write = TANGENT_READS_RESULT[name]

    def f(lib):
        return lambda a: write(a.clone()) if name == "exp_" else _through(write, a.clone())

    got = npg.func.jacfwd(f("npgrad"))(npg.tensor(A))
    want = torch.func.jacfwd(f("torch"))(torch.tensor(A))
    assert_close(got, want.numpy())


def _through(write, y):
    write(y)
    return y


X = np.array([[0.3, -1.2, 0.8, 0.5], [1.5, -0.4, 0.1, -0.9], [-0.7, 0.9, 2.0, 0.2]])
CX = np.arange(1.0, 13.0).reshape(3, 4) / 4
def _F(y):
    return torch.nn.functional if isinstance(y, torch.Tensor) else npg.nn.functional


def _linalg(y):
    return torch.linalg if isinstance(y, torch.Tensor) else npg.linalg


# ops whose backward reads only their output, or only their input: a write into the other is fine, as in PyTorch
OPS = {"softmax": lambda y: y.softmax(1), "log_softmax": lambda y: y.log_softmax(1),
       "softmax along dim 0": lambda y: y.softmax(0),
       "gelu": lambda y: _F(y).gelu(y), "gelu tanh": lambda y: _F(y).gelu(y, approximate="tanh"),
       "silu": lambda y: _F(y).silu(y), "softplus": lambda y: _F(y).softplus(y),
       "inv": lambda y: _linalg(y).inv(y[:, :3]).repeat(1, 2)[:, :4] if isinstance(y, torch.Tensor)
       else npg.concatenate([npg.linalg.inv(y[:, :3])] * 2, axis=1)[:, :4]}
WRITES = {"mul_ the input": ("input", lambda t: t.mul_(2)), "a row of the input": ("input", lambda t: t[1].zero_()),
          "the input through a transposed view": ("input", lambda t: t.T[::2].add_(1)),
          "mul_ the output": ("output", lambda t: t.mul_(2)), "a column of the output": ("output", lambda t: t[:, 1].zero_())}


def _softmax_then_write(lib, op, write, dtype):
    """``z = op(y)`` for ``y = x * 1``, a write into ``y`` or ``z``, then the gradient of ``sum(CX * z)``."""
    T = torch if lib == "torch" else npg
    x = T.tensor(X.astype(dtype), requires_grad=True)
    y = x * 1
    z = OPS[op](y)
    where, fn = WRITES[write]
    fn(y if where == "input" else z)
    (z * T.tensor(CX.astype(dtype))).sum().backward()
    return np.asarray(z.detach() if lib == "torch" else z.data), np.asarray(x.grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("op", list(OPS))
def test_a_write_into_a_value_backward_does_not_read_is_fine_as_torch(op, write, dtype):
    """softmax, log_softmax and inv differentiate through their output, gelu, silu and softplus through their input:
    a write into the other one after the op is fine (npgrad checked both, as the ops declared nothing, and refused
    it); a write into the value read raises, as in PyTorch."""
    try:
        want = _softmax_then_write("torch", op, write, dtype)
    except RuntimeError as e:
        assert "modified by an inplace operation" in str(e)
        with pytest.raises(RuntimeError, match=f"gradient of '{op.split()[0]}' \\(its "):
            _softmax_then_write("npgrad", op, write, dtype)
        return
    for got, w in zip(_softmax_then_write("npgrad", op, write, dtype), want):
        assert got.dtype == dtype
        assert_close(got, w, what=f"{op}, {write}")


def test_leaky_relu_reads_only_its_input_as_torch():
    """leaky_relu declared nothing, so a write into its output raised where torch's backward (which reads only
    the input) goes on; a write into its input raises in both."""
    a = np.array([0.5, -1.0, 2.0, -0.25])
    for dtype in (np.float32, np.float64):
        grads = []
        for lib in (npg, torch):
            x = npg.tensor(a.astype(dtype)) if lib is npg else torch.tensor(a.astype(dtype), requires_grad=True)
            y = lib.nn.functional.leaky_relu(x * 1, 0.1)
            y.mul_(2)
            (y * y).sum().backward()
            grads.append(np.asarray(x.grad.data if lib is npg else x.grad.numpy()))
        np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
        for lib in (npg, torch):
            x = npg.tensor(a.astype(dtype)) if lib is npg else torch.tensor(a.astype(dtype), requires_grad=True)
            h = x * 1
            y = lib.nn.functional.leaky_relu(h, 0.1)
            h.mul_(2)
            with pytest.raises(RuntimeError):
                y.sum().backward()


@pytest.mark.parametrize("name,shape", [("avg_pool1d", (2, 3, 6)), ("avg_pool2d", (2, 3, 6, 6)),
                                        ("avg_pool3d", (1, 2, 4, 4, 4))])
def test_avg_pool_reads_no_value_writes_around_it_are_allowed(name, shape):
    """avg_pool's backward reads no value (only its divisors): a write into its output gives torch's gradient
    (npgrad raised, declaring nothing), and one into its input leaves the pool's gradient as without it (torch
    raises there, as its node saves the input: npgrad saves nothing)."""
    a = np.random.default_rng(0).standard_normal(shape)
    ref = None
    for lib in (torch, npg):
        x = npg.tensor(a) if lib is npg else torch.tensor(a, requires_grad=True)
        y = getattr(lib.nn.functional, name)(x * 1, 2)
        y.mul_(2)
        (y * y).sum().backward()
        g = np.asarray(x.grad.data if lib is npg else x.grad.numpy())
        if ref is None:
            ref = g
    np.testing.assert_allclose(g, ref, rtol=1e-12)
    t = torch.tensor(a, requires_grad=True)
    getattr(torch.nn.functional, name)(t * 1, 2).sum().backward()
    x = npg.tensor(a)
    h = x * 1
    y = getattr(npg.nn.functional, name)(h, 2)
    h.mul_(-3)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("write", ["output", "input"])
def test_max_pool_refuses_a_write_into_what_its_backward_compares(write):
    """max_pool's backward finds each window's maximum by comparing its input with its output (lazily), so a
    write into either raises rather than moving the gradient."""
    x = npg.tensor(np.random.default_rng(1).standard_normal((2, 3, 6, 6)))
    h = x * 1
    y = npg.nn.functional.max_pool2d(h, 2)
    (y if write == "output" else h).mul_(-2)
    with pytest.raises(RuntimeError, match="in-place|inplace"):
        (y * 1).sum().backward()
