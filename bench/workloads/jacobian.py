"""jacobian: whole Jacobians and a Hessian through the function transforms, against ``torch.func``.

* ``jacrev`` / ``jacfwd``: the 100 x 100 Jacobian of a 100 -> 100 MLP, ``f(x) = tanh(x @ W1 + b1) @ W2 + b2``
  (hidden 100, float64), with respect to its input: ``func.jacrev(f)(x)`` (reverse mode, vmapped over the
  output basis) and ``func.jacfwd(f)(x)`` (forward mode, vmapped over the input basis).
* ``hessian``: the 50 x 50 Hessian of ``g(x) = sum(tanh(x @ A + c))`` (50 parameters, 64 units),
  ``func.hessian(g)(x)`` (forward over reverse).

The reference is the hand-written closed form (``J = ((1 - t^2) * W1) @ W2`` transposed, ``H = A diag(-2 t
(1 - t^2)) A^T``). Target: npgrad <= 1.5x torch.func. A step returns ``(sum of f(x), [Jacobian])``.
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad

TARGETS = [("npgrad", "torch", 1.5, "npgrad <= 1.5x torch.func")]
SIZES = {"full": dict(n=100, hidden=100, m=50, units=64), "quick": dict(n=100, hidden=100, m=50, units=64),
         "tiny": dict(n=6, hidden=5, m=4, units=3)}


def make_mlp(size, rng, dtype=np.float64):
    s = SIZES[size]
    n, h = s["n"], s["hidden"]
    return dict(W1=rng.standard_normal((n, h)).astype(dtype) / np.sqrt(n), b1=rng.standard_normal(h).astype(dtype),
                W2=rng.standard_normal((h, n)).astype(dtype) / np.sqrt(h), b2=rng.standard_normal(n).astype(dtype),
                x=rng.standard_normal(n).astype(dtype))


def make_quad(size, rng, dtype=np.float64):
    s = SIZES[size]
    m, u = s["m"], s["units"]
    return dict(A=rng.standard_normal((m, u)).astype(dtype) / np.sqrt(m), c=rng.standard_normal(u).astype(dtype),
                x=rng.standard_normal(m).astype(dtype))


# ------------------------------------------------------------------ hand-written NumPy
def setup_numpy_jac(inp):
    W1, b1, W2, b2, x = inp["W1"], inp["b1"], inp["W2"], inp["b2"], inp["x"]

    def step():
        t = np.tanh(x @ W1 + b1)
        y = t @ W2 + b2
        J = ((W1 * (1 - t * t)) @ W2).T          # J[i, j] = d y_i / d x_j
        return float(y.sum()), [J]

    return Runner(step)


def setup_numpy_hess(inp):
    A, c, x = inp["A"], inp["c"], inp["x"]

    def step():
        t = np.tanh(x @ A + c)
        H = (A * (-2 * t * (1 - t * t))) @ A.T
        return float(t.sum()), [H]

    return Runner(step)


# ------------------------------------------------------------------ npgrad and torch.func
def _mlp(lib, inp, wrap):
    W1, b1, W2, b2 = (wrap(inp[k]) for k in ("W1", "b1", "W2", "b2"))
    return lambda x: lib.tanh(x @ W1 + b1) @ W2 + b2


def _quad(lib, inp, wrap):
    A, c = wrap(inp["A"]), wrap(inp["c"])
    return lambda x: lib.tanh(x @ A + c).sum()


def _npgrad_setup(transform, make_f):
    def setup(inp):
        npg = require("npgrad")
        require_npgrad("npgrad.func:" + transform)

        def wrap(a):
            return npg.tensor(a, requires_grad=False)
        f = make_f(npg, inp, wrap)
        x = wrap(inp["x"])
        jac = getattr(npg.func, transform)(f)

        def step():
            return float(f(x).sum().item()), [jac(x).data]
        return Runner(step)
    return setup


def _torch_setup(transform, make_f):
    def setup(inp):
        torch = require("torch")
        f = make_f(torch, inp, torch.tensor)
        x = torch.tensor(inp["x"])
        jac = getattr(torch.func, transform)(f)

        def step():
            with torch.no_grad():
                value = float(f(x).sum())
            return value, [jac(x).numpy()]
        return Runner(step)
    return setup


WORKLOAD_JACREV = Workload(
    name="jacrev", dtype=np.float64, make=make_mlp,
    backends={"numpy": setup_numpy_jac, "npgrad": _npgrad_setup("jacrev", _mlp), "torch": _torch_setup("jacrev", _mlp)},
    description="func.jacrev of a 100 -> 100 tanh MLP (hidden 100, float64) at one input; target: npgrad <= 1.5x "
                "torch.func", targets=TARGETS)

WORKLOAD_JACFWD = Workload(
    name="jacfwd", dtype=np.float64, make=make_mlp,
    backends={"numpy": setup_numpy_jac, "npgrad": _npgrad_setup("jacfwd", _mlp), "torch": _torch_setup("jacfwd", _mlp)},
    description="func.jacfwd of the same 100 -> 100 MLP; target: npgrad <= 1.5x torch.func", targets=TARGETS)

WORKLOAD_HESSIAN = Workload(
    name="hessian", dtype=np.float64, make=make_quad,
    backends={"numpy": setup_numpy_hess, "npgrad": _npgrad_setup("hessian", _quad),
              "torch": _torch_setup("hessian", _quad)},
    description="func.hessian of sum(tanh(x @ A + c)), 50 parameters (64 units, float64); target: npgrad <= 1.5x "
                "torch.func", targets=TARGETS)
