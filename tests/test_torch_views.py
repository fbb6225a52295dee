"""PyTorch's view and copy methods (npgrad/ops/torch_views.py, torch_copies.py) against PyTorch 2.13: which
ones are views (in both libraries), 0-d and size-0 edge cases, the errors PyTorch raises, the complex ``H`` /
``mH`` (read-only copies in npgrad), overlapping ``unfold`` windows (read-only), writes through the views in
forward mode, version counters, and the names whose NumPy meaning stays (``npg.split``). Values and gradients
of every method in float32 / float64, second order, forward mode and vmap: tests/test_ops_table.py; writes
through each view in a graph: tests/test_view_semantics.py."""
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as tfw

import npgrad as npg
from npgrad.autograd import forward_ad as fwd
from tests.complex_helpers import close, crandn

DTYPES = [np.float32, np.float64]


def rnd(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _views(r):
    """Every tensor in a result (a tensor or a tuple of them)."""
    return list(r) if isinstance(r, (tuple, list)) else [r]


VIEW_CALLS = {  # name: (shape, call on either library's tensor)
    "narrow": ((3, 5), lambda x: x.narrow(-1, -3, 2)),
    "narrow (empty)": ((3, 5), lambda x: x.narrow(0, 3, 0)),
    "select": ((3, 5), lambda x: x.select(-2, -1)),
    "select (to 0-d)": ((4,), lambda x: x.select(0, 2)),
    "movedim": ((2, 3, 4), lambda x: x.movedim(-1, 0)),
    "movedim (tuples)": ((2, 3, 4), lambda x: x.movedim((0, 2), (1, 0))),
    "t": ((3, 5), lambda x: x.t()),
    "t (1-D)": ((5,), lambda x: x.t()),
    "t (0-d)": ((), lambda x: x.t()),
    "H": ((3, 5), lambda x: x.H),
    "mH": ((2, 3, 5), lambda x: x.mH),
    "mT": ((2, 3, 5), lambda x: x.mT),
    "adjoint": ((2, 3, 5), lambda x: x.adjoint()),
    "swapdims": ((2, 3, 4), lambda x: x.swapdims(-1, 0)),
    "unflatten": ((3, 12), lambda x: x.unflatten(-1, (2, -1, 3))),
    "unflatten (empty)": ((0, 6), lambda x: x.unflatten(1, (3, 2))),
    "reshape_as": ((3, 4), lambda x: x.reshape_as(x.reshape(2, 6))),
    "unfold": ((3, 7), lambda x: x.unfold(-1, 3, 2)),
    "unfold (size 0)": ((3, 7), lambda x: x.unfold(1, 0, 3)),
    "unfold (empty)": ((0, 4), lambda x: x.unfold(1, 2, 1)),
    "split": ((7, 2), lambda x: x.split(3)),
    "split (sizes)": ((2, 6), lambda x: x.split([1, 0, 5], dim=-1)),
    "split (empty dim)": ((0, 3), lambda x: x.split(2)),
    "tensor_split": ((7, 2), lambda x: x.tensor_split(3)),
    "tensor_split (indices)": ((2, 6), lambda x: x.tensor_split([1, -2, 9], dim=-1)),
    "hsplit": ((2, 6), lambda x: x.hsplit(3)),
    "hsplit (1-D)": ((6,), lambda x: x.hsplit([2, 3])),
    "vsplit": ((4, 2), lambda x: x.vsplit([1, 3])),
    "dsplit": ((1, 2, 4), lambda x: x.dsplit(2)),
}


@pytest.mark.parametrize("name", list(VIEW_CALLS))
def test_view_methods_are_views_as_in_torch(name):
    shape, call = VIEW_CALLS[name]
    a = rnd(shape)
    x, t = npg.tensor(a, requires_grad=False), torch.tensor(a)
    got, want = _views(call(x)), _views(call(t))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape), (g.shape, tuple(w.shape))
        np.testing.assert_array_equal(g.data, w.numpy())
        assert w._is_view()
        if g.size:  # npgrad's result is NumPy memory of x, and the view machinery knows it
            assert np.shares_memory(g.data, x.data)
            assert g._extra is not None and "view" in g._extra
    if all(g.size and g.data.flags.writeable for g in got):  # a write through the first piece reaches the base
        got[0][...] = 7.0
        with torch.no_grad():
            want[0][...] = 7.0
        np.testing.assert_array_equal(x.data, t.numpy())


def test_copy_methods_copy_as_in_torch():
    a = rnd((3, 4))
    x = npg.tensor(a, requires_grad=False)
    for call in (lambda x: x.narrow_copy(1, 1, 2), lambda x: x.roll(1, 0), lambda x: x.repeat_interleave(2),
                 lambda x: x.masked_select(x > 0), lambda x: x.tril(), lambda x: x.triu(1),
                 lambda x: x.select_scatter(x[0], 0, 0), lambda x: x.slice_scatter(x[:1], 0, 2),
                 lambda x: x.diagonal_scatter(x.diagonal()), lambda x: x[0].diag_embed()):
        out = call(x)
        assert not np.shares_memory(out.data, x.data)
        t = torch.tensor(a)
        tout = call(t)
        assert tout.untyped_storage().data_ptr() != t.untyped_storage().data_ptr()
        np.testing.assert_array_equal(out.data, tout.numpy())


EDGES = {  # both libraries: the same value
    "narrow start=len": lambda x: x.narrow(1, 4, 0),
    "narrow start=-len": lambda x: x.narrow(1, -4, 4),
    "narrow tensor start": lambda x: x.narrow(1, (npg.tensor if isinstance(x, npg.Tensor) else torch.tensor)(1), 2),
    "select -len": lambda x: x.select(1, -4),
    "unfold whole dim": lambda x: x.unfold(1, 4, 1),
    "unfold step past the end": lambda x: x.unfold(0, 1, 7),
    "unflatten (1,)": lambda x: x.unflatten(0, (1, 3)),
    "split larger than the dim": lambda x: x.split(10, 1)[0],
    "tensor_split more sections than elements": lambda x: x.tensor_split(6, 1)[5],
    "roll dims None": lambda x: x.roll(-5),
    "repeat_interleave 0": lambda x: x.repeat_interleave(0, dim=0),
    "repeat_interleave one count": lambda x: x.repeat_interleave(np.array([2]) if isinstance(x, npg.Tensor)
                                                                 else torch.tensor([2]), dim=-1),
    "masked_select 0-d mask": lambda x: x.masked_select(x.sum() > 1e9),
    "slice_scatter start > end": lambda x: x.slice_scatter(x[:, 3:2], 1, 3, 2),
    "diagonal_scatter dim1 > dim2": lambda x: x.diagonal_scatter(x[:, :3].diagonal() * 0, 0, 1, 0),
    "diag_embed offset": lambda x: x.diag_embed(-2, 0, -1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(EDGES))
def test_edge_cases_as_torch(name, dtype):
    a = rnd((3, 4), dtype)
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    out, tout = EDGES[name](x), EDGES[name](t)
    assert out.shape == tuple(tout.shape) and out.dtype == a.dtype
    np.testing.assert_array_equal(out.data, tout.detach().numpy())
    w = rnd(out.shape, dtype, seed=1)
    (out * w).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-6)


def test_0d_tensors_as_torch():
    a = np.array(1.5)
    for call in (lambda x: x.t(), lambda x: x.unfold(0, 1, 1), lambda x: x.unfold(-1, 0, 1), lambda x: x.roll(2),
                 lambda x: x.repeat_interleave(3), lambda x: x.masked_select(x > 0), lambda x: x.movedim((), ())):
        x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
        out, tout = call(x), call(t)
        assert out.shape == tuple(tout.shape)
        np.testing.assert_array_equal(out.data, tout.detach().numpy())
        (out * 2.0).sum().backward()
        (tout * 2.0).sum().backward()
        np.testing.assert_array_equal(x.grad, t.grad.numpy())


ERRORS = [  # (call on either library, what npgrad's message names)
    (lambda x: x.narrow(0, 4, 0), r"narrow\(\): start out of range .*\[-3, 3\].* got 4"),
    (lambda x: x.narrow(0, -4, 0), r"narrow\(\): start out of range"),
    (lambda x: x.narrow(1, 2, 3), r"narrow\(\): start \(2\) \+ length \(3\) exceeds dimension size \(4\)"),
    (lambda x: x.narrow(1, 0, -1), r"narrow\(\): length must be non-negative"),
    (lambda x: x.narrow(2, 0, 1), r"narrow: axis 2 is out of bounds"),
    (lambda x: x.sum().narrow(0, 0, 1), r"narrow\(\): cannot be applied to a 0-dim tensor"),
    (lambda x: x.select(0, 3), r"select\(\): index 3 out of range for tensor of size \[3, 4\] at dimension 0"),
    (lambda x: x.select(-1, -5), r"select\(\): index -5 out of range"),
    (lambda x: x.sum().select(0, 0), r"select\(\): cannot be applied to a 0-dim tensor"),
    (lambda x: x.movedim(0, 2), r"moveaxis: axis 2 is out of bounds"),
    (lambda x: x.movedim((0, 0), (0, 1)), r"repeated axis"),
    (lambda x: x[None].t(), r"t\(\) expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda x: x[0].H, r"tensor.H is only supported on matrices \(2-D tensors\). Got 1-D"),
    (lambda x: x[None].H, r"tensor.H is only supported on matrices .* Got 3-D tensor"),
    (lambda x: x[0].mH, r"tensor.mH is only supported on matrices or batches of matrices. Got 1-D"),
    (lambda x: x[0].adjoint(), r"adjoint\(\): .*Got 1-D"),
    (lambda x: x.swapdims(0, 2), r"swapaxes: axis 2 is out of bounds"),
    (lambda x: x.unflatten(1, (3, -1)), r"unflatten: Provided sizes \[3, 1\] don't multiply up to the size of dim 1 "
                                        r"\(4\)"),
    (lambda x: x.unflatten(1, (5,)), r"unflatten: Provided sizes \[5\]"),
    (lambda x: x.unflatten(1, ()), r"unflatten: sizes must be non-empty"),
    (lambda x: x.unflatten(1, (-1, -1)), r"unflatten: sizes \[-1, -1\] must be non-negative, with at most one -1"),
    (lambda x: x.sum().unflatten(0, (1,)), r"unflatten\(\): Dimension specified as 0 but tensor has no dimensions"),
    (lambda x: x.reshape_as(x[0]), r"reshape: cannot reshape a tensor of shape \(3, 4\) into shape \(4,\)"),
    (lambda x: x.unfold(1, 5, 1), r"unfold\(\): maximum size for tensor at dimension 1 is 4 but size is 5"),
    (lambda x: x.unfold(1, 2, 0), r"unfold\(\): step is 0 but must be > 0"),
    (lambda x: x.unfold(1, 2, -1), r"unfold\(\): step is -1 but must be > 0"),
    (lambda x: x.unfold(2, 1, 1), r"unfold: axis 2 is out of bounds"),
    (lambda x: x.sum().unfold(0, 2, 1), r"unfold\(\): maximum size for tensor at dimension 0 is 1 but size is 2"),
    (lambda x: x.split(0), r"split\(\): split_size can only be 0 if dimension size is 0, but got dimension size of 3"),
    (lambda x: x.split(-1), r"split\(\): expects split_size be non-negative"),
    (lambda x: x.split([1, 1]), r"split_with_sizes expects split_sizes to sum exactly to 3 .*split_sizes=\[1, 1\]"),
    (lambda x: x.split([4, -1]), r"split_with_sizes expects split_sizes to sum exactly to 3"),
    (lambda x: x.sum().split(1), r"split\(\): expects at least a 1-dimensional tensor"),
    (lambda x: x.tensor_split(0), r"tensor_split\(\): number of sections must be larger than 0, got 0"),
    (lambda x: x.sum().tensor_split(1), r"tensor_split expected at least a 1-dimensional tensor"),
    (lambda x: x.hsplit(3), r"hsplit\(\): attempted to split along dimension 1, but the size of the dimension 4 is not "
                            r"divisible by the split_size 3"),
    (lambda x: x.hsplit(0), r"hsplit\(\): .*split_size 0"),
    (lambda x: x[0].vsplit(2), r"vsplit\(\): requires a tensor with at least 2 dimension, but got a tensor with 1"),
    (lambda x: x.dsplit(2), r"dsplit\(\): requires a tensor with at least 3 dimension"),
    (lambda x: x.sum().hsplit(1), r"hsplit\(\): requires a tensor with at least 1 dimension"),
    (lambda x: x.roll((1, 2), 0), r"roll\(\): shifts and dimensions must align. shifts: 2, dims: 1"),
    (lambda x: x.roll((1, 2)), r"roll\(\): shifts and dimensions must align"),
    (lambda x: x.roll(()), r"roll\(\): `shifts` required"),
    (lambda x: x.roll(1, 2), r"roll: axis 2 is out of bounds"),
    (lambda x: x.repeat_interleave(-1), r"repeat_interleave\(\): repeats must be non-negative"),
    (lambda x: x.repeat_interleave(x.shape[0] * [1] + [1], dim=0) if isinstance(x, npg.Tensor)
     else x.repeat_interleave(torch.tensor([1, 1, 1, 1]), dim=0), r"repeats must have the same size as input along "
                                                                  r"dim, but got repeats.size\(0\) = 4 and input.size"),
    (lambda x: x.repeat_interleave(2, dim=0, output_size=5), r"output_size 5 does not match the repeats' total 6"),
    (lambda x: x.masked_select(x.sum(axis=0) if isinstance(x, npg.Tensor) else x.sum(0)),
     r"masked_select\(\): expected a boolean mask, got dtype float"),
    (lambda x: x.masked_select(x[:2] > 0), r"masked_select\(\): the mask of shape \(2, 4\) does not broadcast with"),
    (lambda x: x[0].tril(), r"tril\(\): input tensor must have at least 2 dimensions, got shape \(4,\)"),
    (lambda x: x[0].triu(), r"triu\(\): input tensor must have at least 2 dimensions"),
    (lambda x: x[0].fliplr(), r"fliplr: the tensor must be at least 2-D, got shape \(4,\)"),
    (lambda x: x.sum().flipud(), r"flipud: the tensor must be at least 1-D"),
    (lambda x: x.rot90(1, (0,)), r"rot90: len\(axes\) must be 2"),
    (lambda x: x.rot90(1, (1, 1)), r"rot90: axes must be different"),
    (lambda x: x.narrow_copy(1, 3, 2), r"narrow\(\): start \(3\) \+ length \(2\) exceeds"),
    (lambda x: x.select_scatter(x[:, 0], 0, 1), r"select_scatter\(\): expected src to have a size equal to the slice "
                                                r"of self. src size = \[3\], slice size = \[4\]"),
    (lambda x: x.select_scatter(x[0], 0, 3), r"select\(\): index 3 out of range"),
    (lambda x: x.slice_scatter(x[:, :1], 1, 0, None, 2), r"slice_scatter\(\): expected src .* src size = \[3, 1\], "
                                                         r"slice size = \[3, 2\]"),
    (lambda x: x.slice_scatter(x, 1, 0, None, 0), r"slice_scatter\(\): slice step must be positive"),
    (lambda x: x.slice_scatter(x, 1, 0, None, -1), r"slice_scatter\(\): slice step must be positive"),
    (lambda x: x.diagonal_scatter(x[0]), r"diagonal_scatter\(\): expected src .* src size = \[4\], slice size = \[3\]"),
    (lambda x: x.diagonal_scatter(x[0, :3], 0, 1, 1), r"diagonal_scatter\(\): diagonal dimensions cannot be "
                                                      r"identical 1, 1"),
    (lambda x: x[0].diagonal_scatter(x[0, :1]), r"diagonal_scatter\(\): expected a tensor of at least 2 dimensions"),
    (lambda x: x.diag_embed(0, 0, 0), r"diag_embed\(\): diagonal dimensions cannot be identical 0, 0"),
    (lambda x: x.diag_embed(0, 0, 3), r"diag_embed: axis 3 is out of bounds"),
    (lambda x: x.sum().diag_embed(), r"diag_embed: axis -2 is out of bounds"),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=[f"error{i}" for i in range(len(ERRORS))])
def test_errors_where_torch_errors(call, message):
    a = rnd((3, 4))
    with pytest.raises((RuntimeError, IndexError, ValueError, TypeError)):
        call(torch.tensor(a))
    with pytest.raises((RuntimeError, IndexError, ValueError, TypeError), match=message):
        call(npg.tensor(a))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", ["H", "mH", "adjoint"])
def test_complex_conjugate_transposes_are_read_only_copies(name, dtype):
    """PyTorch's are conjugated views; npgrad's conj copies (NumPy's), so the result refuses writes (which would
    not reach the base) instead of silently missing it. Values and gradients as PyTorch's."""
    call = {"H": lambda z: z.H, "mH": lambda z: z.mH, "adjoint": lambda z: z.adjoint()}[name]
    rng = np.random.default_rng(0)
    a = crandn(rng, (3, 4) if name == "H" else (2, 3, 4), dtype)
    z0, tz0 = npg.tensor(a), torch.tensor(a, requires_grad=True)
    z, tz = z0 * (1 - 2j), tz0 * (1 - 2j)
    v, tv = call(z), call(tz)
    close(v, tv, f"{name}: value")
    with pytest.raises(ValueError, match="read-only"):
        v[...] = 1.0
    c = crandn(rng, v.shape, dtype)
    (npg.abs(v * c) ** 2).sum().backward()
    ((tv * torch.tensor(c)).abs() ** 2).sum().backward()
    close(z0.grad, tz0.grad, f"{name}: gradient")
    real = npg.tensor(a.real.copy(), requires_grad=False)
    assert np.shares_memory(call(real).data, real.data)  # a real tensor's: a view


def test_overlapping_unfold_is_read_only_and_its_gradient_adds_up():
    a = rnd((2, 6))
    x, t = npg.tensor(a), torch.tensor(a, requires_grad=True)
    y, ty = x * 1, t * 1
    v, tv = y.unfold(1, 3, 1), ty.unfold(1, 3, 1)
    with pytest.raises(ValueError, match="read-only.*unfold with overlapping windows"):
        v += 1.0
    np.testing.assert_array_equal(y.data, a)
    w = rnd(v.shape, seed=2)
    ((v ** 2) * w).sum().backward()
    ((tv ** 2) * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12)
    assert y.unfold(1, 3, 3).data.flags.writeable and y.unfold(1, 1, 1).data.flags.writeable


@pytest.mark.parametrize("layout", ["contiguous", "permuted"])
def test_write_through_unfold_view_counts_in_the_base_version_as_torch(layout):
    """(Found by the fuzzer: a view made by ``as_strided`` hid its memory's owner from the version counters.)
    ``permuted``: tanh of a strided view allocates its output in the input's axis order, neither C- nor
    Fortran-contiguous; tanh saves that output, which the write through an unfold view of it overwrites."""
    a = rnd((4, 6))
    for lib, make in (("npg", npg.tensor), ("torch", lambda v: torch.tensor(v, requires_grad=True))):
        x = make(a)
        if layout == "contiguous":
            y = x * 1
            s = y.sin() if lib == "torch" else npg.sin(y)  # saves y
        else:
            y = x.unfold(0, 2, 2).tanh() if lib == "torch" else npg.tanh(x.unfold(0, 2, 2))  # saves y
            s = y
        v = y.unfold(0, 2, 2)
        v += 0.5
        with pytest.raises(RuntimeError, match="modified by an in(-)?place operation"):
            (s.sum() + (y * 2).sum()).backward()


@pytest.mark.parametrize("name", ["narrow", "select", "unfold", "split", "unflatten", "t"])
def test_write_through_view_in_forward_mode_as_torch(name):
    call = {"narrow": lambda y: y.narrow(1, 1, 2), "select": lambda y: y.select(-1, 0),
            "unfold": lambda y: y.unfold(1, 2, 2), "split": lambda y: y.split(2, dim=1)[1],
            "unflatten": lambda y: y.unflatten(1, (2, 2)), "t": lambda y: y.t()}[name]
    rng = np.random.default_rng(4)
    a, ta = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    wshape = call(npg.tensor(a, requires_grad=False)).shape
    wa, twa = rng.standard_normal(wshape), rng.standard_normal(wshape)
    with fwd.dual_level():
        x = fwd.make_dual(npg.tensor(a, requires_grad=False), npg.tensor(ta, requires_grad=False))
        w = fwd.make_dual(npg.tensor(wa, requires_grad=False), npg.tensor(twa, requires_grad=False))
        y = x * x
        v = call(y)
        v *= w
        out, vout = fwd.unpack_dual(y * 1.0), fwd.unpack_dual(call(y))
    with tfw.dual_level():
        x = tfw.make_dual(torch.tensor(a), torch.tensor(ta))
        w = tfw.make_dual(torch.tensor(wa), torch.tensor(twa))
        y = x * x
        v = call(y)
        v *= w
        tout, tvout = tfw.unpack_dual(y * 1.0), tfw.unpack_dual(call(y))
    for got, want, what in ((out, tout, "base"), (vout, tvout, "view")):
        close(got.primal, want.primal, f"{name} {what}: primal")
        close(got.tangent, want.tangent, f"{name} {what}: tangent")


def test_split_keeps_numpy_meaning_as_a_function_and_torch_meaning_as_a_method():
    """README, "Coming from PyTorch": ``npg.split(x, 2)`` is ``np.split`` (two equal sections); ``x.split(2)`` is
    PyTorch's (pieces of two elements); NumPy arrays have no ``split`` method to clash with."""
    a = rnd((6, 2))
    x = npg.tensor(a, requires_grad=False)
    assert [p.shape for p in npg.split(x, 2)] == [s.shape for s in np.split(a, 2)] == [(3, 2), (3, 2)]
    assert [p.shape for p in x.split(2)] == [tuple(s.shape) for s in torch.tensor(a).split(2)] == [(2, 2)] * 3
    assert not hasattr(a, "split")
    assert [p.shape for p in npg.tensor_split(x, 4)] == [tuple(s.shape) for s in torch.tensor_split(torch.tensor(a), 4)]


def test_module_functions_as_torch():
    a, s = rnd((3, 4)), rnd((4,), seed=1)
    x, t = npg.tensor(a), torch.tensor(a)
    pairs = [(npg.movedim(x, 0, 1), torch.movedim(t, 0, 1)), (npg.swapdims(x, 0, 1), torch.swapdims(t, 0, 1)),
             (npg.narrow(x, 1, 1, 2), torch.narrow(t, 1, 1, 2)), (npg.narrow_copy(x, 0, 1, 2),
                                                                  torch.narrow_copy(t, 0, 1, 2)),
             (npg.adjoint(x), torch.adjoint(t)), (npg.unflatten(x, 1, (2, 2)), torch.unflatten(t, 1, (2, 2))),
             (npg.repeat_interleave(x, 2, dim=0), torch.repeat_interleave(t, 2, dim=0)),
             (npg.masked_select(x, a > 0), torch.masked_select(t, torch.tensor(a > 0))),
             (npg.select_scatter(x, s, 0, 1), torch.select_scatter(t, torch.tensor(s), 0, 1)),
             (npg.slice_scatter(x, x[:1], 0, 2), torch.slice_scatter(t, t[:1], 0, 2)),
             (npg.diagonal_scatter(x, s[:3], 0), torch.diagonal_scatter(t, torch.tensor(s[:3]), 0)),
             (npg.diag_embed(x), torch.diag_embed(t))]
    pairs += [(p, q) for p, q in zip(npg.tensor_split(x, [1], 1), torch.tensor_split(t, [1], 1))]
    for got, want in pairs:
        np.testing.assert_array_equal(got.data, want.numpy())
    counts = np.array([2, 0, 1])
    np.testing.assert_array_equal(npg.repeat_interleave(counts).data,
                                  torch.repeat_interleave(torch.tensor(counts)).numpy())
    with pytest.raises(RuntimeError, match="repeat_interleave\\(\\): repeats must be a 1-D integer tensor"):
        npg.repeat_interleave(npg.tensor(a))


@pytest.mark.parametrize("args,kwargs", [((np.float32,), {}), (("cpu",), {}), (("cpu", np.float32), {}),
                                         ((), dict(dtype=np.float32)), ((torch.float32,), {}),
                                         ((np.float64,), dict(copy=True)), ((np.float64,), {}),
                                         ((np.float64,), dict(non_blocking=True))], ids=str)
def test_tensor_to_like_torch(args, kwargs):
    a0 = np.arange(6.0).reshape(2, 3)
    x, tx = npg.tensor(a0), torch.tensor(a0, requires_grad=True)
    t_args = tuple(torch.float32 if a is np.float32 else torch.float64 if a is np.float64 else a for a in args)
    t_kwargs = {k: (torch.float32 if v is np.float32 else v) for k, v in kwargs.items()}
    y, ty = x.to(*args, **kwargs), tx.to(*t_args, **t_kwargs)
    assert (y is x) == (ty is tx)
    assert str(y.dtype) == str(ty.dtype).replace("torch.", "")
    (y * 2).sum().backward()
    (ty * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, tx.grad.numpy())
    assert x.grad.dtype == np.float64


def test_tensor_to_another_tensor_and_devices():
    x, other = npg.tensor(np.ones(2)), npg.tensor(np.ones(2, np.float32))
    assert x.to(other).dtype == np.float32
    with pytest.raises(ValueError, match="CPU only"):
        x.to("cuda")


def test_cat_like_torch():
    a, b = np.ones((2, 3)), np.zeros((2, 2))
    np.testing.assert_array_equal(npg.cat([npg.tensor(a), npg.tensor(b)], dim=1).data,
                                  torch.cat([torch.tensor(a), torch.tensor(b)], dim=1).numpy())
    np.testing.assert_array_equal(npg.cat([npg.tensor(a), npg.tensor(a)]).data, np.concatenate([a, a]))
