"""Every NumPy function npgrad registers (``np.X(tensor)`` through ``__array_function__``), called with one
array argument the way NumPy accepts it, against NumPy on the same array: the same dtype and shape, the same
values (to a few ulps: npgrad may sum in another order), and an error where NumPy raises. Deliberate differences,
each documented where the function is: cov / corrcoef keep float32 (NumPy computes in float64), ops PyTorch
defines for real numbers only refuse complex input naming the op, ``empty_like``'s values are undefined, and
functions that write into their argument are checked elsewhere (tests/test_numpy_protocol.py, test_inplace.py)."""

import numpy as np
import pytest

import npgrad as npg
from npgrad.ops._dispatch import FUNCTIONS
from tests.helpers import outcome, result_leaves

R = np.random.default_rng(0)
INPUTS = {
    "f64_2d": R.standard_normal((3, 4)),
    "f32_2d": R.standard_normal((3, 4)).astype(np.float32),
    "f64_1d": R.standard_normal(5),
    "i64_1d": np.array([3, -1, 0, 2, 2]),
    "bool_1d": np.array([True, False, True, True, False]),
    "f64_0d": np.array(1.5),
    "f64_empty": np.zeros((0, 3)),
    "c128_1d": R.standard_normal(4) + 1j * R.standard_normal(4),
    "f64_square": R.standard_normal((3, 3)) + 3 * np.eye(3),
}
WRITERS = {"save", "savez", "savez_compressed", "savetxt", "copyto", "place", "put", "putmask", "fill_diagonal"}
FLOAT32_KEPT = {"cov", "corrcoef"}                # a float32 tensor's covariance stays float32 (as torch.cov)
UNDEFINED_VALUES = {"empty_like"}
COMPLEX_REFUSED = {"round", "around", "sinc"}      # real-only in PyTorch: a TypeError naming the op

FUNCS = sorted((f for f in FUNCTIONS if getattr(f, "__name__", "") not in WRITERS),
               key=lambda f: (getattr(f, "__module__", "") or "", f.__name__))






@pytest.mark.parametrize("fn", FUNCS, ids=lambda f: f"{(f.__module__ or 'numpy').replace('numpy.', '')}.{f.__name__}")
def test_registered_function_matches_numpy(fn):
    name = fn.__name__
    for key, a in INPUTS.items():
        ok_np, expected = outcome(fn, a.copy())
        if not ok_np:
            continue  # NumPy does not take this argument alone: nothing to compare
        ok, got = outcome(fn, npg.tensor(a.copy(), requires_grad=False))
        what = f"np.{name}({key})"
        if not ok:
            assert name in COMPLEX_REFUSED and key.startswith("c"), f"{what}: npgrad raised {got!r}"
            assert isinstance(got, TypeError) and name.replace("around", "round") in str(got), what
            continue
        exp, out = result_leaves(expected), result_leaves(got)
        assert len(exp) == len(out), f"{what}: {len(out)} results, NumPy {len(exp)}"
        for e, o in zip(exp, out):
            if not isinstance(e, np.ndarray):
                assert o == e or (o != o and e != e), f"{what}: {o!r} != {e!r}"
                continue
            assert o.shape == e.shape, f"{what}: shape {o.shape}, NumPy {e.shape}"
            if name in FLOAT32_KEPT and a.dtype == np.float32:
                assert o.dtype == np.float32, what
            else:
                assert o.dtype == e.dtype, f"{what}: dtype {o.dtype}, NumPy {e.dtype}"
            if name in UNDEFINED_VALUES:
                continue
            if e.dtype.kind in "fc":
                tol = 1e-5 if np.float32 in (e.dtype, o.dtype) else 1e-12
                np.testing.assert_allclose(o, e.astype(o.dtype), rtol=tol, atol=tol, equal_nan=True, err_msg=what)
            else:
                np.testing.assert_array_equal(o, e, err_msg=what)


PAIRS = {
    "1d,1d": (R.standard_normal(4), R.standard_normal(4)),
    "1d,1d_len3": (R.standard_normal(5), R.standard_normal(3)),
    "2d,2d": (R.standard_normal((3, 3)), R.standard_normal((3, 3))),
    "2d,1d": (R.standard_normal((3, 4)), R.standard_normal(4)),
    "f32,f32": (R.standard_normal(4).astype(np.float32), R.standard_normal(4).astype(np.float32)),
    "c,c": (R.standard_normal(3) + 1j * R.standard_normal(3), R.standard_normal(3) + 1j * R.standard_normal(3)),
    "i,i": (np.array([3, 1, 2]), np.array([1, 2, 2])),
    "3d,2d": (R.standard_normal((2, 3, 3)), R.standard_normal((3, 3))),
}
NOT_COMPARED = {  # NumPy takes these two arguments in a way npgrad refuses with an error naming the op
    "fix": "its second positional argument is out=", "isneginf": "out=", "isposinf": "out=",
    "geomspace": "float32 endpoints keep float32; complex tensor endpoints are refused",
    "roll": "float or complex shifts", "polydiv": "n-d coefficient arrays", "resize": "a tensor as the shape",
    "put_along_axis": "writes in place (tests/test_numpy_nondiff_extra.py)",
}


@pytest.mark.parametrize("fn", [f for f in FUNCS if f.__name__ not in NOT_COMPARED],
                         ids=lambda f: f"{(f.__module__ or 'numpy').replace('numpy.', '')}.{f.__name__}")
def test_registered_function_of_two_arrays_matches_numpy(fn):
    """Two array arguments, each a tensor or an array, against NumPy on the arrays."""
    name = fn.__name__
    for key, (a, b) in PAIRS.items():
        ok_np, expected = outcome(fn, a.copy(), b.copy())
        if not ok_np:
            continue
        for mode in ("tensor, tensor", "tensor, array", "array, tensor"):
            x = npg.tensor(a.copy(), requires_grad=False) if mode.startswith("tensor") else a.copy()
            y = npg.tensor(b.copy(), requires_grad=False) if mode.endswith("tensor") else b.copy()
            ok, got = outcome(fn, x, y)
            what = f"np.{name}({key}: {mode})"
            assert ok, f"{what}: npgrad raised {got!r}"
            exp, out = result_leaves(expected), result_leaves(got)
            assert len(exp) == len(out), what
            for e, o in zip(exp, out):
                if not isinstance(e, np.ndarray):
                    assert callable(e) or o == e or (o != o and e != e), f"{what}: {o!r} != {e!r}"
                    continue
                assert o.shape == e.shape, f"{what}: shape {o.shape}, NumPy {e.shape}"
                if name in FLOAT32_KEPT and a.dtype == np.float32:
                    assert o.dtype == np.float32, what
                    continue
                assert o.dtype == e.dtype, f"{what}: dtype {o.dtype}, NumPy {e.dtype}"
                if name in UNDEFINED_VALUES:
                    continue
                if e.dtype.kind in "fc":
                    tol = 1e-4 if e.dtype in (np.float32, np.complex64) else 1e-9
                    np.testing.assert_allclose(o, e, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
                else:
                    np.testing.assert_array_equal(o, e, err_msg=what)
