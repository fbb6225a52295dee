"""Every NumPy ufunc npgrad registers (``np.X(tensor)`` through ``__array_ufunc__``) against NumPy itself on the
same arrays: the same values (NaN where NumPy has NaN), the same dtype, an error where NumPy raises, and a result
that never shares memory with an input (NumPy's ufuncs always return new arrays), over every dtype a tensor can
hold and mixed-dtype pairs. The one deliberate difference: ops PyTorch defines for real numbers only (ordering,
maximum / minimum, rint...) refuse complex input with a TypeError naming the op, where NumPy orders complex
numbers lexicographically."""

import numpy as np
import pytest

import npgrad as npg
from npgrad.ops._dispatch import UFUNCS
from npgrad.ops.elementwise import REAL_ONLY
from tests.helpers import outcome

VALUES = {
    "f64": np.array([-2.5, -1.0, -0.0, 0.0, 0.3, 1.0, 2.7, np.inf, np.nan]),
    "f32": np.array([-2.5, -1.0, -0.0, 0.0, 0.3, 1.0, 2.7, np.inf, np.nan], np.float32),
    "i64": np.array([-3, -1, 0, 1, 2, 5, 7, 9, 4]),
    "i32": np.array([-3, -1, 0, 1, 2, 5, 7, 9, 4], np.int32),
    "u8": np.array([0, 1, 2, 3, 5, 7, 200, 255, 4], np.uint8),
    "bool": np.array([True, False, True, False, True, True, False, False, True]),
    "c128": np.array([1 + 2j, -1 - 0.5j, 0j, 3 + 0j, -2j, 0.5 + 0.5j, 1j, 2, -1], np.complex128),
}
MIXED = [("f32", "f64"), ("i64", "f64"), ("f32", "i64"), ("bool", "i64"), ("f64", "c128"), ("u8", "f32")]
COMPLEX_REFUSED = REAL_ONLY | {"fmax", "fmin", "rint"}  # PyTorch's real-only ops (a TypeError naming the op)

UFUNC_LIST = sorted((u for u in UFUNCS if isinstance(u, np.ufunc) and u.nin in (1, 2)), key=lambda u: u.__name__)




def _arrays(r):
    return tuple(_arrays(x)[0] for x in r) if isinstance(r, tuple) else (np.asarray(getattr(r, "data", r)),)


@pytest.mark.parametrize("ufunc", UFUNC_LIST, ids=lambda u: u.__name__)
def test_registered_ufunc_matches_numpy(ufunc):
    combos = [(k,) * ufunc.nin for k in VALUES] + (MIXED if ufunc.nin == 2 else [])
    for combo in combos:
        arrays = [VALUES[k].copy() for k in combo]
        tensors = [npg.tensor(a.copy(), requires_grad=False) for a in arrays]
        ok_np, expected = outcome(ufunc, *arrays)
        ok_npg, got = outcome(ufunc, *tensors)
        what = f"np.{ufunc.__name__}{combo}"
        if not ok_np:
            assert not ok_npg, f"{what}: NumPy raises {expected!r}, npgrad returned a result"
            continue
        if not ok_npg:
            assert "c128" in combo and ufunc.__name__ in COMPLEX_REFUSED, f"{what}: npgrad raised {got!r}"
            assert isinstance(got, TypeError) and ufunc.__name__ in str(got), what
            continue
        exp, out = _arrays(expected), _arrays(got)
        assert len(exp) == len(out), what
        for e, o in zip(exp, out):
            assert o.dtype == e.dtype, f"{what}: dtype {o.dtype}, NumPy {e.dtype}"
            np.testing.assert_array_equal(o, e, err_msg=what)
        outs = got if isinstance(got, tuple) else (got,)
        for o in outs:
            for t in tensors:
                assert not np.shares_memory(np.asarray(getattr(o, "data", o)), t.data), f"{what}: aliases its input"


def test_float_power_of_complex_is_complex_and_differentiable():
    z = np.array([1 + 2j, -0.5 + 0.1j])
    w = npg.tensor(z)
    out = np.float_power(w, 2.5)
    np.testing.assert_allclose(out.data, np.float_power(z, 2.5))
    assert out.dtype == np.complex128
    x = npg.tensor(np.array([0.5, 2.0], np.float32))
    y = npg.float_power(x, 3)
    assert y.dtype == np.float64
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * np.array([0.5, 2.0]) ** 2, rtol=1e-6)
    assert x.grad.dtype == np.float32
