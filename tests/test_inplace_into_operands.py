"""Operands of every kind for the writes computed into a tensor's memory (``x += y``, ``x -= y``, ``x *= c``,
``x /= c``, add_/sub_/mul_/div_, with and without ``alpha=``) and the writes that must be refused: Python, NumPy
and complex scalars, 0-d, size-0, mixed-precision, int and bool tensors, operands that do not broadcast, leaves
that require grad. Each outcome is PyTorch's (the value and the gradient, or an error, which names the op);
a refused write leaves the tensor as it was, hooks included. (The review of the graph behaviour:
tests/test_inplace_into_review.py.)
"""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F
from tests.helpers import assert_close
from tests.test_inplace_into_review import _iadd, _idiv, _imul, _isub


def _F(L):
    return F if L is npg else torch.nn.functional


# ------------------------------------------------ operands of every kind, dtypes, refusals
OPS = {"+=": _iadd, "-=": _isub, "*=": _imul, "/=": _idiv, "add_": lambda h, o: h.add_(o),
       "sub_": lambda h, o: h.sub_(o), "mul_": lambda h, o: h.mul_(o), "div_": lambda h, o: h.div_(o),
       "add_(alpha=2)": lambda h, o: h.add_(o, alpha=2), "sub_(alpha=0.5)": lambda h, o: h.sub_(o, alpha=0.5)}
OPERANDS = {  # (npgrad's, PyTorch's)
    "int": (lambda: 3, lambda: 3), "float": (lambda: 2.5, lambda: 2.5), "complex": (lambda: 1 + 2j, lambda: 1 + 2j),
    "np.float64": (lambda: np.float64(2.5),) * 2, "np.float32": (lambda: np.float32(2.5),) * 2,
    "np.int64": (lambda: np.int64(3),) * 2, "np.complex128": (lambda: np.complex128(1 + 1j),) * 2,
    "0-d float64": (lambda: npg.tensor(np.array(2.5), requires_grad=False),
                    lambda: torch.tensor(2.5, dtype=torch.float64)),
    "float64 with grad": (lambda: npg.tensor(np.full(3, 2.5)),
                          lambda: torch.full((3,), 2.5, dtype=torch.float64, requires_grad=True)),
    "float32 with grad": (lambda: npg.tensor(np.full(3, 2.5, np.float32)),
                          lambda: torch.full((3,), 2.5, dtype=torch.float32, requires_grad=True)),
    "int64 tensor": (lambda: npg.tensor(np.full(3, 2)), lambda: torch.full((3,), 2)),
    "complex64 tensor": (lambda: npg.tensor(np.ones(3, np.complex64), requires_grad=False),
                         lambda: torch.ones(3, dtype=torch.complex64)),
    "shape (2, 3)": (lambda: npg.tensor(np.ones((2, 3)), requires_grad=False), lambda: torch.ones(2, 3)),
    "shape (4,)": (lambda: npg.tensor(np.ones(4), requires_grad=False), lambda: torch.ones(4)),
    "size 0": (lambda: npg.tensor(np.ones(0), requires_grad=False), lambda: torch.ones(0)),
}
TARGETS = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64),
           "int64": (np.int64, torch.int64), "bool": (np.bool_, torch.bool)}


def _outcome(L, target, graph, op, operand):
    ndt, tdt = TARGETS[target]
    a = np.array([1.0, -2.0, 3.0])
    if graph:
        leaf = npg.tensor(a) if L is npg else torch.tensor(a, requires_grad=True)
        h = (leaf * 1.0).astype(ndt) if L is npg else (leaf * 1.0).to(tdt)
    else:
        h = npg.tensor(a.astype(ndt), requires_grad=False) if L is npg else torch.tensor(a.astype(ndt))
    try:
        assert OPS[op](h, OPERANDS[operand][L is torch]()) in (None, h)
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as e:
        return e
    if not (graph and h.requires_grad):
        return np.asarray(h.data if L is npg else h.detach().numpy()), None
    (npg.sum(h * h) if L is npg else (h * h).sum()).backward()
    return np.asarray(h.data if L is npg else h.detach().numpy()), np.asarray(leaf.grad.data if L is npg
                                                                             else leaf.grad.numpy())


@pytest.mark.parametrize("graph", [False, True], ids=["no graph", "graph"])
@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("op", list(OPS))
def test_operands_of_every_kind_match_torch_or_raise_naming_the_op(op, target, graph):
    if graph and target in ("int64", "bool"):
        target = "float32"
    for operand in OPERANDS:
        ours, theirs = _outcome(npg, target, graph, op, operand), _outcome(torch, target, graph, op, operand)
        what = f"{op} {operand} into {target}"
        if target == "bool" and op in ("add_(alpha=2)",):
            continue  # (bool + bool * 2: NumPy's int result cannot be stored in a bool tensor; PyTorch's can)
        if isinstance(theirs, Exception):
            assert isinstance(ours, Exception), f"{what}: PyTorch raised {theirs!r}; npgrad gave {ours}"
            name = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}.get(op, op[:3])  # (add_ or add)
            assert name in str(ours), f"{what}: {ours!r} does not name {name}"
            continue
        assert not isinstance(ours, Exception), f"{what}: npgrad raised {ours!r}"
        assert ours[0].dtype == theirs[0].dtype, what
        assert_close(ours[0], theirs[0], what=what)
        assert (ours[1] is None) == (theirs[1] is None), what
        if ours[1] is not None:
            assert_close(ours[1], theirs[1], what=what)


REFUSED = {  # writes into a graph tensor that raise: the tensor keeps its values, its hooks and its gradient
    "+= a wider operand": lambda L, h: _iadd(h, L.ones(4, dtype=h.dtype) if L is torch else npg.ones(4)),
    "*= a complex number": lambda L, h: _imul(h, 1 + 2j),
    "add_ a longer operand": lambda L, h: h.add_(L.ones((2, 3), dtype=h.dtype) if L is torch else npg.ones((2, 3))),
    "relu_ of a complex tensor": lambda L, h: h.relu_(),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_write_keeps_the_hooks_registered_on_the_tensor(name):
    a = np.array([1.0, -2.0, 3.0]) * (1 - 0.5j if "complex tensor" in name else 1)
    results = []
    for L in (npg, torch):
        seen = []
        x = npg.tensor(a) if L is npg else torch.tensor(a, requires_grad=True)
        h = x * 2
        h.register_hook(lambda g: seen.append(np.array(g.data if L is npg else g.numpy())))
        with pytest.raises((RuntimeError, TypeError, ValueError, NotImplementedError)):
            REFUSED[name](L, h)
        cube = h * h * h
        (npg.sum(npg.real(cube * npg.conj(cube))) if L is npg else (cube * cube.conj()).real.sum()).backward()
        results.append((np.asarray(h.data if L is npg else h.detach().numpy()), seen,
                        np.asarray(x.grad.data if L is npg else x.grad.numpy())))
    (value, seen, grad), (tvalue, tseen, tgrad) = results
    assert_close(value, tvalue)
    assert len(seen) == len(tseen) == 1
    assert_close(seen[0], tseen[0])
    assert_close(grad, tgrad)


LEAF_WRITES = {"relu_": lambda L, x: x.relu_(), "+=": lambda L, x: _iadd(x, 1.0),
               "add_(x, alpha=2)": lambda L, x: x.add_(x, alpha=2), "view /=": lambda L, x: _idiv(x[1:], 2.0),
               "F.relu(inplace=True) of a view": lambda L, x: _F(L).relu(x.T, inplace=True)}


@pytest.mark.parametrize("name", list(LEAF_WRITES))
def test_writes_into_a_leaf_that_requires_grad_raise_as_in_torch(name):
    write = LEAF_WRITES[name]
    a = np.array([[1.0, -2.0], [3.0, -4.0]])
    x, tx = npg.tensor(a), torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        write(torch, tx)
    with pytest.raises(RuntimeError, match="leaf"):
        write(npg, x)
    assert_close(x, a)
    with npg.no_grad():  # allowed without a graph, as in torch
        write(npg, x)
    with torch.no_grad():
        write(torch, tx)
    assert_close(x, tx.detach().numpy())
