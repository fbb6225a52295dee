"""Finite-difference checks a user can run on their own functions (``torch.autograd.gradcheck``).

``gradcheck(f, inputs)`` compares the full Jacobian of ``f`` computed by npgrad's backward with a
central-difference Jacobian, element by element, and reports the worst element when they differ.
``gradgradcheck`` does the same for the gradient of ``f`` (its second derivatives).

Complex inputs and outputs are checked as PyTorch's gradcheck does: a complex number is two real ones.
The real and the imaginary part of each input element are perturbed apart (numeric columns), and the
real and the imaginary part of each output element are differentiated apart (analytic rows: backward
seeded with 1 and with 1j, which under PyTorch's convention differentiate ``Re(y)`` and ``Im(y)``).
"""
import warnings

import numpy as np

from ..tensor import Tensor, _wrap
from . import engine
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` / :func:`gradgradcheck` when analytic and numeric gradients differ."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _checked(x):
    """Whether an input of ``f`` is differentiated: a floating Tensor that requires grad, or a
    floating NumPy array."""
    if isinstance(x, Tensor):
        return x._requires_grad and x.data.dtype.kind in "fc"
    return isinstance(x, np.ndarray) and x.dtype.kind in "fc"


def _outputs(res, where):
    outs = _as_tuple(res)
    for o in outs:
        if not isinstance(o, (Tensor, np.ndarray, float, int, np.generic)):
            raise TypeError(f"{where}: f must return a Tensor or a tuple of Tensors, got {type(o).__name__}")
    return outs


def _fmt_index(idx, shape, complex_=False):
    """The element of a (real view of a) tensor: complex tensors have their real parts first, then their
    imaginary parts."""
    size = int(np.prod(shape, dtype=np.int64))
    part = ""
    if complex_:
        part = " (imaginary part)" if idx >= size else " (real part)"
        idx = idx % size if size else idx
    if not shape:
        return "()" + part
    return str(tuple(int(i) for i in np.unravel_index(int(idx), shape))) + part


def _parts(dtype):
    return 2 if dtype.kind == "c" else 1


def _real_view(a):
    """A result as a float64 vector: the real parts, then (complex) the imaginary parts."""
    a = np.asarray(a)
    if a.dtype.kind == "c":
        a = a.astype(np.complex128).reshape(-1)
        return np.concatenate([a.real, a.imag])
    return a.astype(np.float64).reshape(-1)


def _jacobians(f, inputs, which, eps, nondet_tol=None):
    """Analytic and numeric Jacobians: ``{(out_k, in_i): (analytic, numeric)}`` as 2-D arrays
    ``(out.size, in.size)``. Each backward runs twice; rows differing by more than ``nondet_tol`` (backward not
    reentrant) raise GradcheckError, as PyTorch's check."""
    base = [np.array(x.data if isinstance(x, Tensor) else x) for x in inputs]

    def leaves(datas):
        return [Tensor(d, requires_grad=True) if i in which else (inputs[i] if not isinstance(inputs[i], np.ndarray)
                                                                else d)
                for i, d in enumerate(datas)]

    # analytic: one backward per output element
    with enable_grad():
        xs = leaves([b.copy() for b in base])
        outs = _outputs(f(*xs), "gradcheck")
    out_arrays = [np.asarray(o.data if isinstance(o, Tensor) else o) for o in outs]
    checked_outs = [k for k, o in enumerate(out_arrays) if o.dtype.kind in "fc"]
    targets = [xs[i] for i in which]
    result = {}
    for k in checked_outs:
        o = outs[k]
        size = out_arrays[k].size
        analytic = {i: np.zeros((size * _parts(out_arrays[k].dtype), base[i].size * _parts(base[i].dtype)))
                    for i in which}
        if isinstance(o, Tensor) and o._requires_grad:
            for p in range(_parts(o.data.dtype)):   # the real part, then the imaginary part of the output
                for e in range(size):
                    seed = np.zeros(o.data.shape, dtype=o.data.dtype)
                    seed.reshape(-1)[e] = 1j if p else 1
                    grads = engine.grad([o], targets, grad_outputs=[seed], retain_graph=True, allow_unused=True)
                    again = engine.grad([o], targets, grad_outputs=[seed], retain_graph=True, allow_unused=True)
                    for i, g, g2 in zip(which, grads, again):
                        if g is not None:
                            analytic[i][p * size + e] = _real_view(g.data)
                        if (g is None) != (g2 is None) or g is not None and not np.allclose(
                                g.data, g2.data, rtol=0, atol=nondet_tol, equal_nan=True):
                            raise GradcheckError(
                                f"gradcheck: Backward is not reentrant, i.e., running backward with same input and "
                                f"grad_output multiple times gives different values (output {k}, input {i}); the "
                                f"tolerance for nondeterminism (nondet_tol) was {nondet_tol}")
        for i in which:
            result[(k, i)] = [analytic[i], np.zeros_like(analytic[i])]

    # numeric: central differences, one input element (and part) at a time
    for i in which:
        n = base[i].size
        for j in range(n * _parts(base[i].dtype)):
            vals = []
            for sign in (1, -1):
                datas = [b.copy() for b in base]
                datas[i].reshape(-1)[j % n] += sign * eps * (1j if j >= n else 1)
                with no_grad():
                    res = _outputs(f(*[(Tensor(d, requires_grad=False) if n in which and isinstance(inputs[n], Tensor)
                                        else (d if n in which else inputs[n])) for n, d in enumerate(datas)]),
                                   "gradcheck")
                vals.append([_real_view(r.data if isinstance(r, Tensor) else r) for r in res])
            for k in checked_outs:
                col = (vals[0][k] - vals[1][k]) / (2 * eps)
                result[(k, i)][1][:, j] = col
    return result, out_arrays, base


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0, fast_mode=False):
    """Check the gradients of ``f`` at ``inputs`` against central finite differences.

    ``inputs`` is a Tensor or a tuple of arguments; the floating Tensors that require grad (and
    floating NumPy arrays) are checked, other arguments are passed through unchanged. Every element
    of the Jacobian must satisfy ``|analytic - numeric| <= atol + rtol * |numeric|``. Returns True;
    on failure raises :class:`GradcheckError` naming the worst element (input, element, output,
    analytic and numeric values), or returns False when ``raise_exception=False``. Use float64
    inputs: float32 cannot resolve ``eps=1e-6``. As PyTorch's, backward must be reentrant: two calls on the
    same gradient may differ by ``nondet_tol`` at most. ``fast_mode`` (PyTorch's random projection) is
    accepted; the full Jacobians are compared either way.
    """
    inputs = _as_tuple(inputs)
    which = [i for i, x in enumerate(inputs) if _checked(x)]
    if not which:
        raise ValueError("gradcheck: no input to check: pass floating Tensors with requires_grad=True (or float "
                         "NumPy arrays)")
    for i in which:
        dt = (inputs[i].data if isinstance(inputs[i], Tensor) else inputs[i]).dtype
        if dt not in (np.float64, np.complex128):
            warnings.warn(f"gradcheck: input {i} is {dt}, not float64; finite differences with eps={eps} are "
                          f"unreliable in low precision", UserWarning, stacklevel=2)
    try:
        result, out_arrays, base = _jacobians(f, inputs, which, eps, nondet_tol)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    worst = None
    for (k, i), (analytic, numeric) in result.items():
        excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        bad = np.isnan(analytic) != np.isnan(numeric)
        excess = np.where(bad, np.inf, np.nan_to_num(excess, nan=-np.inf))
        if excess.size == 0:
            continue
        pos = np.unravel_index(int(np.argmax(excess)), excess.shape)
        if excess[pos] > 0 and (worst is None or excess[pos] > worst[0]):
            worst = (excess[pos], k, i, pos, analytic[pos], numeric[pos])
    if worst is None:
        return True
    _, k, i, (oe, ie), a, n = worst
    a, n = float(a), float(n)
    n_bad = sum(int((np.abs(an - nu) > atol + rtol * np.abs(nu)).sum()) for an, nu in result.values())
    msg = (f"gradcheck failed: Jacobian mismatch for output {k} with respect to input {i}.\n"
           f"  worst element: input {i} element {_fmt_index(ie, base[i].shape, base[i].dtype.kind == 'c')}, "
           f"output {k} element {_fmt_index(oe, out_arrays[k].shape, out_arrays[k].dtype.kind == 'c')}\n"
           f"  analytic {a!r} vs numeric {n!r} (|diff| {abs(a - n):.3g} > atol + rtol * |numeric| = "
           f"{atol + rtol * abs(n):.3g})\n"
           f"  {n_bad} mismatching element(s) in all")
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradgradcheck(f, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0,
                  nondet_tol=0.0, fast_mode=False):
    """Check second derivatives: :func:`gradcheck` on ``(inputs, v) -> d<f(inputs), v>/d inputs``,
    computed with ``create_graph=True``. ``grad_outputs`` (``v``) are random when not given; the check
    covers both the inputs and ``v``."""
    inputs = _as_tuple(inputs)
    which = [i for i, x in enumerate(inputs) if _checked(x)]
    if not which:
        raise ValueError("gradgradcheck: no input to check: pass floating Tensors with requires_grad=True")
    n = len(inputs)
    with no_grad():
        outs = _outputs(f(*inputs), "gradgradcheck")
    fouts = [k for k, o in enumerate(outs) if np.asarray(getattr(o, "data", o)).dtype.kind in "fc"]
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = []
        for k in fouts:
            d = np.asarray(getattr(outs[k], "data", outs[k]))
            v = rng.standard_normal(d.shape)
            if d.dtype.kind == "c":
                v = v + 1j * rng.standard_normal(d.shape)
            grad_outputs.append(Tensor(v.astype(d.dtype), requires_grad=True))
    else:
        grad_outputs = [v if isinstance(v, Tensor) else Tensor(np.asarray(v), requires_grad=True)
                        for v in _as_tuple(grad_outputs)]
    if len(grad_outputs) != len(fouts):
        raise ValueError(f"gradgradcheck: {len(grad_outputs)} grad_outputs for {len(fouts)} floating output(s)")

    def first_derivative(*args):
        xs, vs = list(args[:n]), args[n:]
        with enable_grad():
            for i in which:  # numeric evaluations pass constants: differentiate fresh leaves then
                if isinstance(xs[i], np.ndarray):
                    xs[i] = Tensor(xs[i], requires_grad=True)
                elif not xs[i]._requires_grad:
                    xs[i] = Tensor(xs[i].data, requires_grad=True)
            res = _outputs(f(*xs), "gradgradcheck")
            pairs = [(res[k], v) for k, v in zip(fouts, vs) if isinstance(res[k], Tensor) and res[k]._requires_grad]
            if not pairs:
                return tuple(_wrap(np.zeros(xs[i].shape, xs[i].dtype)) for i in which)
            grads = engine.grad([p for p, _ in pairs], [xs[i] for i in which],
                                grad_outputs=[v if isinstance(v, Tensor) else _wrap(np.asarray(v)) for _, v in pairs],
                                create_graph=True, allow_unused=True)
        return tuple(g if g is not None else _wrap(np.zeros(xs[i].shape, xs[i].dtype)) for i, g in zip(which, grads))

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol, fast_mode=fast_mode)
