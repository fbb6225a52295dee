"""Oracles shared by the test suites: PyTorch and central finite differences."""
import contextlib
import sys
import threading
import warnings

import numpy as np
import pytest

import npgrad as npg

class _NoTorch:
    """Stands in for PyTorch when it is not installed: every use raises ModuleNotFoundError."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        raise ModuleNotFoundError("PyTorch is not installed: it is the oracle of this test and a pinned test "
                                  "dependency (pip install -e \".[test]\")")


def torch_or_stand_in():
    """``torch``, or, when it is missing, a stand-in whose every use raises ModuleNotFoundError.

    PyTorch is a pinned test dependency, so the tests that compare with it fail (never skip) without it. A
    module that also holds checks needing no PyTorch (finite differences) imports it this way, so that
    those checks are still collected and run."""
    try:
        import torch
    except ImportError:
        return _NoTorch()
    return torch


TOL = {np.dtype(np.float32): dict(rtol=2e-4, atol=2e-5), np.dtype(np.float64): dict(rtol=1e-7, atol=1e-9)}


def to_torch(arrays, requires_grad=True):
    import torch
    return [torch.tensor(a, requires_grad=requires_grad and a.dtype.kind == "f") for a in arrays]


def assert_close(actual, expected, dtype=None, what="", **kw):
    actual = np.asarray(actual.data if isinstance(actual, npg.Tensor) else actual)
    expected = np.asarray(expected.data if isinstance(expected, npg.Tensor) else expected)
    tol = dict(TOL[np.dtype(dtype or actual.dtype)] if np.dtype(dtype or actual.dtype) in TOL else {})
    tol.update(kw)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, err_msg=what, equal_nan=True, **tol)


def assert_like_torch(a, t, dtype, tol):
    """npgrad's ``a`` (a Tensor or an array) has ``dtype`` and torch's values ``t`` within ``tol[dtype]`` (a dict
    of assert_allclose's rtol / atol per NumPy dtype)."""
    a = a.data if isinstance(a, npg.Tensor) else np.asarray(a)
    assert a.dtype == dtype, (a.dtype, dtype)
    np.testing.assert_allclose(a, t.detach().numpy(), **tol[dtype])


def assert_grads_like_torch(n_out, t_out, n_leaves, t_leaves, dtype, tol, rng):
    """The gradients of sum(w * out), w drawn from ``rng`` (the same for both), w.r.t. every leaf: npgrad's
    (``n_out``, ``n_leaves``) against torch's, as assert_like_torch."""
    w = rng.normal(size=tuple(t_out.shape)).astype(dtype)
    (n_out * npg.tensor(w)).sum().backward()
    (t_out * torch_or_stand_in().tensor(w)).sum().backward()
    for a, b in zip(n_leaves, t_leaves):
        assert_like_torch(a.grad, b.grad, dtype, tol)


@contextlib.contextmanager
def switching_often():
    """Threads switch every microsecond (races become likely), then back to the interpreter's interval."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def together(fns):
    """Run each of ``fns`` in its own thread, all released at once by a barrier; their results (an exception
    in a thread is raised here)."""
    bar = threading.Barrier(len(fns))
    out, errs = [None] * len(fns), []

    def run(i):
        try:
            bar.wait()
            out[i] = fns[i]()
        except BaseException as e:  # noqa: BLE001 (re-raised in the main thread)
            errs.append(e)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
        assert not t.is_alive(), "a thread did not finish (deadlock?)"
    if errs:
        raise errs[0]
    return out


def compare_with_torch(npg_fn, torch_fn, arrays, seed=0, what=""):
    """Run ``npg_fn`` on npgrad tensors and ``torch_fn`` on torch tensors made from the same
    ``arrays``; compare values, then gradients of ``sum(out * w)`` for a random weight ``w``."""
    import torch
    xs = [npg.tensor(a) for a in arrays]
    ts = to_torch(arrays)
    out = npg_fn(*xs)
    tout = torch_fn(*ts)
    assert_close(out, tout.detach().numpy(), what=f"{what} value")
    assert out.dtype == np.dtype(str(tout.dtype).replace("torch.", "")), f"{what}: dtype {out.dtype} vs {tout.dtype}"
    if not out.requires_grad:
        assert not tout.requires_grad, f"{what}: npgrad's output has no gradient, PyTorch's has"
        return
    w = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    npg.sum(out * w).backward()
    (tout * torch.tensor(w)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if t.requires_grad:
            expected = t.grad.numpy() if t.grad is not None else np.zeros(t.shape, arrays[i].dtype)
            assert x.grad is not None, f"{what}: input {i} got no gradient"
            assert x.grad.dtype == x.dtype, f"{what}: grad dtype {x.grad.dtype} != {x.dtype}"
            assert_close(x.grad, expected, what=f"{what} grad of input {i}")


def numerical_vjp(f, arrays, v, eps=1e-6):
    """<v, d f(arrays) / d arrays[i] . u_i> along random directions, by central differences (float64)."""
    rng = np.random.default_rng(1)
    dirs = [rng.standard_normal(a.shape) for a in arrays]

    def fval(t):
        xs = [npg.tensor(a + t * d, requires_grad=False) for a, d in zip(arrays, dirs)]
        return float(np.sum(np.asarray(f(*xs).data) * v))
    return (fval(eps) - fval(-eps)) / (2 * eps), dirs


def check_finite_difference(f, arrays, eps=1e-6, rtol=1e-5, atol=1e-7, what=""):
    """Check npgrad's gradient of ``f`` against central differences along a random direction."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    xs = [npg.tensor(a) for a in arrays]
    out = f(*xs)
    v = np.random.default_rng(2).standard_normal(out.shape)
    npg.sum(out * v).backward()
    numeric, dirs = numerical_vjp(f, arrays, v, eps)
    analytic = sum(float(np.sum(x.grad * d)) for x, d in zip(xs, dirs) if x.grad is not None)
    assert np.isclose(analytic, numeric, rtol=rtol, atol=atol), f"{what}: analytic {analytic} vs numeric {numeric}"


@pytest.fixture
def torch_default_float64():
    """PyTorch keeps some optimizer state (NAdam's mu_product, ASGD's eta and mu, the averaged models' counts)
    in its default dtype; npgrad keeps it in float64: run PyTorch with float64 as its default for the test."""
    import torch
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def assert_same_error(exc, torch_call, npgrad_call):
    """Both calls raise ``exc`` with the same message (PyTorch's error, word for word); returns the message."""
    with pytest.raises(exc) as t_err:
        torch_call()
    with pytest.raises(exc) as err:
        npgrad_call()
    assert str(err.value) == str(t_err.value)
    return str(err.value)


def outcome(f, *args, **kwargs):
    """``(True, f(*args, **kwargs))``, or ``(False, the exception)``, with NumPy's warnings silenced: how the
    parity tests (tests/test_*_parity.py) call NumPy and npgrad alike before comparing."""
    import warnings
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return True, f(*args, **kwargs)
        except Exception as e:  # the caller compares it with the other library's outcome
            return False, e


def result_leaves(r):
    """A result's arrays, flattened out of tuples and lists: tensors as their data, NumPy scalars as 0-d arrays,
    anything else (a Python number, a dtype) as it is."""
    if isinstance(r, (tuple, list)):
        return [x for item in r for x in result_leaves(item)]
    if isinstance(r, npg.Tensor):
        return [np.asarray(r.data)]
    return [np.asarray(r) if isinstance(r, (np.ndarray, np.generic)) else r]


@pytest.fixture
def vmap_without_fallback():
    """``no_vmap_fallback()`` around a test: a module takes it for every test with
    ``vmap_without_fallback = helpers.vmap_without_fallback`` and ``pytestmark = pytest.mark.usefixtures(...)``."""
    with no_vmap_fallback():
        yield


@contextlib.contextmanager
def no_vmap_fallback():
    """vmap's per-sample loop fallback as an error, its one-time record cleared so every test sees it again
    (a batched call must be one vectorized call)."""
    from npgrad import func_vmap as fv
    fv._warned.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", fv._vmap_rules.VmapFallbackWarning)
        yield
