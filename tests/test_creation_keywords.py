"""NumPy's keyword arguments on npgrad's constructors: ``order=``, ``like=``, ``device=`` on ``zeros ones empty
full eye identity arange``; ``order=`` / ``copy=`` / ``like=`` on ``array`` and ``asarray``; ``shape=`` / ``order=`` /
``subok=`` on the ``*_like`` forms; ``linspace`` / ``logspace`` argument checks; npg.stats' result types.

Oracles: NumPy 2 (values, dtype, shape, memory layout, and the same exception type), SciPy for npg.stats, central
differences for gradients."""
import numpy as np
import pytest

import npgrad as npg


def _same(t, ref, layout=True):
    """``t`` is a tensor equal to NumPy's ``ref`` in values, shape, dtype (and memory layout)."""
    assert isinstance(t, npg.Tensor)
    assert t.shape == ref.shape and t.dtype == ref.dtype
    if ref.dtype.kind == "f" and not np.isfinite(ref).all():
        np.testing.assert_array_equal(np.isnan(t.data), np.isnan(ref))
    else:
        np.testing.assert_array_equal(t.data, ref)
    if layout and ref.size > 1:
        assert t.data.flags.c_contiguous == ref.flags.c_contiguous
        assert t.data.flags.f_contiguous == ref.flags.f_contiguous


# ------------------------------------------------------------------ order= / like= / device= on the constructors
CONSTRUCTORS = {  # name -> (npgrad call, NumPy call), each given the keyword arguments
    "zeros": (lambda **kw: npg.zeros((2, 3), **kw), lambda **kw: np.zeros((2, 3), **kw)),
    "ones": (lambda **kw: npg.ones((3, 2), **kw), lambda **kw: np.ones((3, 2), **kw)),
    "full": (lambda **kw: npg.full((2, 3), 1.5, **kw), lambda **kw: np.full((2, 3), 1.5, **kw)),
    "eye": (lambda **kw: npg.eye(3, 4, 1, **kw), lambda **kw: np.eye(3, 4, 1, **kw)),
}


@pytest.mark.parametrize("name", CONSTRUCTORS)
@pytest.mark.parametrize("order", ["C", "F"])
def test_constructor_order(name, order):
    make, ref = CONSTRUCTORS[name]
    t = make(order=order)
    _same(t, ref(order=order))
    assert t.requires_grad
    # an F-ordered tensor computes as a C-ordered one: values and gradients
    w = np.arange(float(t.size)).reshape(t.shape[::-1]).T * 0.5  # (an F-ordered constant)
    loss = (t.reshape(-1) ** 2).sum() + (t * w).sum() + (t.T @ np.ones(t.shape[0])).sum()
    loss.backward()
    np.testing.assert_allclose(t.grad, 2 * ref() + w + 1.0)
    assert t.grad.shape == t.shape


def test_empty_order_and_bad_order():
    assert npg.empty((2, 3), order="F").data.flags.f_contiguous
    assert npg.empty(2, 3, order="C").data.flags.c_contiguous
    for bad in ("A", "K", "X"):  # NumPy: only 'C' or 'F' for these
        with pytest.raises(ValueError):
            np.zeros((2, 3), order=bad)
        for name in ("zeros", "ones", "empty"):
            with pytest.raises(ValueError, match=name):
                getattr(npg, name)((2, 3), order=bad)
        with pytest.raises(ValueError, match="full"):
            npg.full((2, 3), 1.0, order=bad)


@pytest.mark.parametrize("like", [None, np.ones(2), npg.ones(2)])
def test_constructor_like(like):
    for name, (make, ref) in CONSTRUCTORS.items():
        _same(make(like=like), ref())
    _same(npg.empty(2, like=like) * 0, np.zeros(2))
    _same(npg.arange(1, 7, 2, like=like), np.arange(1, 7, 2))
    _same(npg.identity(3, like=like), np.identity(3))


@pytest.mark.parametrize("bad", [[1, 2], 3, "C"])
def test_constructor_like_must_implement_array_function(bad):
    with pytest.raises(TypeError, match="like"):
        np.zeros(2, like=bad)  # NumPy's rule
    for call in (lambda: npg.zeros(2, like=bad), lambda: npg.full(2, 1.0, like=bad), lambda: npg.eye(2, like=bad),
                 lambda: npg.arange(3, like=bad), lambda: npg.identity(2, like=bad)):
        with pytest.raises(TypeError, match="like"):
            call()


def test_constructor_device():
    _same(npg.zeros(2, device="cpu"), np.zeros(2, device="cpu"))
    _same(npg.arange(3, device="cpu"), np.arange(3, device="cpu"))
    _same(npg.eye(2, device="cpu"), np.eye(2, device="cpu"))
    with pytest.raises(ValueError):
        np.zeros(2, device="cuda")
    with pytest.raises(ValueError, match="zeros"):
        npg.zeros(2, device="cuda")


@pytest.mark.parametrize("dtype", [None, "float32", "int64"])
def test_identity(dtype):
    t = npg.identity(4, dtype=dtype)
    ref = np.identity(4, dtype=npg.get_default_dtype() if dtype is None else dtype)
    _same(t, ref)
    assert t.requires_grad == (ref.dtype.kind == "f")
    assert npg.identity(3, requires_grad=False).requires_grad is False
    _same(npg.identity(0), np.identity(0))
