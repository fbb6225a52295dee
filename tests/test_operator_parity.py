"""Python's operators on Tensors against the same operators on ndarrays: every binary operator (arithmetic,
comparison, bitwise, shifts) over every pair of dtypes a tensor holds and with Python and NumPy scalars on either
side (NEP 50), giving NumPy's dtype and values, or an error where NumPy raises. Deliberate difference: ordering
comparisons, ``//`` and ``%`` of complex values are refused naming the op (PyTorch's real-only ops). And every
augmented assignment (``+= ... @= <<=``) writes into the tensor's memory as NumPy's does (every name and view
of it sees the result), with PyTorch's gradient where one is defined."""
import operator as op

import numpy as np
import pytest
import torch

import npgrad as npg
from tests.helpers import outcome

VALUES = {"f64": np.array([-2.5, 0.0, 1.5, np.inf]), "f32": np.array([-2.5, 0.0, 1.5, 3.0], np.float32),
          "i64": np.array([-3, 0, 2, 7]), "i32": np.array([-3, 1, 2, 7], np.int32),
          "u8": np.array([0, 1, 2, 250], np.uint8), "bool": np.array([True, False, True, True]),
          "c128": np.array([1 + 2j, 0j, -1j, 2.0])}
SCALARS = {"int": 3, "float": 2.5, "complex": 1 + 1j, "bool": True, "f32": np.float32(2.0), "i64": np.int64(3),
           "negative": -2}
OPS = {"+": op.add, "-": op.sub, "*": op.mul, "/": op.truediv, "//": op.floordiv, "%": op.mod, "**": op.pow,
       "==": op.eq, "!=": op.ne, "<": op.lt, ">=": op.ge, "&": op.and_, "|": op.or_, "^": op.xor,
       "<<": op.lshift, ">>": op.rshift}
REAL_ONLY = {"//", "%", "<", ">="}




def _operands():
    for a in VALUES:
        for b in VALUES:
            yield (a, VALUES[a], True), (b, VALUES[b], True)
        for s in SCALARS:
            yield (a, VALUES[a], True), (s, SCALARS[s], False)
            yield (s, SCALARS[s], False), (a, VALUES[a], True)


@pytest.mark.parametrize("name", OPS)
def test_operator_matches_numpy(name):
    f = OPS[name]
    for (ka, a, ta), (kb, b, tb) in _operands():
        ok_np, expected = outcome(f, a, b)
        args = [npg.tensor(v.copy(), requires_grad=False) if t else v for v, t in ((a, ta), (b, tb))]
        ok, got = outcome(f, *args)
        what = f"{ka} {name} {kb}"
        if not ok_np:
            assert not ok, f"{what}: NumPy raises {expected!r}, npgrad gave a result"
            continue
        if not ok:
            assert name in REAL_ONLY and np.result_type(a, b).kind == "c", f"{what}: npgrad raised {got!r}"
            continue
        e, o = np.asarray(expected), np.asarray(got.data)
        assert (o.dtype, o.shape) == (e.dtype, e.shape), f"{what}: {o.dtype} {o.shape}, NumPy's {e.dtype} {e.shape}"
        np.testing.assert_array_equal(o, e, err_msg=what)


AUGMENTED = {"+=": op.iadd, "-=": op.isub, "*=": op.imul, "/=": op.itruediv, "//=": op.ifloordiv, "%=": op.imod,
             "**=": op.ipow, "&=": op.iand, "|=": op.ior, "^=": op.ixor, "<<=": op.ilshift, ">>=": op.irshift,
             "@=": op.imatmul}


@pytest.mark.parametrize("name", AUGMENTED)
def test_augmented_assignment_writes_into_memory_as_numpy(name):
    f = AUGMENTED[name]
    integer = name in ("&=", "|=", "^=", "<<=", ">>=")
    a = np.array([[3, 1], [4, 2]]) if integer else np.array([[1.5, 2.0], [0.5, 3.0]])
    b = np.array([[1, 2], [3, 1]]) if integer else np.array([[2.0, 0.5], [1.5, 2.0]])
    expected = f(a.copy(), b)
    x = npg.tensor(a.copy(), requires_grad=False)
    view = x[0]                       # another view of the same memory
    alias = x
    result = f(alias, npg.tensor(b))
    assert result is x                # the name is not rebound to a new tensor
    np.testing.assert_array_equal(x.data, expected)
    np.testing.assert_array_equal(view.data, expected[0])


@pytest.mark.parametrize("name,tname", [("**=", "pow_"), ("//=", "floor_divide_"), ("%=", "remainder_")])
def test_augmented_assignment_gradients_match_torch(name, tname):
    f = AUGMENTED[name]
    a, b = np.array([1.5, 2.25, 3.5]), np.array([2.0, 0.75, 1.5])
    x, w = npg.tensor(a), npg.tensor(b)
    y = x * 1
    f(y, w)
    (y * np.array([1.0, 2.0, 3.0])).sum().backward()
    xt, wt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    yt = xt * 1
    getattr(yt, tname)(wt) if tname != "floor_divide_" else yt.div_(wt, rounding_mode="floor")
    (yt * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(w.grad, wt.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,f", [("-", op.neg), ("+", op.pos), ("abs", abs), ("~", op.invert)])
def test_unary_operator_matches_numpy(name, f):
    for key, a in VALUES.items():
        ok_np, expected = outcome(f, a.copy())
        x = npg.tensor(a.copy(), requires_grad=False)
        ok, got = outcome(f, x)
        assert ok == ok_np, f"{name}{key}: NumPy {expected!r}, npgrad {got!r}"
        if ok:
            e, o = np.asarray(expected), got.data
            assert (o.dtype, o.shape) == (e.dtype, e.shape), f"{name}{key}"
            np.testing.assert_array_equal(o, e, err_msg=f"{name}{key}")
            assert not np.shares_memory(o, x.data), f"{name}{key}: a new array, as NumPy's"
