"""What each op's backward reads (npgrad/autograd/versions.py: ``reads``), checked against PyTorch: after an
in-place write into the op's output or into one of its inputs, backward either raises PyTorch's "modified by an
in-place operation" error or gives PyTorch's gradients. A write into a loss of reduction 'none' (``loss *= mask``)
or into an einsum's result must not raise, as in torch; a write into a value the backward reads must."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg

RNG = np.random.default_rng(5)


def _n(*s):
    return RNG.standard_normal(s)


def _p(*s):
    return 1 / (1 + np.exp(-_n(*s)))


def _tf(lib):
    return lib.nn.functional


# name: (function of the library, inputs, which writes torch allows: "out" and/or input positions)
CASES = {
    "mse_loss": (lambda L: lambda a, b: _tf(L).mse_loss(a, b, reduction="none"), [_n(3, 4), _n(3, 4)]),
    "nll_loss": (lambda L: lambda a, t: _tf(L).nll_loss(a, t, reduction="none"), [_n(3, 4), np.array([0, 3, 2])]),
    "cross_entropy": (lambda L: lambda a, t: _tf(L).cross_entropy(a, t, reduction="none"),
                      [_n(3, 4), np.array([0, 1, 2])]),
    "cross_entropy_nd_smooth": (lambda L: lambda a, t: _tf(L).cross_entropy(a, t, reduction="none",
                                                                           label_smoothing=0.2),
                                [_n(2, 4, 3), np.array([[0, 1, 2], [3, 3, 0]])]),
    "cross_entropy_prob": (lambda L: lambda a, t: _tf(L).cross_entropy(a, t, reduction="none"), [_n(3, 4), _p(3, 4)]),
    "binary_cross_entropy": (lambda L: lambda a, t: _tf(L).binary_cross_entropy(a, t, reduction="none"),
                             [_p(3, 4), _p(3, 4)]),
    "bce_with_logits": (lambda L: lambda a, t: _tf(L).binary_cross_entropy_with_logits(a, t, reduction="none"),
                        [_n(3, 4), _p(3, 4)]),
    "einsum_1": (lambda L: lambda a: L.einsum("ij->j", a), [_n(3, 4)]),
    "einsum_2": (lambda L: lambda a, b: L.einsum("ij,jk->ik", a, b), [_n(3, 4), _n(4, 5)]),
    "einsum_3": (lambda L: lambda a, b, c: L.einsum("ij,jk,k->i", a, b, c), [_n(3, 4), _n(4, 5), _n(5)]),
    "sdpa": (lambda L: lambda q, k, v: _tf(L).scaled_dot_product_attention(q, k, v), [_n(2, 3, 4)] * 3),
    "var": (lambda L: lambda a: L.var(a, 1) if L is torch else L.var(a, axis=1, ddof=1), [_n(3, 4)]),
    "std": (lambda L: lambda a: L.std(a, 1) if L is torch else L.std(a, axis=1, ddof=1), [_n(3, 4)]),
    "nan_to_num": (lambda L: lambda a: L.nan_to_num(a), [_n(3, 4)]),
    "slogdet": (lambda L: lambda a: L.linalg.slogdet(a)[1], [_n(3, 3)]),
    "matrix_exp": (lambda L: lambda a: L.linalg.matrix_exp(a), [_n(3, 3)]),
    "sinc": (lambda L: lambda a: L.sinc(a), [_n(3, 3)]),
    "tanhshrink": (lambda L: lambda a: _tf(L).tanhshrink(a), [_n(3, 3)]),
}
# Writes where npgrad raises and torch does not (stricter, never a wrong gradient): cross_entropy's and
# scaled_dot_product_attention's create_graph paths recompute from q, k and the logits, so their backward declares
# that it reads them.
STRICTER = {("cross_entropy", 0), ("cross_entropy_nd_smooth", 0), ("cross_entropy_prob", 0), ("sdpa", 0),
            ("sdpa", 1)}


def _run(lib, name, where, dtype, by, in_place=True):
    """Gradients of sum(out * w) after writing ``out *= by`` (where = "out") or ``inputs[where] *= by`` (by: "w"
    the tensor w, "2" the number), or None if
    backward raised the in-place error. ``in_place=False``: the same writes done out of place (the oracle of a
    library that keeps what it needs: the write into an input then changes nothing the loss uses)."""
    f, inputs = CASES[name]
    leaves = [lib.tensor(v.astype(dtype), requires_grad=True) if v.dtype.kind == "f" else lib.tensor(v)
              for v in inputs]
    xs = [x * 1 if v.dtype.kind == "f" else x for x, v in zip(leaves, inputs)]
    out = f(lib)(*xs)
    w = lib.tensor(np.random.default_rng(1).uniform(0.5, 2.0, out.shape).astype(dtype))
    factor = w if by == "w" else 2.0
    if where == "out":
        out = out.mul_(factor) if in_place else out * factor
    elif in_place:
        xs[where].mul_(factor if by == "2" or xs[where].shape == w.shape else 2.0)
    try:
        (out * w).sum().backward()
    except RuntimeError as e:
        assert "in-place" in str(e) or "inplace" in str(e), e
        return None
    return [np.asarray(x.grad) for x, v in zip(leaves, inputs) if v.dtype.kind == "f"]


@pytest.mark.parametrize("by", ["w", "2"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CASES))
def test_write_after_op_as_torch(name, dtype, by):
    """Where torch goes on, npgrad does (but for STRICTER) with torch's gradients; where torch raises, npgrad
    raises or (when the in-place op kept a copy of the value it overwrote) gives the gradients of the same writes
    done out of place."""
    inputs = CASES[name][1]
    tol = 1e-10 if dtype == np.float64 else 2e-5
    for where in ["out"] + [i for i, v in enumerate(inputs) if v.dtype.kind == "f"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got, want = _run(npg, name, where, dtype, by), _run(torch, name, where, dtype, by)
            oracle = _run(torch, name, where, dtype, by, in_place=False)
        if (name, where) in STRICTER:
            assert got is None and want is not None, (name, where)
            continue
        if want is not None:
            assert got is not None, (name, where, "npgrad raised where torch does not")
        if got is not None:
            for g, t in zip(got, oracle):
                np.testing.assert_allclose(g, t, rtol=tol, atol=tol, err_msg=f"{name} after a write at {where}")


def test_einsum_beyond_declared_operands_still_checked():
    """An einsum of more operands than the declaration names (autograd/versions.py's letters) is checked on every
    value: a write into any operand raises rather than giving a gradient from the new value."""
    n = 25
    mats = [npg.tensor(np.eye(2) + 0.1 * _n(2, 2), requires_grad=True) for _ in range(n)]
    hs = [m * 1 for m in mats]
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGH"
    spec = ",".join(letters[i] + letters[i + 1] for i in range(n)) + "->" + letters[0] + letters[n]
    y = npg.einsum(spec, *hs)
    hs[-1].mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()
