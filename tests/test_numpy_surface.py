"""Issue 13's NumPy surface, beyond the op table (tests/test_ops_table.py checks gradients):

* the functions without a gradient (indices, counts, tests, set operations) return NumPy's result,
  arrays as constant tensors, through ``np.X(tensor)`` and ``npg.X``;
* every new differentiable function also works through ``np.X(tensor)`` and gives NumPy's values;
* ``np.pad``'s modes, the order statistics and convolutions agree with NumPy over many sizes;
* edge cases and errors that name the op.
"""
import warnings

import numpy as np
import pytest

import npgrad as npg
import torch

R = np.random.default_rng(0)
X = R.standard_normal((4, 5))
V = R.standard_normal(6)
I = np.array([3, 1, 0, 2, 1, 3, 0])
S = np.array([0.5, 1.0, 1.0, 2.0, 4.5])


def _same(got, expected, what):
    """``got`` (npgrad's result) holds ``expected`` (NumPy's): arrays as tensors of the same dtype,
    tuples element by element, Python scalars as they are."""
    if isinstance(expected, (tuple, list)):  # (named tuples: the same type)
        assert type(got) is type(expected) and len(got) == len(expected), f"{what}: {type(got)} {got!r}"
        for g, e in zip(got, expected):
            _same(g, e, what)
        return
    if isinstance(expected, (np.ndarray, np.generic)):
        assert isinstance(got, npg.Tensor), f"{what}: {type(got).__name__} is not a Tensor"
        assert got.dtype == np.asarray(expected).dtype, f"{what}: dtype {got.dtype} != {np.asarray(expected).dtype}"
        np.testing.assert_array_equal(got.data, expected, err_msg=what)
        # (unique values are elements of the input: differentiable, tests/test_unique_grad.py)
        assert not got.requires_grad or what.split("_")[0] in ("unique", "union1d", "intersect1d", "setdiff1d",
                                                                "setxor1d", "histogram", "histogram2d",
                                                                "histogramdd"), what   # (and their edges)
        return
    assert type(got) is type(expected) and got == expected, f"{what}: {got!r} != {expected!r}"


# ------------------------------------------------------------------ functions without a gradient
NONDIFF = {  # name -> (call on arrays / tensors alike, inputs)
    "argsort": (lambda a: np.argsort(a, axis=1), [X]),
    "argsort_flat": (lambda a: np.argsort(a, axis=None), [X]),
    "argsort_stable": (lambda a: np.argsort(a, kind="stable"), [I]),
    "nonzero": (np.nonzero, [X > 0]),
    "nonzero_1d": (np.nonzero, [I]),
    "where_one_arg": (np.where, [X > 0.5]),
    "argwhere": (np.argwhere, [X > 0]),
    "flatnonzero": (np.flatnonzero, [I]),
    "count_nonzero": (np.count_nonzero, [I]),
    "count_nonzero_axis": (lambda a: np.count_nonzero(a, axis=0, keepdims=True), [X > 0]),
    "searchsorted": (np.searchsorted, [S, V]),
    "searchsorted_right": (lambda a, v: np.searchsorted(a, v, side="right"), [S, np.array([1.0, 3.0])]),
    "unique": (np.unique, [I]),
    "unique_all": (lambda a: np.unique(a, return_index=True, return_inverse=True, return_counts=True), [I]),
    "unique_axis": (lambda a: np.unique(a, axis=0), [np.array([[1, 2], [1, 2], [0, 3]])]),
    "isclose": (np.isclose, [X, X + 1e-9]),
    "isclose_tol": (lambda a, b: np.isclose(a, b, atol=0.1), [X, X + 0.05 * I[:5]]),
    "allclose": (np.allclose, [X, X + 1e-9]),
    "allclose_false": (np.allclose, [X, X + 1.0]),
    "array_equal": (np.array_equal, [X, X.copy()]),
    "array_equal_shape": (np.array_equal, [X, X[:2]]),
    "digitize": (np.digitize, [V, S]),
    "digitize_right": (lambda x, b: np.digitize(x, b, right=True), [V, S]),
    "histogram": (np.histogram, [V]),
    "histogram_bins": (lambda a: np.histogram(a, bins=[-2, 0, 0.5, 3], density=True), [V]),
    "bincount": (np.bincount, [I]),
    "bincount_minlength": (lambda x: np.bincount(x, minlength=7), [I]),
    "lexsort": (np.lexsort, [(I, -I)]),
    "argpartition": (lambda a: np.argpartition(a, 2), [V]),
    "isin": (np.isin, [I, np.array([1, 3])]),
    "nanargmax": (np.nanargmax, [np.where(X > 1, np.nan, X)]),
    "nanargmin": (lambda a: np.nanargmin(a, axis=1), [np.where(X > 1, np.nan, X)]),
    "shape": (np.shape, [X]),
    "ndim": (np.ndim, [X]),
    "size": (np.size, [X]),
    "size_axis": (lambda a: np.size(a, 1), [X]),
    "full_like": (lambda a: np.full_like(a, 7.5), [X]),
    "full_like_int": (lambda a: np.full_like(a, 2), [I]),
}

# NumPy's functions without a gradient added later (npgrad/ops/nondiff_extra.py): each entry calls the namespace
# ``m`` it is given, so that both ``np.X(tensor)`` (NONDIFF) and ``npg.X(tensor)`` (test below) meet NumPy's result.
F = np.array([1.0, -0.0, 0.0, -2.5, np.inf, -np.inf, np.nan, 1e-310])
G, H = np.array([12, -18, 0, 7, 35, -4]), np.array([8, 12, 0, -21, 14, 6])
J, P2 = np.array([2, 5, 3, 9]), R.standard_normal((50, 3))
BITS = np.array([[1, 0, 1], [0, 1, 1]], bool)
MORE = {
    "signbit": (lambda m, a: m.signbit(a), [F]), "signbit_int": (lambda m, a: m.signbit(a), [G]),
    "signbit_0d": (lambda m, a: m.signbit(a), [np.array(-0.0)]), "spacing": (lambda m, a: m.spacing(a), [F]),
    "spacing_f32": (lambda m, a: m.spacing(a), [F.astype(np.float32)]),
    "spacing_empty": (lambda m, a: m.spacing(a), [np.zeros((0, 3))]),
    "isposinf": (lambda m, a: m.isposinf(a), [F]), "isneginf": (lambda m, a: m.isneginf(a), [F]),
    "isposinf_int": (lambda m, a: m.isposinf(a), [G]), "gcd": (lambda m, a, b: m.gcd(a, b), [G, H]),
    "gcd_broadcast": (lambda m, a, b: m.gcd(a, b), [G[:, None], H[:3]]),
    "gcd_int32_0d": (lambda m, a, b: m.gcd(a, b), [G.astype(np.int32), np.int32(6)]),
    "lcm": (lambda m, a, b: m.lcm(a, b), [G, H]), "left_shift": (lambda m, a, b: m.left_shift(a, b), [G, G % 5]),
    "right_shift": (lambda m, a, b: m.right_shift(a, b), [G, G % 5]),
    "left_shift_int8": (lambda m, a, b: m.left_shift(a, b), [np.array([1, -3, 64], np.int8), np.int8(1)]),
    "bitwise_left_shift": (lambda m, a, b: m.bitwise_left_shift(a, b), [G, G % 3]),
    "bitwise_right_shift": (lambda m, a, b: m.bitwise_right_shift(a, b), [G, G % 3]),
    "bitwise_invert": (lambda m, a: m.bitwise_invert(a), [G]), "bitwise_not": (lambda m, a: m.bitwise_not(a), [BITS]),
    "bitwise_count": (lambda m, a: m.bitwise_count(a), [np.array([0, 1, -1, 255, 2 ** 40, -2 ** 62])]),
    "bitwise_count_uint8": (lambda m, a: m.bitwise_count(a), [np.array([0, 7, 255], np.uint8)]),
    "histogram2d": (lambda m, x, y: m.histogram2d(x, y), [P2[:, 0], P2[:, 1]]),
    "histogram2d_opts": (lambda m, x, y: m.histogram2d(x, y, (2, 3), [[-1, 1], [-2, 2]], True), [P2[:, 0], P2[:, 1]]),
    "histogram2d_edges": (lambda m, x, y, b: m.histogram2d(x, y, bins=[b, b]), [P2[:, 0], P2[:, 1], S]),
    "histogram2d_weights": (lambda m, x, y, w: m.histogram2d(x, y, 3, weights=w), [V, V[::-1].copy(), I[:6]]),
    "histogram2d_empty": (lambda m, x, y: m.histogram2d(x, y, 2), [np.zeros(0), np.zeros(0)]),
    "histogramdd": (lambda m, p: m.histogramdd(p, bins=(2, 3, 4)), [P2]),
    "histogramdd_seq": (lambda m, ab: m.histogramdd(ab, bins=3, density=True), [(P2[:, 0], P2[:, 1])]),
    "histogram_bin_edges": (lambda m, a: m.histogram_bin_edges(a, bins="auto"), [P2[:, 0]]),
    "histogram_bin_edges_range": (lambda m, a: m.histogram_bin_edges(a, 4, (-1, 3)), [V.astype(np.float32)]),
    "histogram_bin_edges_empty": (lambda m, a: m.histogram_bin_edges(a), [np.zeros(0)]),
    "diag_indices_from": (lambda m, a: m.diag_indices_from(a), [np.zeros((3, 3, 3))]),
    "tril_indices_from": (lambda m, a: m.tril_indices_from(a, k=-1), [np.zeros((3, 4))]),
    "triu_indices_from": (lambda m, a: m.triu_indices_from(a, 1), [X]),
    "ix_": (lambda m, a, b: m.ix_(a, b), [I[:3], np.array([True, False, True, True])]),
    "ix_empty": (lambda m, a: m.ix_(a), [np.zeros(0, int)]),
    "ravel_multi_index": (lambda m, i, j: m.ravel_multi_index((i, j), (4, 5)), [G % 4, H % 5]),
    "ravel_multi_index_clip": (lambda m, i, j: m.ravel_multi_index((i, j), (4, 5), "clip", "F"), [G, H]),
    "unravel_index": (lambda m, i: m.unravel_index(i, (4, 5)), [np.array([0, 7, 19])]),
    "unravel_index_F_0d": (lambda m, i: m.unravel_index(i, (4, 5), order="F"), [np.array(7)]),
    "unique_all_np2": (lambda m, a: m.unique_all(a), [I]), "unique_counts": (lambda m, a: m.unique_counts(a), [V]),
    "unique_inverse_2d": (lambda m, a: m.unique_inverse(a), [np.array([[3, 1], [1, 2]])]),
    "unique_values": (lambda m, a: m.unique_values(a), [np.array([2.0, np.nan, 2.0, np.nan])]),
    "unique_counts_empty": (lambda m, a: m.unique_counts(a), [np.zeros(0, np.int32)]),
    "union1d": (lambda m, a, b: m.union1d(a, b), [I, J]), "union1d_2d": (lambda m, a, b: m.union1d(a, b), [X, V]),
    "union1d_empty": (lambda m, a, b: m.union1d(a, b), [np.zeros(0), np.zeros(0, np.float32)]),
    "intersect1d": (lambda m, a, b: m.intersect1d(a, b), [I, J]),
    "intersect1d_indices": (lambda m, a, b: m.intersect1d(a, b, return_indices=True), [I, J]),
    "setdiff1d": (lambda m, a, b: m.setdiff1d(a, b), [I, J]), "setxor1d": (lambda m, a, b: m.setxor1d(a, b), [I, J]),
    "setdiff1d_unique": (lambda m, a, b: m.setdiff1d(a, b, assume_unique=True), [J, I[:3]]),
    "packbits": (lambda m, a: m.packbits(a, axis=1), [BITS]),
    "packbits_little": (lambda m, a: m.packbits(a, bitorder="little"), [np.array([3, 0, 1, 1, 0, 0, 0, 0, 1])]),
    "packbits_empty": (lambda m, a: m.packbits(a), [np.zeros(0, bool)]),
    "unpackbits": (lambda m, a: m.unpackbits(a, axis=1, count=-3), [np.array([[5, 255]], np.uint8)]),
    "result_type": (lambda m, a, b: m.result_type(a, b), [X.astype(np.float32), I]),
    "result_type_dtypes": (lambda m, a: m.result_type(a, np.int8, 1.0), [np.ones(2, np.float16)]),
    "common_type": (lambda m, a: m.common_type(a), [I]),
    "common_type_f32": (lambda m, a, b: m.common_type(a, b), [X.astype(np.float32), np.ones(2, np.float32)]),
    "min_scalar_type": (lambda m, a: m.min_scalar_type(a), [np.array(300)]),
    "min_scalar_type_nd": (lambda m, a: m.min_scalar_type(a), [X]),
    "can_cast": (lambda m, a: m.can_cast(a, np.float32), [X]),
    "can_cast_int8": (lambda m, a: m.can_cast(a, np.int64, casting="safe"), [I.astype(np.int8)]),
    "array2string": (lambda m, a: m.array2string(a, precision=3, separator=", "), [X]),
    "array_repr_f32": (lambda m, a: m.array_repr(a), [X.astype(np.float32)]),
    "array_repr_int": (lambda m, a: m.array_repr(a), [I]), "array_str": (lambda m, a: m.array_str(a), [V]),
    "array_str_0d": (lambda m, a: m.array_str(a), [np.array(2.5)]),
    "einsum_path": (lambda m, a, b, c: m.einsum_path("ij,jk,kl->il", a, b, c, optimize="optimal"),
                    [np.ones((2, 3)), np.ones((3, 4)), np.ones((4, 5))]),
}
assert not set(MORE) & set(NONDIFF)
NONDIFF.update({name: (lambda *a, _f=f: _f(np, *a), inputs) for name, (f, inputs) in MORE.items()})


def _tensors(inputs):
    return [tuple(npg.tensor(v) for v in a) if isinstance(a, tuple) else npg.tensor(a) for a in inputs]


@pytest.mark.parametrize("name", list(NONDIFF))
def test_nondifferentiable_through_numpy(name):
    fn, inputs = NONDIFF[name]
    _same(fn(*_tensors(inputs)), fn(*inputs), name)


NPG_NAMES = ["argsort", "nonzero", "argwhere", "flatnonzero", "count_nonzero", "searchsorted", "unique", "isclose",
             "allclose", "array_equal", "digitize", "histogram", "bincount", "lexsort", "argpartition", "isin",
             "shape", "ndim", "size", "nanargmax", "nanargmin"]


@pytest.mark.parametrize("name", NPG_NAMES)
def test_nondifferentiable_npg_names(name):
    fn, inputs = NONDIFF[name]
    direct = {"argsort": lambda a: npg.argsort(a, axis=1), "count_nonzero": npg.count_nonzero,
              "argpartition": lambda a: npg.argpartition(a, 2)}.get(name, getattr(npg, name))
    if name in ("argsort", "argpartition", "count_nonzero"):
        expected = fn(*inputs)
    else:
        expected = getattr(np, name)(*inputs)
    _same(direct(*_tensors(inputs)), expected, name)


@pytest.mark.parametrize("name", list(MORE))
def test_more_nondifferentiable_npg_names(name):
    fn, inputs = MORE[name]
    _same(fn(npg, *_tensors(inputs)), fn(np, *inputs), name)

@pytest.mark.parametrize("a,b", [(F, F[::-1].copy()), (X.astype(np.float32), np.float32(np.inf))])
def test_nextafter_values_through_both_entry_points(a, b):
    """nextafter is differentiable in x1 (the op table checks its gradient against torch); its values, at
    signed zeros, infinities, NaN and subnormals, are NumPy's through ``np.nextafter`` and ``npg.nextafter``."""
    expected = np.nextafter(a, b)
    for got in (np.nextafter(npg.tensor(a), npg.tensor(b)), npg.nextafter(npg.tensor(a), b)):
        assert isinstance(got, npg.Tensor) and got.requires_grad and got.dtype == expected.dtype
        np.testing.assert_array_equal(got.data, expected)


def test_empty_like_and_where_forms():
    t = npg.tensor(X)
    e = np.empty_like(t)
    assert isinstance(e, npg.Tensor) and e.shape == X.shape and e.dtype == X.dtype and not e.requires_grad
    with pytest.raises(ValueError, match="both or neither"):
        np.where(t > 0, t)
    out = np.where(t > 0, t, 0.0)
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, (X > 0).astype(float))


def test_index_results_index_tensors_and_arrays():
    t = npg.tensor(X)
    order = np.argsort(t, axis=None)
    np.testing.assert_array_equal(npg.ravel(t)[order].data, np.sort(X, axis=None))
    np.testing.assert_array_equal(X[np.nonzero(t > 0)], X[X > 0])
    np.testing.assert_array_equal(t[np.nonzero(t > 0)].data, X[X > 0])
    assert t.argsort().shape == X.shape and t.nonzero()[0].dtype.kind == "i"


def test_bincount_differentiable_in_weights():
    w = npg.tensor([1.0, 2.0, 3.0, 4.0])
    out = npg.bincount(np.array([0, 2, 2, 5]), weights=w)
    np.testing.assert_array_equal(out.data, [1.0, 0, 5.0, 0, 0, 4.0])
    (out * npg.tensor(np.arange(6.0))).sum().backward()
    np.testing.assert_array_equal(w.grad, [0.0, 2.0, 2.0, 5.0])


def test_histogram_refuses_weights_that_require_grad():
    with pytest.raises(TypeError, match="histogram: not differentiable in weights"):
        np.histogram(npg.tensor(V), weights=npg.tensor(np.ones(6)))
    with npg.no_grad():
        counts, _ = np.histogram(npg.tensor(V), weights=npg.tensor(np.ones(6)))
    np.testing.assert_array_equal(counts.data, np.histogram(V)[0])


def test_full_like_with_a_fill_tensor_is_differentiable():
    v = npg.tensor(2.0)
    out = np.full_like(npg.tensor(X), v)
    assert out.shape == X.shape and out.requires_grad
    out.sum().backward()
    assert v.grad == X.size


# ------------------------------------------------------- differentiable functions through np.X
A = R.standard_normal((3, 4))
P = R.uniform(0.5, 2.0, (3, 4))
U = R.uniform(-0.9, 0.9, (3, 4))
DIFF = {
    # ufuncs and rounding
    "sinh": (np.sinh, [A]), "cosh": (np.cosh, [A]), "arcsin": (np.arcsin, [U]), "arccos": (np.arccos, [U]),
    "arctan": (np.arctan, [A]), "arcsinh": (np.arcsinh, [A]), "arccosh": (np.arccosh, [P + 1]),
    "arctanh": (np.arctanh, [U]), "arctan2": (np.arctan2, [A, P]), "hypot": (np.hypot, [A, P]),
    "logaddexp": (np.logaddexp, [A, P]), "logaddexp2": (np.logaddexp2, [A, P]), "exp2": (np.exp2, [A]),
    "cbrt": (np.cbrt, [A]), "sinc": (np.sinc, [A]), "deg2rad": (np.deg2rad, [A]), "rad2deg": (np.rad2deg, [A]),
    "degrees": (np.degrees, [A]), "radians": (np.radians, [A]), "fmax": (np.fmax, [A, U]),
    "fmin": (np.fmin, [A, U]), "fmod": (np.fmod, [A * 3, P]), "trunc": (np.trunc, [A * 3]),
    "fix": (np.fix, [A * 3]), "rint": (np.rint, [A * 3]), "copysign": (np.copysign, [P, A]),
    "heaviside": (np.heaviside, [np.round(A), P]),
    "nan_to_num": (np.nan_to_num, [np.array([np.nan, np.inf, -np.inf, 1.5])]),
    "round_decimals": (lambda a: np.round(a, 2), [A]), "around": (lambda a: np.around(a, 1), [A]),
    "round_negative": (lambda a: np.round(a * 100, -1), [A]),
    # array helpers
    "vstack": (lambda a, b: np.vstack([a, b]), [A, P]), "hstack": (lambda a, b: np.hstack((a, b)), [A, P]),
    "dstack": (lambda a, b: np.dstack([a, b]), [A, P]), "column_stack": (lambda a: np.column_stack([a[0], a[1]]), [A]),
    "append": (np.append, [A, P]), "append_axis": (lambda a, b: np.append(a, b, axis=1), [A, P]),
    "array_split": (lambda a: np.array_split(a, 3, axis=1), [A]), "hsplit": (lambda a: np.hsplit(a, 2), [A]),
    "vsplit": (lambda a: np.vsplit(a, [1]), [A]), "dsplit": (lambda a: np.dsplit(a[..., None], 1), [A]),
    "atleast_1d": (np.atleast_1d, [np.float64(2.0)]), "atleast_3d": (np.atleast_3d, [A]),
    "roll": (lambda a: np.roll(a, -3), [A]), "roll_axes": (lambda a: np.roll(a, (1, 5), axis=(0, 1)), [A]),
    "rollaxis": (lambda a: np.rollaxis(a[..., None], 2), [A]), "rot90": (lambda a: np.rot90(a, 3), [A]),
    "fliplr": (np.fliplr, [A]), "flipud": (np.flipud, [A]), "tril": (lambda a: np.tril(a, -1), [A]),
    "triu": (lambda a: np.triu(a, 1), [A]), "trace": (lambda a: np.trace(a, 1), [A]),
    "diag": (lambda a: np.diag(a[0], -2), [A]), "diag_2d": (lambda a: np.diag(a, 1), [A]),
    "diagonal": (lambda a: np.diagonal(a, -1), [A]), "diagflat": (np.diagflat, [A[:2, :2]]),
    "diff": (lambda a: np.diff(a, 2, axis=0), [A]), "ediff1d": (lambda a: np.ediff1d(a, to_begin=[7.0]), [A]),
    "gradient": (lambda a: np.gradient(a), [A]), "gradient_coords": (lambda a: np.gradient(a[0], S[:4] ** 2), [A]),
    "gradient_edge2": (lambda a: np.gradient(a, 0.5, edge_order=2, axis=1), [A]),
    "kron": (np.kron, [A[:2, :2], P[:2]]), "cross": (np.cross, [A[:, :3], P[:, :3]]),
    "select": (lambda a, b: np.select([a > 0, b > 1], [a, b], default=-1.0), [A, P]),
    "copy": (np.copy, [A]), "pad_reflect": (lambda a: np.pad(a, ((1, 2), (3, 0)), mode="reflect"), [A]),
    "einsum_sublist": (lambda a, b: np.einsum(a, [0, 1], b, [0, 1], [1]), [A, P]),
    # sorting and order statistics
    "sort": (np.sort, [A]), "sort_axis0": (lambda a: np.sort(a, axis=0), [A]),
    "partition": (lambda a: np.partition(a, 1, axis=0), [A]), "median": (np.median, [A]),
    "median_axis": (lambda a: np.median(a, axis=1), [A]), "quantile": (lambda a: np.quantile(a, [0.2, 0.7], 0), [A]),
    "percentile": (lambda a: np.percentile(a, 40, axis=1, method="midpoint"), [A]),
    "nanmedian": (lambda a: np.nanmedian(a, axis=0), [np.where(A > 1, np.nan, A)]),
    # statistics
    "average": (lambda a, w: np.average(a, axis=1, weights=w), [A, P]), "cov": (np.cov, [A]),
    "corrcoef": (np.corrcoef, [A]), "ptp": (lambda a: np.ptp(a, axis=0), [A]),
    "nansum": (np.nansum, [np.where(A > 1, np.nan, A)]), "nanmean": (np.nanmean, [np.where(A > 1, np.nan, A)]),
    "nanvar": (np.nanvar, [np.where(A > 1, np.nan, A)]), "nanstd": (np.nanstd, [np.where(A > 1, np.nan, A)]),
    "nanmax": (np.nanmax, [np.where(A > 1, np.nan, A)]), "nanmin": (np.nanmin, [np.where(A > 1, np.nan, A)]),
    "nanprod": (np.nanprod, [np.where(A > 1, np.nan, A)]),
    "nancumsum": (lambda a: np.nancumsum(a, axis=1), [np.where(A > 1, np.nan, A)]),
    "convolve": (np.convolve, [A[0], P[0, :3]]), "correlate": (lambda a, v: np.correlate(a, v, "same"), [A[0], P[0]]),
    "interp": (lambda x, fp: np.interp(x, S, fp), [A * 3, V[:5]]),
    "cumulative_sum": (lambda a: np.cumulative_sum(a, axis=0), [A]),
    "linspace": (lambda a, b: np.linspace(a, b, 7), [A[0], P[0]]),
    "geomspace": (lambda a, b: np.geomspace(a, b, 4), [P[0], P[1]]),
    "logspace": (lambda a, b: np.logspace(a, b, 4, base=3.0), [A[0], P[0]]),
}


def _values(out):
    if isinstance(out, (tuple, list)):
        return [_values(o) for o in out]
    return np.asarray(out.data if isinstance(out, npg.Tensor) else out)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(DIFF))
def test_differentiable_through_numpy(name):
    fn, inputs = DIFF[name]
    tensors = [npg.tensor(a) for a in inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fn(*inputs)
    out = fn(*tensors)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    exps = list(expected) if isinstance(expected, (tuple, list)) else [expected]
    assert len(outs) == len(exps), name
    for o, e in zip(outs, exps):
        assert isinstance(o, npg.Tensor), f"{name}: {type(o).__name__}"
        assert o.shape == np.shape(e), f"{name}: shape {o.shape} != {np.shape(e)}"
        np.testing.assert_allclose(o.data, e, rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=name)
    assert any(o.requires_grad for o in outs), f"{name}: the result is cut from the graph"
    total = sum(npg.nansum(o) for o in outs if o.requires_grad)
    total.backward()
    assert any(t.grad is not None for t in tensors), name


# ------------------------------------------------------------------------ agreement with NumPy
@pytest.mark.parametrize("mode", ["edge", "wrap", "reflect", "symmetric", "reflect-odd", "symmetric-odd",
                                  "linear_ramp", "maximum", "minimum", "mean", "median"])
def test_pad_matches_numpy(mode):
    mode, _, odd = mode.partition("-")
    kw = {"reflect_type": "odd"} if odd else {}
    rng = np.random.default_rng(1)
    for shape in [(1,), (2,), (3,), (4, 5), (2, 1, 3)]:
        for before in [0, 1, 2, 3, 7, 11]:
            for after in [0, 2, 9]:
                x = rng.standard_normal(shape)
                widths = [(before, after)] * len(shape)
                extra = dict(kw)
                if mode == "linear_ramp":
                    extra["end_values"] = (0.5, -1.0)
                if mode in ("maximum", "mean", "median") and before == 3:
                    extra["stat_length"] = 2
                got = np.pad(npg.tensor(x), widths, mode=mode, **extra)
                np.testing.assert_allclose(got.data, np.pad(x, widths, mode=mode, **extra), rtol=1e-13, atol=1e-13,
                                           err_msg=f"{mode} {shape} {widths} {extra}")


def test_pad_empty_mode_and_errors():
    t = npg.tensor(A)
    assert np.pad(t, 2, mode="empty").shape == (7, 8)
    with pytest.raises(ValueError, match="pad: mode 'bogus'"):
        npg.pad(t, 1, mode="bogus")
    with pytest.raises(ValueError, match="unsupported keyword"):
        npg.pad(t, 1, mode="edge", stat_length=2)
    with pytest.raises(ValueError, match="empty axis"):
        npg.pad(npg.zeros(0, 3), 1, mode="reflect")


@pytest.mark.parametrize("fn", ["correlate", "convolve"])
def test_convolutions_match_numpy(fn):
    rng = np.random.default_rng(2)
    for n in range(1, 7):
        for m in range(1, 7):
            a, v = rng.standard_normal(n), rng.standard_normal(m)
            for mode in ("full", "same", "valid"):
                got = getattr(np, fn)(npg.tensor(a), npg.tensor(v), mode)
                np.testing.assert_allclose(got.data, getattr(np, fn)(a, v, mode), rtol=1e-12, atol=1e-12,
                                           err_msg=f"{fn} {n} {m} {mode}")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_order_statistics_match_numpy():
    rng = np.random.default_rng(3)
    for shape in [(7,), (4, 6), (3, 4, 5), (1,), ()]:
        x = rng.standard_normal(shape)
        xn = x.copy()
        if xn.size > 1:
            xn.flat[::3] = np.nan
        for axis in [None, 0, -1, (0, 1)]:
            try:
                np.median(x, axis=axis)
            except (np.exceptions.AxisError, ValueError):
                continue
            for q in [0.5, [0.1, 0.9], [[0.0, 1.0], [0.33, 0.77]]]:
                for method in ["linear", "lower", "higher", "nearest", "midpoint"]:
                    for keepdims in (False, True):
                        got = npg.quantile(npg.tensor(x), q, axis=axis, method=method, keepdims=keepdims)
                        np.testing.assert_array_equal(got.data, np.quantile(x, q, axis=axis, method=method,
                                                                            keepdims=keepdims))
            for name in ("median", "nanmedian"):
                np.testing.assert_allclose(getattr(npg, name)(npg.tensor(xn), axis=axis).data,
                                           getattr(np, name)(xn, axis=axis), equal_nan=True)
            np.testing.assert_allclose(npg.nanpercentile(npg.tensor(xn), [10, 50], axis=axis).data,
                                       np.nanpercentile(xn, [10, 50], axis=axis), equal_nan=True)


def test_topk_kthvalue_indices_match_torch():
    x = R.standard_normal((3, 7))
    for k, dim, largest in [(3, -1, True), (2, 0, False), (7, 1, True)]:
        v, i = npg.topk(npg.tensor(x), k, dim=dim, largest=largest)
        tv, ti = torch.topk(torch.tensor(x), k, dim=dim, largest=largest)
        np.testing.assert_array_equal(v.data, tv.numpy())
        np.testing.assert_array_equal(i.data, ti.numpy())
        assert i.dtype == np.int64 and not i.requires_grad
    v, i = npg.kthvalue(npg.tensor(x), 3, dim=1, keepdim=True)
    tv, ti = torch.kthvalue(torch.tensor(x), 3, dim=1, keepdim=True)
    np.testing.assert_array_equal(v.data, tv.numpy())
    np.testing.assert_array_equal(i.data, ti.numpy())


def test_ties_are_taken_in_order_of_position():
    x = npg.tensor([3.0, 1.0, 3.0, 2.0, 3.0, 1.0])
    np.testing.assert_array_equal(npg.topk(x, 2)[1].data, [0, 2])
    np.testing.assert_array_equal(npg.topk(x, 2, largest=False)[1].data, [1, 5])
    np.testing.assert_array_equal(npg.kthvalue(x, 2)[1].data, 5)
    values, _ = npg.topk(x, 2)
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 0, 1.0, 0, 0, 0])  # each selected element gets its whole gradient
    s = npg.sort(npg.tensor([2.0, np.nan, 1.0, 2.0]))
    np.testing.assert_array_equal(s.data, [1.0, 2.0, 2.0, np.nan])  # NaN last, as NumPy and PyTorch


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the float max times a weight overflows: as torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_to_num_gradient_as_torch(dtype):
    x = np.array([np.nan, np.inf, -np.inf, 1.5, -2.0], dtype=dtype)
    w = np.arange(1.0, 6.0, dtype=dtype)
    for kw in [{}, dict(nan=1.0, posinf=3.0, neginf=-3.0)]:
        t, tt = npg.tensor(x), torch.tensor(x, requires_grad=True)
        out = npg.nan_to_num(t, **kw)
        (out * w).sum().backward()
        tout = torch.nan_to_num(tt, **kw)
        (tout * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        np.testing.assert_array_equal(t.grad, tt.grad.numpy())
        assert out.dtype == dtype


def test_round_with_decimals_everywhere():
    t = npg.tensor([0.1234, -2.5678, 12.5])
    for out in (np.round(t, 2), npg.round(t, decimals=2), t.round(2), np.around(t, 2)):
        np.testing.assert_array_equal(out.data, np.round(t.data, 2))
        assert out.requires_grad
    np.round(t, 1).sum().backward()
    np.testing.assert_array_equal(t.grad, np.zeros(3))


# ------------------------------------------------------------------------------ errors, edges
@pytest.mark.parametrize("call, match", [
    (lambda: npg.hsplit(npg.tensor(1.0), 1), "hsplit"),
    (lambda: npg.vsplit(npg.tensor([1.0, 2.0]), 2), "vsplit"),
    (lambda: npg.cross(npg.ones(4), npg.ones(4)), "cross"),
    (lambda: npg.topk(npg.ones(3), 4), "topk"),
    (lambda: npg.kthvalue(npg.ones(3), 0), "kthvalue"),
    (lambda: npg.quantile(npg.ones(3), 1.5), "quantile"),
    (lambda: npg.percentile(npg.ones(3), -1), "percentile"),
    (lambda: npg.quantile(npg.ones(3), 0.5, method="bogus"), "quantile"),
    (lambda: npg.diag(npg.ones((2, 2, 2))), "diag"),
    (lambda: npg.diagonal(npg.ones(3)), "diagonal"),
    (lambda: npg.rot90(npg.ones((2, 2)), axes=(0, 0)), "rot90"),
    (lambda: npg.gradient(npg.ones(1)), "at least"),
    (lambda: npg.average(npg.ones((2, 3)), weights=npg.ones(3)), "axis must be specified"),
    (lambda: npg.average(npg.ones(3), weights=npg.zeros(3)), "sum to zero"),
    (lambda: npg.convolve(npg.ones(3), npg.ones((2, 2))), "convolve"),
    (lambda: npg.interp(npg.ones(3), [1.0, 2.0], [1.0]), "interp"),
    (lambda: npg.cumulative_sum(npg.ones((2, 2))), "cumulative_sum"),
    (lambda: npg.select([np.array([1, 0])], [npg.ones(2)]), "select"),
    (lambda: npg.quantile(npg.ones(3), npg.tensor(0.5)), "not differentiable in q"),
    (lambda: npg.einsum(npg.ones(3), [60]), "einsum"),
    (lambda: npg.linspace(npg.tensor(0.0), 1.0, -1), "linspace"),
    (lambda: npg.geomspace(npg.tensor(0.0), 1.0, 3), "geomspace"),
])
def test_errors_name_the_op(call, match):
    with pytest.raises((ValueError, TypeError, ZeroDivisionError, np.exceptions.AxisError), match=match):
        call()


def test_zero_d_and_size_zero_inputs():
    z = npg.tensor(2.0)
    assert npg.sinh(z).shape == () and npg.atleast_2d(z).shape == (1, 1) and npg.sort(npg.ones(0)).shape == (0,)
    assert npg.roll(npg.zeros(0, 3), 2, axis=0).shape == (0, 3)
    assert npg.median(npg.tensor([[1.0, 2.0, 4.0]]), axis=1).data.tolist() == [2.0]
    assert npg.diff(npg.zeros(3, 0)).shape == (3, 0)
    assert npg.kron(npg.tensor(2.0), npg.tensor(3.0)).item() == 6.0
    assert npg.trace(npg.zeros(0, 0)).item() == 0.0
    assert npg.nansum(npg.zeros(0)).item() == 0.0


def test_float32_stays_float32():
    x = npg.tensor(A.astype(np.float32))
    for out in (npg.sinh(x), npg.hypot(x, 2.0), npg.sort(x), npg.median(x), npg.quantile(x, 0.3),
                npg.cov(x), npg.corrcoef(x), npg.nanvar(x), npg.gradient(x, axis=0), npg.pad(x, 1, mode="mean"),
                npg.interp(x, S[:4].astype(np.float32), x[0]),
                npg.linspace(x[0, 0], 2.0, 3), npg.diff(x, prepend=0.5), npg.tril(x), npg.average(x, axis=0)):
        assert out.dtype == np.float32, out


# --------------------------------------------------------------- dtype= and casting= of the joining functions
# hstack/vstack took casting= and ignored it (a float stacked as int was truncated where NumPy refuses);
# concatenate/stack had no dtype= at all.
@pytest.mark.parametrize("name", ["hstack", "vstack", "concatenate", "stack"])
@pytest.mark.parametrize("kw", [dict(dtype=np.int64), dict(dtype=np.int64, casting="safe"),
                                dict(dtype=np.int64, casting="unsafe"), dict(dtype=np.float32),
                                dict(dtype=np.float32, casting="no"), dict(dtype=np.complex128, casting="safe")],
                         ids=str)
def test_joining_with_dtype_and_casting_like_numpy(name, kw):
    a, b = np.array([1.5, 2.5]), np.array([1.0, 2.0])
    try:
        expected = getattr(np, name)([a, b], **kw)
    except TypeError:
        with pytest.raises(TypeError, match=f"{name}: Cannot cast"):
            getattr(npg, name)([npg.tensor(a), npg.tensor(b)], **kw)
        return
    got = getattr(npg, name)([npg.tensor(a), npg.tensor(b)], **kw)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.data, expected)


def test_joining_with_dtype_is_differentiable():
    x = npg.tensor(np.ones(3))
    npg.stack([x, x * 2], dtype=np.float32).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, np.full(3, 3.0))
