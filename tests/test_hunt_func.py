"""Hunt for silent differences between npgrad.func and torch.func (2.13): regression tests for what was found,
each against torch.func (values and gradients, float32 and float64)."""
import numpy as np
import pytest
import torch
import torch.func as TF

import npgrad as npg
from npgrad import func as F


def _n(a, grad=False):
    return npg.tensor(a, requires_grad=grad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vmap_put_along_axis_only_values_batched(dtype):
    # only `values` batched (x and indices shared): the rule looked for the batch size in x and indices only
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype(dtype)
    idx = np.array([[1], [2], [0]])
    vals = rng.standard_normal((5, 3, 1)).astype(dtype)
    x_n, v_n = _n(a, True), _n(vals, True)
    out = F.vmap(lambda x, i, v: npg.put_along_axis(x, i, v, axis=1), in_dims=(None, None, 0))(x_n, _n(idx), v_n)
    x_t, v_t = torch.tensor(a, requires_grad=True), torch.tensor(vals, requires_grad=True)
    ref = TF.vmap(lambda x, i, v: torch.scatter(x, 1, i, v), in_dims=(None, None, 0))(x_t, torch.tensor(idx), v_t)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-6)
    w = rng.standard_normal(ref.shape).astype(dtype)
    (out * _n(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x_n.grad.data, x_t.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(v_n.grad.data, v_t.grad.numpy(), rtol=1e-5)


# ------------------------------------------------------------------ npg.autograd.functional vs torch.autograd.functional
import npgrad.autograd.functional as NAF  # noqa: E402
import torch.autograd.functional as TAF  # noqa: E402

_X = np.random.default_rng(1).standard_normal(3)


def _both(name, f_n, f_t, inputs, v=None, **kw):
    """Run ``name`` of both libraries on the same inputs (a tuple of arrays) and vector ``v``."""
    def conv(lib, arrs):
        mk = (lambda a: _n(a)) if lib is NAF else torch.tensor
        return tuple(mk(a) for a in arrs)
    res = []
    for lib, f in ((NAF, f_n), (TAF, f_t)):
        args = [f, conv(lib, inputs)]
        if v is not None:
            args.append(conv(lib, v))
        try:
            res.append(getattr(lib, name)(*args, **kw))
        except RuntimeError as e:
            res.append(e)
    return res


def _leaves(r):
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _leaves(x)]
    return [r]


# functions of x whose output, or whose gradient, does not depend on the inputs
_CONST = (lambda a: _n(np.full(3, 1.5, a.dtype)), lambda a: torch.full((3,), 1.5, dtype=a.dtype))
_SCALAR_CONST = (lambda a: _n(np.array(2.0, a.dtype)), lambda a: torch.tensor(2.0, dtype=a.dtype))
_LINEAR = (lambda a: a * 2, lambda a: a * 2)
_LINEAR_SCALAR = (lambda a: a.sum() * 3, lambda a: a.sum() * 3)
_QUADRATIC = (lambda a: (a * a).sum(), lambda a: (a * a).sum())
_CASES = [("vjp", _CONST, True), ("jvp", _CONST, True), ("jacobian", _CONST, False), ("jacobian", _LINEAR, False),
          ("hessian", _SCALAR_CONST, False), ("hessian", _LINEAR_SCALAR, False), ("hessian", _QUADRATIC, False),
          ("hvp", _SCALAR_CONST, True), ("hvp", _LINEAR_SCALAR, True), ("hvp", _QUADRATIC, True),
          ("vhp", _SCALAR_CONST, True), ("vhp", _LINEAR_SCALAR, True), ("vhp", _QUADRATIC, True),
          ("vjp", _LINEAR, True), ("jvp", _LINEAR, True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,fns,with_v", _CASES)
def test_autograd_functional_independent_outputs(name, fns, with_v, strict, create_graph, dtype):
    # an output that does not require grad (a constant) made the engine raise "grad: the tensor does not require
    # grad" where PyTorch gives zeros (and the Hessian of a linear function raised too); strict mode did not raise
    # where PyTorch does (jvp of an output independent of an input, results independent of x with create_graph)
    x = _X.astype(dtype)
    got, ref = _both(name, fns[0], fns[1], (x,), (x + 1,) if with_v else None, strict=strict,
                     create_graph=create_graph)
    if isinstance(ref, Exception):
        assert isinstance(got, Exception), f"{name}: torch raises {ref!r}, npgrad returned {got!r}"
        return
    assert not isinstance(got, Exception), f"{name}: npgrad raised {got!r}"
    for g, r in zip(_leaves(got), _leaves(ref), strict=True):
        assert g.dtype == r.detach().numpy().dtype
        np.testing.assert_allclose(g.data, r.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("strict", [False, True])
def test_autograd_functional_jvp_output_independent_of_an_input(strict):
    # two inputs, the output depends on the first only: strict mode must raise (as PyTorch), else zeros flow
    f = (lambda a, b: a * a, lambda a, b: a * a)
    got, ref = _both("jvp", f[0], f[1], (_X, _X + 2), (_X + 1, _X - 1), strict=strict)
    assert isinstance(got, Exception) == isinstance(ref, Exception) == strict
    if not strict:
        for g, r in zip(_leaves(got), _leaves(ref), strict=True):
            np.testing.assert_allclose(g.data, r.numpy())


def test_autograd_functional_jacobian_bool_output_and_strict_vectorize():
    # a bool output: a zero Jacobian of the input's dtype, as PyTorch (npgrad raised from the engine)
    got = NAF.jacobian(lambda a: a > 0, _n(_X.astype(np.float32)))
    ref = TAF.jacobian(lambda a: a > 0, torch.tensor(_X.astype(np.float32)))
    assert got.dtype == np.float32 and ref.dtype == torch.float32
    np.testing.assert_array_equal(got.data, ref.numpy())
    with pytest.raises(RuntimeError):
        TAF.jacobian(lambda a: a * a, torch.tensor(_X), strict=True, vectorize=True)
    with pytest.raises(RuntimeError, match="strict=True.*vectorize=True"):
        NAF.jacobian(lambda a: a * a, _n(_X), strict=True, vectorize=True)
