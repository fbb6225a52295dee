"""Every method a Tensor shares with ``np.ndarray`` (NumPy's meaning wins for shared names: README "Coming from
PyTorch"), called as NumPy accepts it (no argument, an axis 0 / -1, ``axis=``, ``keepdims=``) on arrays of every
kind a tensor holds, against the ndarray method on the same array: dtype, shape and values, or an error where
NumPy raises. Deliberate differences: complex input to PyTorch's real-only ops (clip, round) is a TypeError
naming the op; ``dot`` with a Python number follows NEP 50 (a float32 tensor stays float32); a negative
``repeat`` is refused even on an empty tensor; methods that write into the array or change its memory are
tested elsewhere."""

import numpy as np
import pytest

import npgrad as npg
from tests.helpers import outcome, result_leaves

R = np.random.default_rng(0)
INPUTS = {"f64_2d": R.standard_normal((3, 4)), "f32_2d": R.standard_normal((3, 4)).astype(np.float32),
          "i64_1d": np.array([3, -1, 0, 2, 2]), "bool_1d": np.array([True, False, True]), "f64_0d": np.array(1.5),
          "c128": R.standard_normal(3) + 1j * R.standard_normal(3), "f64_empty": np.zeros((0, 3))}
CALLS = [((), {}), ((0,), {}), ((-1,), {}), ((), {"axis": 0}), ((), {"axis": -1}), ((), {"keepdims": True})]
WRITERS = {"resize", "fill", "itemset", "setfield", "setflags", "sort", "partition", "put", "byteswap", "dump",
           "dumps", "tofile", "view", "getfield", "to_device"}
REFUSED = {("clip", "c128"), ("round", "c128"), ("dot", "f32_2d"), ("repeat", "f64_empty")}
METHODS = sorted(n for n in dir(np.ndarray) if not n.startswith("_") and callable(getattr(np.ndarray, n))
                 and hasattr(npg.Tensor, n) and n not in WRITERS)






@pytest.mark.parametrize("name", METHODS)
def test_shared_method_matches_ndarray(name):
    for key, a in INPUTS.items():
        for args, kwargs in CALLS:
            ok_np, expected = outcome(getattr(a.copy(), name), *args, **kwargs)
            if not ok_np or (name, key) in REFUSED:
                continue
            ok, got = outcome(getattr(npg.tensor(a.copy(), requires_grad=False), name), *args, **kwargs)
            what = f"{key}.{name}(*{args}, **{kwargs})"
            assert ok, f"{what}: npgrad raised {got!r}"
            exp, out = result_leaves(expected), result_leaves(got)
            assert len(exp) == len(out), what
            for e, o in zip(exp, out):
                if not isinstance(e, np.ndarray):
                    assert callable(e) or o == e or (o != o and e != e), f"{what}: {o!r} != {e!r}"
                    continue
                assert (o.shape, o.dtype) == (e.shape, e.dtype), f"{what}: {o.shape} {o.dtype}, NumPy's {e.dtype}"
                if e.dtype.kind in "fc":
                    tol = 1e-5 if e.dtype in (np.float32, np.complex64) else 1e-12
                    np.testing.assert_allclose(o, e, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
                else:
                    np.testing.assert_array_equal(o, e, err_msg=what)


def test_refused_cases_raise_naming_the_op():
    c = npg.tensor(INPUTS["c128"])
    for name in ("clip", "round"):
        with pytest.raises(TypeError, match=name):
            getattr(c, name)(0)
    with pytest.raises(ValueError, match="repeat"):
        npg.tensor(INPUTS["f64_empty"]).repeat(-1)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "argmax", "argmin", "any", "all", "take"])
@pytest.mark.parametrize("axis", [0, -1])
def test_zero_d_axis_under_vmap_matches_the_per_sample_result(name, axis):
    """Axis 0 / -1 of a 0-d sample is the whole sample under vmap as well (the batching rules shifted it past
    the batch axis, to an axis the batched value does not have: an AxisError)."""
    xs = np.array([1.5, -2.0, 0.0])
    args = (0,) if name == "take" else ()
    f = lambda a: getattr(npg, name)(a, *args, axis=axis)  # noqa: E731
    got = npg.func.vmap(f)(npg.tensor(xs, requires_grad=False))
    expected = np.stack([getattr(np, name)(x, *args, axis=axis) for x in xs])
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(np.asarray(got), expected)
