"""Forward-mode AD (npg.autograd.forward_ad, func.jvp / jacfwd / hessian) against torch.func and
torch.autograd.forward_ad, and against central finite differences.

Every op of the op table (tests/test_ops_table.py CASES) has its JVP checked against ``torch.func.jvp`` in
float64 and float32 (dtype kept), against finite differences, and is checked not to use the transposed-VJP
fallback (every op there declares a JVP rule).
"""
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfwAD
import torch.func as tf

import npgrad as npg
import npgrad.autograd.forward_ad as fwAD
from npgrad import func
from tests.helpers import TOL, assert_close
from tests.test_ops_table import CASES, PARAMS, make_inputs

T = torch.tensor


def _tangents(arrays, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]


def npg_jvp(fn, arrays, tangents):
    """(primal, tangent) of ``fn`` at ``arrays`` along ``tangents`` with npgrad's forward_ad; the tangent is
    None when the output has none. Records the ops that fell back to the transposed VJP."""
    fwAD.FALLBACK_OPS.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with fwAD.dual_level():
            xs = [fwAD.make_dual(npg.tensor(a, requires_grad=False), npg.tensor(t, requires_grad=False))
                  for a, t in zip(arrays, tangents)]
            out = fn(*xs)
            primal, tangent = fwAD.unpack_dual(out)
    return primal, tangent


# torch's forward-mode formula for fmax / fmin picks the other operand's tangent at ties, while its backward
# sends the gradient to the first operand; npgrad's JVP is the transpose of its VJP (torch's backward), so
# these are checked against ``J t`` from torch's reverse mode.
REVERSE_ORACLE = {"fmax_ties", "fmin_ties"}


def torch_jvp(tfn, arrays, tangents, name=""):
    """torch's ``J t``: ``torch.func.jvp``, or ``J t`` from its reverse-mode Jacobian for the cases above and
    for torch functions that cannot run in forward mode (those that read values through NumPy)."""
    xs, ts = tuple(T(a) for a in arrays), tuple(T(t) for t in tangents)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name not in REVERSE_ORACLE:
            try:
                out, jv = tf.jvp(tfn, xs, ts)
                return out.detach().numpy(), jv.detach().numpy()
            except RuntimeError as e:
                if "storage" not in str(e):
                    raise
        out = tfn(*xs).detach().numpy()
        jac = torch.autograd.functional.jacobian(tfn, xs)
    jv = np.zeros(out.shape, out.dtype)
    for J, t in zip(jac, tangents):
        jv = jv + np.tensordot(J.numpy(), t, axes=t.ndim)
    return out, jv


def _call(fn, case):
    return lambda *xs: fn(*xs, **case.kwargs)


# ------------------------------------------------------------------------------------ every op in the table
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", PARAMS)
def test_op_jvp_against_torch(case, dtype):
    arrays = make_inputs(case, dtype)
    tangents = _tangents(arrays)
    primal, tangent = npg_jvp(_call(case.fn, case), arrays, tangents)
    assert not fwAD.FALLBACK_OPS, f"{case.id}: ops without a JVP rule: {fwAD.FALLBACK_OPS}"
    tout, tjv = torch_jvp(_call(case.tfn, case), arrays, tangents, case.name)
    assert_close(primal, tout, what=f"{case.id} primal")
    if tangent is None:
        assert primal.dtype.kind != "f" or not np.any(tjv), f"{case.id}: no tangent, torch's is {tjv}"
        return
    assert tangent.dtype == primal.dtype == tout.dtype, f"{case.id}: tangent dtype {tangent.dtype}, torch {tout.dtype}"
    assert tangent.shape == primal.shape
    assert_close(tangent, tjv, what=f"{case.id} tangent")


@pytest.mark.parametrize("case", [p for p, c in zip(PARAMS, CASES) if c.fd])
def test_op_jvp_finite_difference(case):
    arrays = make_inputs(case, np.float64, seed=1)
    tangents = _tangents(arrays, seed=2)
    fn = _call(case.fn, case)
    _, tangent = npg_jvp(fn, arrays, tangents)
    eps = 1e-6

    def at(s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(fn(*[npg.tensor(a + s * t, requires_grad=False) for a, t in zip(arrays, tangents)]).data)
    numeric = (at(eps) - at(-eps)) / (2 * eps)
    got = np.zeros(numeric.shape) if tangent is None else tangent.data
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-6, err_msg=case.id, equal_nan=True)
