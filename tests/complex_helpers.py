"""Helpers of the complex-number tests: complex inputs, tolerances, and the comparison with PyTorch's complex
autograd (values, then ``.grad`` of a real loss with respect to every floating or complex leaf)."""
import numpy as np
import torch

import npgrad as npg

CDTYPES = [np.complex64, np.complex128]
FOR = {np.dtype(np.complex64): np.dtype(np.float32), np.dtype(np.complex128): np.dtype(np.float64)}
TOL = {np.dtype(np.float32): dict(rtol=2e-4, atol=2e-5), np.dtype(np.float64): dict(rtol=1e-9, atol=1e-11)}


def crandn(rng, shape, dtype):
    """Complex normal values of ``dtype`` (or real ones for a real dtype)."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)


def tol_of(dtype):
    dt = np.dtype(dtype)
    return TOL[FOR.get(dt, dt)]


def close(actual, expected, what="", dtype=None):
    a = np.asarray(actual.data if isinstance(actual, npg.Tensor) else actual)
    e = np.asarray(expected.detach().resolve_conj().numpy() if isinstance(expected, torch.Tensor) else expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs {e.shape}"
    np.testing.assert_allclose(a, e, err_msg=what, **tol_of(dtype or a.dtype))


def _weights(out, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(out.shape), rng.standard_normal(out.shape)


def npg_loss(out, w):
    """A real loss of an npgrad output, nonlinear in the imaginary part (so every gradient component matters)."""
    wr, wi = (npg.tensor(v.astype(FOR.get(out.dtype, out.dtype)), requires_grad=False) for v in w)
    if out.dtype.kind != "c":
        return (out * wr).sum() + (out ** 2 * wi).sum()
    return (npg.real(out) * wr).sum() + (npg.imag(out) ** 2 * wi).sum()


def torch_loss(out, w):
    wr, wi = (torch.tensor(v).to(out.real.dtype) for v in w)
    if not out.is_complex():
        return (out * wr).sum() + (out ** 2 * wi).sum()
    return (out.real * wr).sum() + (out.imag ** 2 * wi).sum()


def compare(f, tf, arrays, what, seed=0):
    """``f`` on npgrad leaves and ``tf`` on torch leaves made from ``arrays``: the values (and dtype), then
    the gradients of a real loss with respect to every floating or complex leaf."""
    xs = [npg.tensor(a) if isinstance(a, np.ndarray) else a for a in arrays]
    ts = [torch.tensor(a, requires_grad=a.dtype.kind in "fc") if isinstance(a, np.ndarray) else a for a in arrays]
    out, tout = f(*xs), tf(*ts)
    close(out, tout, f"{what}: value")
    assert str(out.dtype) == str(tout.dtype).replace("torch.", ""), f"{what}: dtype {out.dtype} vs {tout.dtype}"
    w = _weights(out, seed)
    npg_loss(out, w).backward()
    torch_loss(tout, w).backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if isinstance(x, npg.Tensor) and x.requires_grad:
            if t.grad is None:  # an input the output does not depend on
                assert x.grad is None, f"{what}: input {i} got a gradient, torch's has none"
                continue
            assert x.grad is not None and x.grad.dtype == x.dtype, f"{what}: grad {i} dtype"
            close(x.grad, t.grad, f"{what}: gradient of input {i}", dtype=x.dtype)
