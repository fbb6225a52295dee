"""The rest of NumPy's array functions on tensors (npgrad/ops/manipulation.py, numeric.py, putting.py), beyond
the op table (tests/test_ops_table.py checks their gradients against PyTorch, finite differences, second order,
vmap and forward mode):

* NumPy's values, dtypes and shapes, through ``np.X(tensor)`` and ``npg.X``, on edge cases (0-d, size-0,
  negative axes, int / bool / float32 inputs);
* the in-place writers (copyto, fill_diagonal, put, putmask, place) against PyTorch's in-place code on a clone
  (index_put_ / masked_scatter_ / copy_ / put_), with PyTorch's errors for a leaf that requires grad;
* trim_zeros, whose shape depends on the data (so not in the op table: vmap cannot batch it);
* errors that name the op, of NumPy's exception types.
"""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg

R = np.random.default_rng(7)
A = R.standard_normal((3, 4))
V = R.standard_normal(5)
I = np.array([[3, 0, -2], [1, 5, 2]])
B = np.array([True, False, True, True, False])
F32 = A.astype(np.float32)


# ------------------------------------------------------------------------------- NumPy's values
def _same(got, expected, what):
    if isinstance(expected, (tuple, list)):
        assert isinstance(got, type(expected)) and len(got) == len(expected), f"{what}: {type(got).__name__}"
        for g, e in zip(got, expected):
            _same(g, e, what)
        return
    assert isinstance(got, npg.Tensor), f"{what}: {type(got).__name__} is not a Tensor"
    expected = np.asarray(expected)
    assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype} != {expected.dtype}"
    assert got.shape == expected.shape, f"{what}: shape {got.shape} != {expected.shape}"
    np.testing.assert_array_equal(got.data, expected, err_msg=what)


# name -> (call(m, *inputs) with m = np or npg, inputs); each runs on arrays (NumPy: the expected result), and on
# tensors through np.X (dispatch) and npg.X.
AGREE = {
    "meshgrid": (lambda m, a, b: m.meshgrid(a, b), [V, A]),
    "meshgrid_ij_sparse": (lambda m, a, b: m.meshgrid(a, b, indexing="ij", sparse=True), [V, A[0]]),
    "meshgrid_3": (lambda m, a, b, c: m.meshgrid(a, b, c, copy=False), [V[:2], A[0], np.float64(3.0)]),
    "meshgrid_one": (lambda m, a: m.meshgrid(a), [A]),
    "meshgrid_int_f32": (lambda m, a, b: m.meshgrid(a, b), [I[0], F32[0]]),
    "meshgrid_empty": (lambda m, a, b: m.meshgrid(a, b), [np.zeros(0), V]),
    "broadcast_arrays": (lambda m, a, b, c: m.broadcast_arrays(a, b, c), [A, V[:4], np.float64(1.0)]),
    "broadcast_arrays_same": (lambda m, a, b: m.broadcast_arrays(a, b), [A, A * 2]),
    "broadcast_arrays_int": (lambda m, a, b: m.broadcast_arrays(a, b), [I, np.zeros((4, 1, 1), np.float32)]),
    "block": (lambda m, a, b, c: m.block([[a, b], [c, 7.0]]), [A[:2, :2], A[:2, :1], A[2:, :2]]),
    "block_1d": (lambda m, a, b: m.block([a, b, 1]), [V, I[0]]),
    "block_deep": (lambda m, a, b: m.block([[[a, b]], [[b, a]]]), [A[:1, :2], A[:1, 2:]]),
    "block_0d_f32": (lambda m, a: m.block([[a, a], [a, a]]), [np.float32(2.0)]),
    "block_leaf": (lambda m, a: m.block(a), [F32]),
    "block_empty_part": (lambda m, a, b: m.block([a, b]), [np.zeros((2, 0)), A[:2]]),
    "choose": (lambda m, c0, c1: m.choose(I % 2, [c0, c1]), [A[:2, :3], V[:3]]),
    "choose_wrap": (lambda m, c0, c1, c2: m.choose(I, [c0, c1, c2], mode="wrap"), [A[:2, :3], V[:3], A[0, :1]]),
    "choose_clip": (lambda m, c0, c1: m.choose(I, [c0, c1], mode="clip"), [A[:2, :3], V[:3]]),
    "choose_bool_index": (lambda m, c: m.choose(B, c), [np.stack([V, -V])]),
    "choose_scalars": (lambda m, c: m.choose(np.array([1, 0, 1]), [c, 0.5]), [F32[0, :3]]),
    "choose_int": (lambda m, c: m.choose(np.array([1, 0]), [c, 9]), [I[0, :2]]),
    "choose_0d": (lambda m, c: m.choose(1, [c, c * 2]), [np.float64(1.5)]),
    "compress": (lambda m, a: m.compress([1, 0, 1], a, axis=0), [A]),
    "compress_neg_axis": (lambda m, a: m.compress(B[:4], a, axis=-1), [A]),
    "compress_flat_short": (lambda m, a: m.compress(B, a), [A]),
    "compress_0d": (lambda m, a: m.compress([True], a), [np.float64(2.0)]),
    "compress_empty": (lambda m, a: m.compress([0, 0, 0], a, axis=0), [A]),
    "compress_int": (lambda m, a: m.compress([1, 0], a, axis=1), [I]),
    "extract": (lambda m, a: m.extract(a > 0, a), [A]),
    "extract_short": (lambda m, a: m.extract([0, 1, 1], a), [A]),
    "extract_f32": (lambda m, a: m.extract(np.ones(12), a), [F32]),
    "delete": (lambda m, a: m.delete(a, [0, -1, 0], axis=1), [A]),
    "delete_flat": (lambda m, a: m.delete(a, 5), [A]),
    "delete_slice": (lambda m, a: m.delete(a, slice(1, None, 2), axis=-2), [A]),
    "delete_mask": (lambda m, a: m.delete(a, np.array([False, True, True]), axis=0), [A]),
    "delete_empty_obj": (lambda m, a: m.delete(a, [], axis=0), [A]),
    "delete_2d_obj": (lambda m, a: m.delete(a, [[0, 1]]), [V]),
    "delete_0d": (lambda m, a: m.delete(a, 0), [np.float64(3.0)]),
    "delete_int": (lambda m, a: m.delete(a, 1, axis=0), [I]),
    "insert": (lambda m, a, v: m.insert(a, 1, v, axis=1), [A, V[:3]]),
    "insert_list": (lambda m, a, v: m.insert(a, [1], v, axis=1), [A, V[:3]]),
    "insert_many": (lambda m, a, v: m.insert(a, [4, 0, 0, -1], v, axis=-1), [A, V[:4]]),
    "insert_flat": (lambda m, a, v: m.insert(a, [2, 2], v), [A, V[:2]]),
    "insert_scalar_value": (lambda m, a: m.insert(a, 0, 7.5, axis=0), [A]),
    "insert_slice": (lambda m, a, v: m.insert(a, slice(None), v), [V, V * 2]),
    "insert_mask": (lambda m, a, v: m.insert(a, np.array([True, False, True, False, False]), v), [V, V[:2]]),
    "insert_end": (lambda m, a, v: m.insert(a, 3, v, axis=0), [A, V[:4]]),
    "insert_empty_obj": (lambda m, a: m.insert(a, [], 1.0), [V]),
    "insert_into_int": (lambda m, a, v: m.insert(a, 1, v), [I[0], V[:1] + 2.7]),
    "insert_f64_into_f32": (lambda m, a, v: m.insert(a, [0, 3], v, axis=1), [F32, V[:2]]),
    "insert_0d": (lambda m, a: m.insert(a, 0, 1.0), [np.float64(3.0)]),
    "insert_size0": (lambda m, a, v: m.insert(a, 0, v, axis=0), [np.zeros((0, 2)), V[:2]]),
    "resize": (lambda m, a: m.resize(a, (5, 3)), [A]),
    "resize_int_shape": (lambda m, a: m.resize(a, 7), [V]),
    "resize_shrink": (lambda m, a: m.resize(a, (2, 2)), [F32]),
    "resize_0d_out": (lambda m, a: m.resize(a, ()), [V]),
    "resize_empty_in": (lambda m, a: m.resize(a, (2, 3)), [np.zeros((0, 2), np.float32)]),
    "resize_empty_out": (lambda m, a: m.resize(a, (0, 4)), [V]),
    "resize_int": (lambda m, a: m.resize(a, (3, 3)), [I]),
    "sort_complex": (lambda m, a: m.sort_complex(a), [A]),
    "sort_complex_f32": (lambda m, a: m.sort_complex(a), [F32]),
    "sort_complex_int8": (lambda m, a: m.sort_complex(a), [I.astype(np.int8)]),
    "sort_complex_int64": (lambda m, a: m.sort_complex(a), [I]),
    "sort_complex_complex": (lambda m, a: m.sort_complex(a), [np.array([[1 + 2j, 1 - 1j, -3j], [2, 2 + 1j, 2 - 1j]])]),
    "sort_complex_nan": (lambda m, a: m.sort_complex(a), [np.array([2.0, np.nan, -1.0])]),
    "piecewise": (lambda m, a: m.piecewise(a, [A > 0, A < -0.5], [lambda v: v * 2, 3.0, lambda v: v ** 2]), [A]),
    "piecewise_single_cond": (lambda m, a: m.piecewise(a, V > 0, [lambda v: v + 1]), [V]),
    "piecewise_int": (lambda m, a: m.piecewise(a, [I > 0], [lambda v: v * 2.6, 1]), [I]),
    "piecewise_0d": (lambda m, a: m.piecewise(a, [True, False], [lambda v: v * 2, lambda v: v]), [np.float64(2.5)]),
    "piecewise_f32": (lambda m, a: m.piecewise(a, [F32 > 0], [lambda v: v * 0.5, 1.0]), [F32]),
    "piecewise_empty_cond": (lambda m, a: m.piecewise(a, [np.zeros(5, bool)], [lambda v: 1 / v]), [V]),
    "apply_along_axis": (lambda m, a: m.apply_along_axis(lambda v: v[::-1] * 2, 1, a), [A]),
    "apply_along_axis_scalar": (lambda m, a: m.apply_along_axis(lambda v: (v * v).sum(), -2, a), [A]),
    "apply_along_axis_2d": (lambda m, a: m.apply_along_axis(lambda v: v[:, None] * v, 0, a), [A]),
    "apply_along_axis_args": (lambda m, a: m.apply_along_axis(lambda v, s, t=1: v * s + t, 1, a, 3.0, t=2), [F32]),
    "apply_along_axis_1d": (lambda m, a: m.apply_along_axis(lambda v: v.max(), 0, a), [V]),
    "trapezoid": (lambda m, y: m.trapezoid(y), [A]),
    "trapezoid_dx": (lambda m, y: m.trapezoid(y, dx=0.25, axis=0), [F32]),
    "trapezoid_x": (lambda m, y, x: m.trapezoid(y, x, axis=-2), [A, V[:3]]),
    "trapezoid_x_nd": (lambda m, y, x: m.trapezoid(y, x), [A, np.cumsum(np.abs(A), axis=1)]),
    "trapezoid_int": (lambda m, y: m.trapezoid(y), [I]),
    "trapezoid_one": (lambda m, y: m.trapezoid(y), [V[:1]]),
    "unwrap": (lambda m, p: m.unwrap(p), [A * 5]),
    "unwrap_axis0": (lambda m, p: m.unwrap(p, axis=0), [A * 5]),
    "unwrap_period": (lambda m, p: m.unwrap(p, period=4.0, discont=3.0), [V * 4]),
    "unwrap_f32": (lambda m, p: m.unwrap(p), [F32 * 5]),
    "unwrap_int": (lambda m, p: m.unwrap(p), [np.array([0, 5, 11, 3])]),
    "unwrap_int_period": (lambda m, p: m.unwrap(p, period=6), [np.array([0, 3, 5, 9, 2, -4])]),
    "unwrap_boundary": (lambda m, p: m.unwrap(p, period=4.0), [np.array([0.0, 2.0, 4.0, 2.0, 0.0])]),
    "unwrap_empty": (lambda m, p: m.unwrap(p), [np.zeros((2, 0))]),
    "ldexp": (lambda m, x: m.ldexp(x, I[0]), [A[:2, :3]]),
    "ldexp_f32": (lambda m, x: m.ldexp(x, 3), [F32]),
    "ldexp_int": (lambda m, x: m.ldexp(x, 2), [I]),
    "ldexp_extremes": (lambda m, x: m.ldexp(x, np.array([1100, -1100, 0])),
                       [np.array([1e-300, 1e300, np.inf])]),
    "frexp": (lambda m, x: m.frexp(x), [np.concatenate([V, [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324]])]),
    "frexp_f32": (lambda m, x: m.frexp(x), [F32]),
    "frexp_int": (lambda m, x: m.frexp(x), [I]),
    "modf": (lambda m, x: m.modf(x), [np.concatenate([A.ravel() * 5, [-2.0, -0.0, np.inf, -np.inf, np.nan]])]),
    "modf_f32": (lambda m, x: m.modf(x), [F32 * 3]),
    "modf_int8": (lambda m, x: m.modf(x), [I.astype(np.int8)]),
    "divmod": (lambda m, a, b: m.divmod(a, b), [A * 5, V[:4]]),
    "divmod_special": (lambda m, a, b: m.divmod(a, b),
                       [np.array([7.0, -7.0, 0.0, np.inf, 1.0, -0.0]), np.array([2.0, 2.0, -3.0, 2.0, 0.0, 1.0])]),
    "divmod_int": (lambda m, a, b: m.divmod(a, b), [I, np.array([2, -3, 4])]),
    "i0": (lambda m, x: m.i0(x), [A * 3]),
    "i0_f32": (lambda m, x: m.i0(x), [F32]),
    "i0_int": (lambda m, x: m.i0(x), [I]),
    "i0_0d": (lambda m, x: m.i0(x), [np.float64(0.5)]),
    "astype": (lambda m, x: m.astype(x, np.float32), [A]),
    "astype_int": (lambda m, x: m.astype(x, np.int16), [A * 10]),
    "astype_complex": (lambda m, x: m.astype(x, np.complex64, copy=False), [F32]),
}
_CLOSE = {"i0", "i0_f32", "i0_int", "i0_0d"}  # NumPy's Chebyshev series and npgrad's i0 agree to rounding


def _tensors(inputs):
    return [npg.tensor(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in inputs]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("via", ["np", "npg"])
@pytest.mark.parametrize("name", list(AGREE))
def test_numpy_values_dtypes_and_shapes(name, via):
    call, inputs = AGREE[name]
    expected = call(np, *inputs)
    got = call(np if via == "np" else npg, *_tensors(inputs))
    if name in _CLOSE:
        assert got.dtype == expected.dtype and got.shape == expected.shape, name
        np.testing.assert_allclose(got.data, expected, rtol=1e-13 if got.dtype == np.float64 else 1e-6, err_msg=name)
    else:
        _same(got, expected, f"{name} via {via}")


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", list(AGREE))
def test_results_are_differentiable_where_numpy_is_smooth(name):
    """A float result of float tensors is in the graph (a gradient reaches an input); integer and bool
    results, and the results of integer inputs, are not."""
    call, inputs = AGREE[name]
    tensors = _tensors(inputs)
    outs = _outputs(call(npg, *tensors))
    float_in = [t for t in tensors if isinstance(t, npg.Tensor) and t.requires_grad]
    for o in outs:
        if o.dtype.kind not in "fc" or not float_in:
            assert not o.requires_grad, f"{name}: a {o.dtype} result requires grad"
    graph = [o for o in outs if o.requires_grad]
    if float_in and any(o.dtype.kind in "fc" for o in outs) and name not in ("piecewise_int", "piecewise_empty_cond",
                                                                              "resize_empty_in"):
        assert graph, f"{name}: the result is cut from the graph"
    if graph:
        total = sum(npg.sum(npg.real(o) if o.dtype.kind == "c" else o) for o in graph)
        total.backward()
        for t in float_in:
            assert t.grad is not None and t.grad.dtype == t.dtype, name


def test_float32_stays_float32():
    x = npg.tensor(F32)
    for out in (npg.meshgrid(x[0], x[1])[0], npg.block([[x, x]]), npg.choose(np.array([0, 1, 0, 1]), [x, 0.5]),
                npg.compress([1, 0, 1], x), npg.delete(x, 1, axis=1), npg.insert(x, 1, 2.5, axis=0),
                npg.insert(x, [1], np.ones(4), axis=0), npg.resize(x, (5, 5)),
                npg.piecewise(x, [F32 > 0], [lambda v: v * 2.0]), npg.trapezoid(x, dx=0.5), npg.unwrap(x * 7),
                npg.ldexp(x, 2), npg.frexp(x)[0], npg.modf(x)[0], npg.divmod(x, 0.5)[1], npg.i0(x),
                npg.apply_along_axis(lambda v: v * 2.0, 0, x), npg.trapezoid(x, F32[0])):
        assert out.dtype == np.float32, out


def test_meshgrid_copy_false_shares_memory_and_copy_true_does_not():
    a, b = npg.tensor(V), npg.tensor(A[0])
    views = npg.meshgrid(a, b, copy=False)
    copies = npg.meshgrid(a, b)
    assert np.shares_memory(views[0].data, a.data) and not np.shares_memory(copies[0].data, a.data)
    assert npg.broadcast_arrays(a, a)[0] is a  # already of the common shape: the tensor itself, as NumPy
    assert npg.meshgrid() == () and npg.broadcast_arrays() == ()


def test_results_are_new_tensors_not_views_of_the_input():
    """NumPy returns a fresh array from these (a write into the result leaves the input alone)."""
    x = npg.tensor(V, requires_grad=False)
    for out in (npg.resize(x, 5), npg.block(x), npg.compress(np.ones(5), x), npg.delete(x, []),
                npg.insert(x, [], 1.0), npg.choose(np.zeros(5, int), [x]), npg.extract(np.ones(5), x)):
        assert not np.shares_memory(out.data, x.data), out


def test_choose_method_and_compress_method():
    idx, x = npg.tensor(I % 2), npg.tensor(A[:2, :3])
    _same(idx.choose([x, -x]), np.choose(I % 2, [A[:2, :3], -A[:2, :3]]), "choose method")
    _same(x.compress([0, 1], axis=0), A[:2, :3].compress([0, 1], axis=0), "compress method")
    q, r = divmod(npg.tensor(V * 5), 2.0)
    _same((q, r), divmod(V * 5, 2.0), "divmod(tensor, number)")
    _same(divmod(3.5, npg.tensor(V)), divmod(3.5, V), "divmod(number, tensor)")


def test_piecewise_functions_get_the_selected_elements_as_tensors():
    seen = []
    x = npg.tensor(V)
    npg.piecewise(x, [B], [lambda v: seen.append(v) or v, lambda v: seen.append(v) or 2 * v])
    assert [type(v) for v in seen] == [npg.Tensor, npg.Tensor] and [v.shape for v in seen] == [(3,), (2,)]
    out = npg.piecewise(x, [B], [lambda v: npg.log(v * v)])  # never called where the condition fails
    out.sum().backward()
    np.testing.assert_allclose(x.grad, np.where(B, 2 / V, 0.0))


def test_apply_along_axis_is_differentiable_per_slice():
    x = npg.tensor(A)
    out = npg.apply_along_axis(lambda v: npg.sum(v ** 3), 0, x)
    out.sum().backward()
    np.testing.assert_allclose(x.grad, 3 * A ** 2)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # 2**1024 and 2**-(-1029): inf, as torch
def test_modf_frexp_gradients_as_torch_at_special_values():
    vals = np.array([-2.0, -0.5, 0.0, 0.75, 3.0, 1e-310, -7.25])
    x, t = npg.tensor(vals), torch.tensor(vals, requires_grad=True)
    (npg.frexp(x)[0] * 2 + npg.modf(x)[0] * 3 + npg.modf(x)[1]).sum().backward()
    (torch.frexp(t)[0] * 2 + torch.frac(t) * 3 + torch.trunc(t)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy())
    m, e = npg.frexp(x)
    assert e.dtype == np.int32 and not e.requires_grad
    np.testing.assert_array_equal(e.data, torch.frexp(torch.tensor(vals))[1].numpy())


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # 2**1024 and 2**-(-1029): inf, as torch
def test_ldexp_gradient_is_two_to_the_exponent():
    x = npg.tensor(np.ones(4))
    e = np.array([-3, 0, 2, 1024])
    npg.ldexp(x, e).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ldexp(1.0, e))
    with pytest.raises(TypeError, match="ldexp"):
        npg.ldexp(npg.tensor(V), V)  # NumPy refuses a float exponent


def test_unwrap_gradient_is_the_identity():
    p = npg.tensor(A * 6)
    out = npg.unwrap(p, axis=0)
    assert not np.array_equal(out.data, A * 6)  # the test data has jumps to take back
    (out * npg.tensor(V[:4])).sum().backward()
    np.testing.assert_array_equal(p.grad, np.broadcast_to(V[:4], A.shape))


def test_sort_complex_gradient_of_complex_input():
    z0 = np.array([2 + 1j, -1 + 3j, 2 - 1j, 0.5 + 0j])
    z = npg.tensor(z0)
    w = np.array([1 + 2j, 3 - 1j, -2j, 0.5 + 0j])
    out = npg.sort_complex(z)
    npg.real(npg.sum(out * w)).backward()
    tz = torch.tensor(z0, requires_grad=True)
    order = np.lexsort((z0.imag, z0.real))
    torch.real((tz[torch.tensor(order)] * torch.tensor(w)).sum()).backward()
    np.testing.assert_allclose(z.grad, tz.grad.numpy())


# ------------------------------------------------------------------------------------ trim_zeros
def _trimmed(x, trim="fb", axis=None):
    """trim_zeros in torch, from the box around torch.nonzero (an oracle independent of npgrad)."""
    nz = torch.nonzero(x.detach())
    axes = range(x.ndim) if axis is None else [axis % x.ndim]
    key = [slice(None)] * x.ndim
    for ax in axes:
        if not len(nz):
            key[ax] = slice(0, 0)
            continue
        lo, hi = int(nz[:, ax].min()), int(nz[:, ax].max()) + 1
        key[ax] = slice(lo if "f" in trim else None, hi if "b" in trim else None)
    return x[tuple(key)]


TRIM = [(np.array([0.0, 0.0, 1.5, 0.0, -2.0, 0.0]), {}), (np.array([0.0, 0.0, 1.5, 0.0]), {"trim": "f"}),
        (np.array([0.0, 3.0, 0.0]), {"trim": "B"}), (np.zeros(3), {}), (np.zeros(3), {"trim": "f"}),
        (np.pad(A[:2, :2], ((1, 2), (0, 1))), {}), (np.pad(A[:2, :2], ((1, 2), (0, 1))), {"axis": -1}),
        (np.pad(A[:2, :2], ((1, 2), (0, 1))), {"axis": 0, "trim": "b"}), (np.zeros((2, 3)), {}),
        (np.zeros(0), {}), (np.pad(F32[:1], ((0, 1), (2, 0))), {})]


@pytest.mark.parametrize("x, kw", TRIM, ids=[f"{i}" for i in range(len(TRIM))])
def test_trim_zeros_values_and_gradient(x, kw):
    expected = np.trim_zeros(x, **kw)
    t = npg.tensor(x)
    for got in (npg.trim_zeros(t, **kw), np.trim_zeros(t, **kw)):
        _same(got, expected, f"trim_zeros {kw}")
    out = npg.trim_zeros(t, **kw)
    assert np.shares_memory(out.data, t.data) or out.size == 0  # a view, as NumPy's
    w = R.standard_normal(out.shape).astype(x.dtype)
    (out * npg.tensor(w)).sum().backward()
    tt = torch.tensor(x, requires_grad=True)
    (_trimmed(tt, **{k: v.lower() if k == "trim" else v for k, v in kw.items()}) * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())


def test_trim_zeros_0d_returns_its_input_and_vmap_runs_per_sample():
    z = npg.tensor(0.0)
    assert npg.trim_zeros(z) is z
    x = npg.tensor(np.stack([np.pad(V, 2), 2 * np.pad(V, 2)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = npg.func.vmap(npg.trim_zeros)(x)
    _same(out, np.stack([V, 2 * V]), "vmap(trim_zeros)")


# --------------------------------------------------------------------------------- in place, as PyTorch
def _pair(shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(6)


def _against_torch(write, twrite, shape=(3, 4), values=6):
    """``write(y, v)`` (npgrad, in place on a non-leaf copy of x) against ``twrite(y, v)`` (torch, in place on
    a clone): the values written, then the gradients of x and v through a loss that reads y."""
    x0, v0 = _pair(shape)
    v0 = v0[:values]
    x, v = npg.tensor(x0), npg.tensor(v0)
    tx, tv = torch.tensor(x0, requires_grad=True), torch.tensor(v0, requires_grad=True)
    y, ty = x * 1.0, tx.clone()
    assert write(y, v) is None
    twrite(ty, tv)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    w = np.random.default_rng(9).standard_normal(shape)
    (npg.sin(y) * w).sum().backward()
    (torch.sin(ty) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.zeros(v0.shape) if v.grad is None else v.grad,
                               np.zeros(v0.shape) if tv.grad is None else tv.grad.numpy(), rtol=1e-12)
    return y


def _cycled(tv, n):
    return tv.reshape(-1)[torch.arange(n) % tv.numel()]


@pytest.mark.parametrize("mode, ind", [("raise", [0, 5, -1, 7]), ("wrap", [13, -1, 2, -14]),
                                       ("clip", [-3, 4, 100, 2])])
def test_put_as_torch_put_(mode, ind):
    flat = np.asarray(ind)
    flat = flat % 12 if mode != "clip" else np.clip(flat, 0, 11)
    y = _against_torch(lambda y, v: npg.put(y, ind, v, mode=mode),
                       lambda y, v: y.put_(torch.tensor(flat), v[:len(ind)]))
    expected = _pair()[0].copy()
    np.put(expected, ind, _pair()[1], mode=mode)
    np.testing.assert_array_equal(y.data, expected)


def test_put_repeated_index_last_write_wins_and_gets_the_gradient():
    x, v = npg.tensor(np.zeros(4)), npg.tensor([1.0, 2.0, 3.0])
    y = x * 1.0
    y.put([1, 1, 2], v)  # (ndarray's method)
    np.testing.assert_array_equal(y.data, [0.0, 2.0, 3.0, 0.0])
    (y * npg.tensor([1.0, 10.0, 100.0, 1000.0])).sum().backward()
    np.testing.assert_array_equal(v.grad, [0.0, 10.0, 100.0])
    np.testing.assert_array_equal(x.grad, [1.0, 0.0, 0.0, 1000.0])


def test_put_cycles_values_and_writes_non_contiguous_tensors_in_c_order():
    _against_torch(lambda y, v: np.put(y, [0, 3, 4, 9, 11], v),
                   lambda y, v: y.put_(torch.tensor([0, 3, 4, 9, 11]), _cycled(v, 5)), values=2)
    x0 = _pair()[0]
    x = npg.tensor(x0)
    y = (x * 1.0).T  # a transposed view: a.flat is its C order
    np.put(y, [1, 5], [7.0, 8.0])
    expected = (x0 * 1.0).T.copy()
    np.put(expected, [1, 5], [7.0, 8.0])
    np.testing.assert_array_equal(y.data, expected)


@pytest.mark.parametrize("shape, wrap", [((4, 4), False), ((7, 3), False), ((7, 3), True), ((2, 5), False),
                                         ((3, 3, 3), False)])
def test_fill_diagonal_as_torch(shape, wrap):
    def twrite(y, v):
        mask = torch.zeros(shape, dtype=torch.float64).fill_diagonal_(1.0, wrap=wrap).bool()  # torch's positions
        y.index_put_((mask,), _cycled(v, int(mask.sum())))
    _against_torch(lambda y, v: np.fill_diagonal(y, v, wrap=wrap), twrite, shape=shape, values=2)
    expected = _pair(shape)[0].copy()
    np.fill_diagonal(expected, _pair(shape)[1][:2], wrap=wrap)
    y = npg.tensor(_pair(shape)[0], requires_grad=False)
    npg.fill_diagonal(y, npg.tensor(_pair(shape)[1][:2]), wrap=wrap)
    np.testing.assert_array_equal(y.data, expected)


def test_fill_diagonal_with_a_scalar_keeps_the_rest_differentiable():
    _against_torch(lambda y, v: npg.fill_diagonal(y, 0.5), lambda y, v: y.fill_diagonal_(0.5))


def test_putmask_as_torch_index_put_():
    mask = np.random.default_rng(4).random((3, 4)) > 0.5

    def twrite(y, v):
        pos = torch.tensor(np.flatnonzero(mask))
        y.index_put_((torch.tensor(mask),), v[pos % v.numel()])
    y = _against_torch(lambda y, v: np.putmask(y, mask, v), twrite, values=5)
    expected = _pair()[0].copy()
    np.putmask(expected, mask, _pair()[1][:5])
    np.testing.assert_array_equal(y.data, expected)


def test_place_as_torch_masked_scatter_():
    mask = np.random.default_rng(5).random((3, 4)) > 0.4
    y = _against_torch(lambda y, v: np.place(y, mask, v),
                       lambda y, v: y.masked_scatter_(torch.tensor(mask), _cycled(v, int(mask.sum()))), values=4)
    expected = _pair()[0].copy()
    np.place(expected, mask, _pair()[1][:4])
    np.testing.assert_array_equal(y.data, expected)


def test_copyto_as_torch_copy_():
    _against_torch(lambda y, v: np.copyto(y, v[:4]), lambda y, v: y.copy_(v[:4].expand(3, 4)))
    where = np.array([[True], [False], [True]])

    def twrite(y, v):
        y.index_put_((torch.tensor(np.broadcast_to(where, (3, 4))),), v[:4].expand(3, 4)[torch.tensor(
            np.broadcast_to(where, (3, 4)))])
    _against_torch(lambda y, v: npg.copyto(y, v[:4], where=where), twrite)
    _against_torch(lambda y, v: np.copyto(y, 2.5, where=np.zeros((3, 4), bool)), lambda y, v: None)


def test_copyto_casting_like_numpy():
    y = npg.tensor(np.zeros(3, np.float32), requires_grad=False)
    np.copyto(y, npg.tensor([1.5, 2.5, 3.5]))  # float64 -> float32 is same_kind
    np.testing.assert_array_equal(y.data, np.float32([1.5, 2.5, 3.5]))
    for src, casting in [(npg.tensor([1.5]), "safe"), (1.5j, "same_kind"), (npg.tensor([1], dtype=np.int64), "no")]:
        with pytest.raises(TypeError, match="copyto: Cannot cast"):
            np.copyto(y, src, casting=casting)
        with pytest.raises(TypeError):
            np.copyto(np.zeros(3, np.float32), src.data if isinstance(src, npg.Tensor) else src, casting=casting)
    k = npg.tensor(np.zeros(3, np.int64))
    np.copyto(k, npg.tensor([1.7, 2.2, -0.5]), casting="unsafe")  # into an int tensor: no gradient to carry
    np.testing.assert_array_equal(k.data, [1, 2, 0])


def test_writes_into_a_view_reach_the_base_with_their_gradient():
    x0, v0 = _pair()
    x, v = npg.tensor(x0), npg.tensor(v0[:2])
    tx, tv = torch.tensor(x0, requires_grad=True), torch.tensor(v0[:2], requires_grad=True)
    y, ty = x * 2.0, tx * 2.0
    np.put(y[1], [0, 3], v)
    ty[1].put_(torch.tensor([0, 3]), tv)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    (y ** 2).sum().backward()
    (ty ** 2).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())
    np.testing.assert_allclose(v.grad, tv.grad.numpy())


@pytest.mark.parametrize("name, write, twrite", [
    ("put", lambda x: npg.put(x, [0], 1.0), lambda t: t.put_(torch.tensor([0]), torch.tensor([1.0]))),
    ("putmask", lambda x: np.putmask(x, np.ones((2, 2), bool), 1.0),
     lambda t: t.index_put_((torch.ones(2, 2, dtype=torch.bool),), torch.tensor(1.0))),
    ("place", lambda x: np.place(x, np.ones((2, 2), bool), [1.0]),
     lambda t: t.masked_scatter_(torch.ones(2, 2, dtype=torch.bool), torch.ones(4))),
    ("fill_diagonal", lambda x: np.fill_diagonal(x, 1.0), lambda t: t.fill_diagonal_(1.0)),
    ("copyto", lambda x: np.copyto(x, 1.0), lambda t: t.copy_(torch.ones(2, 2)))])
def test_a_leaf_that_requires_grad_refuses_the_write_as_in_torch(name, write, twrite):
    x, t = npg.tensor(np.zeros((2, 2))), torch.zeros(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        twrite(t)
    with pytest.raises(RuntimeError, match=f"{name}: a leaf tensor that requires grad"):
        write(x)
    with pytest.raises(RuntimeError, match=f"{name}: a view of a leaf tensor that requires grad"):
        write(x[:, :])
    with npg.no_grad(), torch.no_grad():  # allowed without recording, as in torch
        write(x)
        twrite(t)
    np.testing.assert_array_equal(x.data, t.detach().numpy())
    assert x.requires_grad and x.grad is None


@pytest.mark.parametrize("name, write, twrite", [
    ("put", lambda x: np.put(x, [], [1.0]), lambda t: t.put_(torch.tensor([], dtype=torch.long), torch.ones(0))),
    ("put", lambda x: np.put(x, [0], []), lambda t: t.put_(torch.tensor([], dtype=torch.long), torch.ones(0))),
    ("putmask", lambda x: np.putmask(x, np.zeros((2, 2), bool), 1.0),
     lambda t: t.masked_fill_(torch.zeros(2, 2, dtype=torch.bool), 1.0)),
    ("place", lambda x: np.place(x, np.zeros((2, 2), bool), [1.0]),
     lambda t: t.masked_scatter_(torch.zeros(2, 2, dtype=torch.bool), torch.ones(4))),
    ("fill_diagonal", lambda x: np.fill_diagonal(x, []), lambda t: t.masked_fill_(torch.zeros(2, 2, dtype=bool), 1)),
    ("copyto", lambda x: np.copyto(x, 1.0, where=False), lambda t: t.masked_fill_(torch.zeros(2, 2, dtype=bool), 1))])
def test_a_write_of_no_element_is_refused_on_a_leaf_and_a_read_only_tensor(name, write, twrite):
    """PyTorch refuses an in-place op on a leaf that requires grad and NumPy a write into a read-only array even
    when no element is written (npgrad returned early, silently, before its checks)."""
    x, t = npg.tensor(np.zeros((2, 2))), torch.zeros(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        twrite(t)
    with pytest.raises(RuntimeError, match=f"{name}: a leaf tensor that requires grad"):
        write(x)
    a = np.zeros((2, 2))
    a.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        write(a)
    with pytest.raises(ValueError, match=f"{name}: the tensor .* is read-only"):
        write(npg.broadcast_to(npg.tensor(np.zeros(2), requires_grad=False), (2, 2)))


def test_overwriting_a_value_saved_for_backward_is_caught_as_in_torch():
    x, t = npg.tensor(np.ones(3) * 2), torch.full((3,), 2.0, dtype=torch.float64, requires_grad=True)
    y, ty = x * 1.0, t * 1.0
    z, tz = y * y, ty * ty  # mul saves y
    npg.put(y, [0], 5.0)
    ty.put_(torch.tensor([0]), torch.tensor([5.0], dtype=torch.float64))
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        tz.sum().backward()
    with pytest.raises(RuntimeError):
        z.sum().backward()


def test_writes_into_read_only_tensors_and_into_arrays():
    b = npg.broadcast_to(npg.tensor(np.zeros(3), requires_grad=False), (2, 3))
    with pytest.raises(ValueError, match="put: the tensor .* is read-only"):
        npg.put(b, [0], 1.0)
    a = np.zeros(4)
    np.put(a, [1, 2], npg.tensor([5.0, 6.0], requires_grad=False))  # an ndarray destination: NumPy's own put
    np.testing.assert_array_equal(a, [0.0, 5.0, 6.0, 0.0])
    with pytest.raises(RuntimeError, match="requires grad"):  # it cannot take a gradient: refused, not cut
        np.copyto(a, npg.tensor([1.0, 2.0, 3.0, 4.0]))


def test_in_place_int_destination_truncates_as_numpy():
    """put and fill_diagonal cast float values into an int destination; putmask and place cast Python numbers
    and lists but refuse a float array (safe casting), as NumPy does."""
    for fn, arrays in [(lambda a, v: np.put(a, [0, 2], v), True), (lambda a, v: np.fill_diagonal(a, v), True),
                       (lambda a, v: np.putmask(a, a >= 0, v), False), (lambda a, v: np.place(a, a > 0, v), False),
                       (lambda a, v: np.copyto(a, v[:1], casting="unsafe"), True)]:
        expected = np.arange(4).reshape(2, 2)
        fn(expected, np.array([1.7, -2.6]) if arrays else [1.7, -2.6])
        got = npg.tensor(np.arange(4).reshape(2, 2))
        fn(got, npg.tensor([1.7, -2.6]) if arrays else [1.7, -2.6])
        _same(got, expected, "int destination")


def test_choose_refuses_out_as_every_npgrad_op():
    with pytest.raises(TypeError, match="choose: out= is not supported"):
        np.choose(np.array([0, 1]), [npg.tensor(V[:2])], out=np.empty(2))


def test_in_place_writes_under_vmap_run_per_sample():
    """A write into a batched tensor, as ``x[key] = v``, has no batching rule: vmap runs the function per sample
    (with its fallback warning), and the result is right."""
    def f(row):
        y = row * 1.0
        npg.put(y, [0, -1], [7.0, 8.0])
        np.putmask(y, np.array([False, True, False, False]), row * 3)
        return y
    x = npg.tensor(A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = npg.func.vmap(f)(x)
    np.testing.assert_array_equal(out.data, np.stack([f(npg.tensor(r)).data for r in A]))


# ------------------------------------------------------------------------- random layouts against NumPy
def _agree(name, call, *args, inplace=False):
    """``call(m, *args)`` with m = np on arrays and m = npg on tensors: the same values, dtypes and container, or
    errors of the same type. ``inplace``: compare the destination (the first argument) after the call."""
    def run(m, wrap):
        xs = [npg.tensor(x.copy(), requires_grad=False) if wrap and isinstance(x, np.ndarray) and x.dtype.kind == "f"
              else (x.copy() if isinstance(x, np.ndarray) else x) for x in args]
        if inplace and wrap and not isinstance(xs[0], npg.Tensor):
            xs[0] = npg.tensor(xs[0], requires_grad=False)
        try:
            out = call(m, *xs)
        except Exception as e:  # noqa: BLE001 (compared below)
            return e
        return xs[0] if inplace else out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected, got = run(np, False), run(npg, True)
    shapes = [np.shape(a) for a in args]
    if isinstance(expected, Exception) or isinstance(got, Exception):
        assert isinstance(expected, Exception) and isinstance(got, type(expected)), (name, shapes, expected, got)
        return
    if isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected), (name, shapes)
        for g, e in zip(got, expected):
            assert g.shape == e.shape and g.dtype == e.dtype, (name, shapes)
            np.testing.assert_array_equal(g.data, e, err_msg=f"{name} {shapes}")
        return
    assert got.shape == np.shape(expected) and got.dtype == np.asarray(expected).dtype, (name, shapes)
    np.testing.assert_array_equal(got.data, expected, err_msg=f"{name} {shapes}")


def _shape(rng, max_nd=3, low=0):
    return tuple(int(n) for n in rng.integers(low, 4, rng.integers(0, max_nd + 1)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("seed", range(4))
def test_random_layouts_agree_with_numpy(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        x = rng.standard_normal(_shape(rng))
        nd = x.ndim
        axis = None if nd == 0 or rng.random() < 0.3 else int(rng.integers(-nd, nd))
        n = x.size if axis is None else x.shape[axis]
        obj = [int(rng.integers(-n - 1, n + 2)), [int(i) for i in rng.integers(-n - 1, n + 2, rng.integers(0, 4))],
               slice(int(rng.integers(-n - 1, n + 2)), None, [None, 2, -1][rng.integers(0, 3)]),
               rng.random(n) < 0.5][rng.integers(0, 4)]
        values = rng.standard_normal(_shape(rng, 2, 1) if rng.random() < 0.5 else x.shape[rng.integers(0, nd + 1):])
        _agree("insert", lambda m, x, v: m.insert(x, obj, v, axis=axis), x, values)
        _agree("delete", lambda m, x: m.delete(x, obj, axis=axis), x)
        k = int(rng.integers(1, 4))
        mode = ["raise", "wrap", "clip"][rng.integers(0, 3)]
        idx = rng.integers(-1 if mode != "raise" else 0, k + (mode != "raise"), _shape(rng))
        _agree("choose", lambda m, *cs: m.choose(idx, list(cs), mode=mode), *[rng.standard_normal(_shape(rng))
                                                                              for _ in range(k)])
        cond = rng.random(rng.integers(0, 5)) < 0.5
        _agree("compress", lambda m, x: m.compress(cond, x, axis=axis), x)
        mask = rng.random(max(0, x.size + int(rng.integers(-1, 2)))) < 0.5
        _agree("extract", lambda m, x: m.extract(mask, x), x)
        new_shape = _shape(rng) if rng.random() < 0.8 else int(rng.integers(0, 6))
        _agree("resize", lambda m, x: m.resize(x, new_shape), x)
        kw = dict(indexing=["xy", "ij"][rng.integers(0, 2)], sparse=bool(rng.integers(0, 2)),
                  copy=bool(rng.integers(0, 2)))
        _agree("meshgrid", lambda m, *xs: m.meshgrid(*xs, **kw), *[rng.standard_normal(_shape(rng, 2))
                                                                    for _ in range(rng.integers(0, 4))])
        _agree("broadcast_arrays", lambda m, *xs: m.broadcast_arrays(*xs), *[rng.standard_normal(_shape(rng))
                                                                              for _ in range(rng.integers(1, 4))])
        z = np.pad(rng.standard_normal(_shape(rng, 3, 1)) * (rng.random() < 0.9), 1)
        trim = ["fb", "f", "b"][rng.integers(0, 3)]
        zaxis = None if z.ndim == 0 or rng.random() < 0.5 else int(rng.integers(-z.ndim, z.ndim))
        _agree("trim_zeros", lambda m, z: m.trim_zeros(z, trim, axis=zaxis), z)
        ind = rng.integers(-x.size - 2, x.size + 2, rng.integers(0, 5))
        _agree("put", lambda m, a, v: m.put(a, ind, v, mode=mode), x, values, inplace=True)
        pmask = (rng.random(x.shape) < 0.5) if rng.random() < 0.9 else rng.random(x.size + 1) < 0.5
        _agree("putmask", lambda m, a, v: m.putmask(a, pmask, v), x, values, inplace=True)
        _agree("place", lambda m, a, v: m.place(a, pmask, v), x, values, inplace=True)
        wrap = bool(rng.integers(0, 2))
        square = rng.standard_normal((rng.integers(0, 5), rng.integers(0, 5)) if rng.random() < 0.8 else (3, 3, 3))
        _agree("fill_diagonal", lambda m, a, v: m.fill_diagonal(a, v, wrap=wrap), square, values, inplace=True)
        where = (rng.random(x.shape[rng.integers(0, nd + 1):]) < 0.5) if rng.random() < 0.5 else True
        casting = ["same_kind", "unsafe", "safe", "no"][rng.integers(0, 4)]
        src = values if rng.random() < 0.5 else values.astype(np.float32)
        _agree("copyto", lambda m, a, s: m.copyto(a, s, casting=casting, where=where), x, src, inplace=True)


# ------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize("call, exc, match", [
    (lambda m, x: m.meshgrid(x, indexing="yx"), ValueError, "meshgrid"),
    (lambda m, x: m.broadcast_arrays(x, x[:2]), ValueError, "broadcast_arrays"),
    (lambda m, x: m.block((x, x)), TypeError, "block: arrays is a tuple"),
    (lambda m, x: m.block([[x], x]), ValueError, "block: List depths are mismatched"),
    (lambda m, x: m.block([x, []]), ValueError, "block: List depths"),
    (lambda m, x: m.block([[], [x]]), ValueError, r"block: List at arrays\[0\] cannot be empty"),
    (lambda m, x: m.block([[x], []]), ValueError, r"block: List at arrays\[1\] cannot be empty"),
    (lambda m, x: m.block([]), ValueError, "block: List at arrays cannot be empty"),
    (lambda m, x: m.block([[x], [x[:2]]]), ValueError, "block"),
    (lambda m, x: m.choose(np.array([0, 2]), [x[:2], x[:2]]), ValueError, "choose: invalid entry"),
    (lambda m, x: m.choose(np.array([0.0, 1.0]), [x[:2], x[:2]]), TypeError, "choose: Cannot cast"),
    (lambda m, x: m.choose(np.array([0, 1]), [x[:2], x[:3]]), ValueError, "choose: shape mismatch"),
    (lambda m, x: m.choose(np.array([0, 1]), [x[:2]], mode="x"), ValueError, "choose: clipmode"),
    (lambda m, x: m.choose(np.array([0]), []), ValueError, "choose"),
    (lambda m, x: m.compress([[1, 0]], x), ValueError, "compress: condition must be a 1-d array"),
    (lambda m, x: m.compress([0, 0, 0, 0, 0, 0, 1], x), IndexError, "compress: index 6 is out of bounds"),
    (lambda m, x: m.compress([1], x, axis=1), np.exceptions.AxisError, "compress"),
    (lambda m, x: m.extract([0, 0, 0, 0, 0, 0, 1], x), IndexError, "extract: index 6 is out of bounds"),
    (lambda m, x: m.delete(x, 6), IndexError, "delete: index 6 is out of bounds"),
    (lambda m, x: m.delete(x, [True, False]), ValueError, "delete: boolean array argument"),
    (lambda m, x: m.delete(x, [0.5]), IndexError, "delete: arrays used as indices"),
    (lambda m, x: m.delete(x, 0, axis=1), np.exceptions.AxisError, "delete"),
    (lambda m, x: m.insert(x, 7, 1.0), IndexError, "insert: index 7 is out of bounds for axis 0 with size 6"),
    (lambda m, x: m.insert(x, [1, 8], 1.0), IndexError, "insert: index 9 is out of bounds"),
    (lambda m, x: m.insert(x, [[1]], 1.0), ValueError, "insert: index array argument obj"),
    (lambda m, x: m.insert(x, [1, 2], np.ones(3)), ValueError, "insert"),
    (lambda m, x: m.insert(x, 1, np.ones((2, 2))), ValueError, "insert: could not broadcast"),
    (lambda m, x: m.insert(x, 0, 1.0, axis=2), np.exceptions.AxisError, "insert"),
    (lambda m, x: m.resize(x, (2, -1)), ValueError, "resize: all elements of `new_shape` must be non-negative"),
    (lambda m, x: m.trim_zeros(x, trim="x"), ValueError, "trim_zeros: unexpected character"),
    (lambda m, x: m.trim_zeros(x, axis=1), np.exceptions.AxisError, "trim_zeros"),
    (lambda m, x: m.sort_complex(x[0]), np.exceptions.AxisError, "sort_complex"),
    (lambda m, x: m.piecewise(x, [x > 0], [1.0, 2.0, 3.0]), ValueError, "piecewise: with 1 condition"),
    (lambda m, x: m.apply_along_axis(lambda v: v, 1, x[:0, None]), ValueError, "apply_along_axis: Cannot"),
    (lambda m, x: m.putmask(x, x > 2, np.ones(1, np.complex128)), TypeError, "putmask: Cannot cast array data"),
    (lambda m, x: m.place(x.astype(np.float32), x > 2, np.ones(1)), TypeError, "place: Cannot cast array data"),
    (lambda m, x: m.apply_along_axis(lambda v: v, 1, x), np.exceptions.AxisError, "apply_along_axis"),
    (lambda m, x: m.trapezoid(x[0]), (IndexError, ValueError), "trapezoid"),
    (lambda m, x: m.trapezoid(x, x[:3]), ValueError, "trapezoid"),
    (lambda m, x: m.unwrap(x[0]), ValueError, "unwrap|diff"),
    (lambda m, x: m.i0(x + 1j), TypeError, "i0 not supported for complex values"),
    (lambda m, x: m.put(x, [6], 1.0), IndexError, "put: index 6 is out of bounds"),
    (lambda m, x: m.put(x, [0], 1.0, mode="x"), ValueError, "put: clipmode"),
    (lambda m, x: m.putmask(x, [True], 1.0), ValueError, "putmask: mask and data must be the same size"),
    (lambda m, x: m.place(x, np.ones(6), []), ValueError, "place: Cannot insert from an empty array"),
    (lambda m, x: m.place(x, np.ones(5), [1.0]), ValueError, "place: mask and data must be the same size"),
    (lambda m, x: m.fill_diagonal(x, 1.0), ValueError, "fill_diagonal: array must be at least 2-d"),
    (lambda m, x: m.fill_diagonal(x.reshape(1, 2, 3), 1.0), ValueError, "fill_diagonal: All dimensions"),
    (lambda m, x: m.copyto(x, x[:2]), ValueError, "copyto: could not broadcast input array from shape"),
    (lambda m, x: m.copyto(x, 1.0, where=np.array([1, 0])), TypeError, "copyto: Cannot cast"),
    (lambda m, x: m.copyto(x, 1.0, where=np.ones(2, bool)), ValueError, "copyto: could not broadcast where mask"),
    (lambda m, x: m.copyto(x, 1.0, casting="x"), ValueError, "copyto: casting must be one of"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_errors_name_the_op_with_numpys_exception_type(call, exc, match):
    x0 = np.arange(1.0, 7.0)
    with pytest.raises(exc):
        call(np, x0.copy())  # NumPy raises the same kind of error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call(npg, npg.tensor(x0, requires_grad=False))


def test_select_takes_arrays_of_conditions_and_choices_as_lists_of_rows():
    """np.select iterates a 2-D condition or choice array over its rows; npgrad did not (a bare 'truth value of
    an array is ambiguous' from its empty-list check). Values as NumPy, gradients by finite differences."""
    cond = np.array([[1, 2, -3], [0, 4, -1]]) > 0
    choices = np.random.default_rng(0).standard_normal((2, 3))
    t = npg.tensor(choices.copy(), requires_grad=True)
    r = npg.select(npg.tensor(cond), t, default=-1.0)
    np.testing.assert_array_equal(r.data, np.select(cond, choices, default=-1.0))
    w = np.array([1.0, 2.0, 3.0])
    npg.sum(r * w).backward()
    eps, fd = 1e-6, np.zeros_like(choices)
    for idx in np.ndindex(choices.shape):
        d = np.zeros_like(choices)
        d[idx] = eps
        fd[idx] = (np.select(cond, choices + d, -1.0) @ w - np.select(cond, choices - d, -1.0) @ w) / (2 * eps)
    np.testing.assert_allclose(t.grad, fd, atol=1e-8)
