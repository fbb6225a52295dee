"""jvp: the Jacobian-vector product of the mlp workload's loss with respect to its six parameters.

``func.jvp(loss, params, tangents)``: npgrad's forward mode (one forward pass carrying the tangents) against
``torch.func.jvp``, a hand-written NumPy forward-mode reference, and npgrad's previous algorithm, the double
VJP (a forward pass, a recorded backward pass ``u -> J^T u``, and a backward pass through it), kept here only,
as the ``npgrad:double-vjp`` variant. Targets: npgrad <= 1.5x torch.func, <= 0.6x the double VJP.

A step returns ``(loss, [jvp])``: the loss and its directional derivative (a scalar).
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad
from . import mlp


def make_maker(dtype):
    base = mlp.make_maker(dtype)

    def make(size, rng):
        inp = base(size, rng)
        inp["tangents"] = [(0.1 * rng.standard_normal(p.shape)).astype(dtype) for p in inp["params"]]
        return inp
    return make


# ------------------------------------------------------------------ hand-written NumPy (forward mode)
def setup_numpy(inp):
    W1, b1, W2, b2, W3, b3 = inp["params"]
    dW1, db1, dW2, db2, dW3, db3 = inp["tangents"]
    x, y = inp["x"], inp["y"]
    rows = np.arange(len(y))

    def step():
        h1 = x @ W1 + b1
        d1 = x @ dW1 + db1
        m1 = h1 > 0
        h1 *= m1
        d1 *= m1
        h2 = h1 @ W2 + b2
        d2 = d1 @ W2 + h1 @ dW2 + db2
        m2 = h2 > 0
        h2 *= m2
        d2 *= m2
        z = h2 @ W3 + b3
        dz = d2 @ W3 + h2 @ dW3 + db3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = (np.log(s[:, 0]) - z[rows, y]).mean()
        p = e / s
        jv = ((p * dz).sum(axis=1) - dz[rows, y]).mean()
        return float(loss), [np.asarray(jv, dtype=z.dtype)]

    return Runner(step)


# ------------------------------------------------------------------ npgrad
def _npgrad_problem(inp):
    """npgrad, the mlp loss as a function of its parameters, the parameters and the tangents."""
    npg = require("npgrad")
    F, = require_npgrad("npgrad.nn.functional:")
    require_npgrad("cross_entropy", "relu")
    params = tuple(npg.tensor(p, requires_grad=False) for p in inp["params"])
    tangents = tuple(npg.tensor(t, requires_grad=False) for t in inp["tangents"])
    x, y = npg.tensor(inp["x"], requires_grad=False), inp["y"]

    def loss(W1, b1, W2, b2, W3, b3):
        h = F.relu(x @ W1 + b1)
        h = F.relu(h @ W2 + b2)
        return F.cross_entropy(h @ W3 + b3, y)

    return npg, loss, params, tangents


def setup_npgrad(inp):
    npg, loss, params, tangents = _npgrad_problem(inp)

    def step():
        value, jv = npg.func.jvp(loss, params, tangents)
        return value.item(), [jv.data]

    return Runner(step)


def setup_npgrad_double_vjp(inp):
    _, loss, params, tangents = _npgrad_problem(inp)

    def step():
        value, jv = double_vjp_jvp(loss, params, tangents)
        return value.item(), [jv.data]

    return Runner(step)


def double_vjp_jvp(f, primals, tangents):
    """npgrad's func.jvp before forward mode (its algorithm, without has_aux): ``u -> J^T u`` is linear, so
    differentiating ``<J^T u, t>`` with respect to ``u`` gives ``J t``: a forward pass, a recorded backward
    pass, and a backward pass through it."""
    from npgrad import func
    from npgrad.autograd import engine
    from npgrad.autograd.grad_mode import enable_grad
    from npgrad.tensor import Tensor, _leaf, _wrap
    level = func._Level("jvp", primals, tuple(range(len(primals))))
    out, _ = level.call(f, False)
    out_t = func._as_output(out, "jvp")
    graph = level.need_graph([out_t], tangents)
    u = _leaf(np.zeros(out_t.data.shape, dtype=out_t.data.dtype), True)        # the dummy cotangent
    gs = level.gradients([out_t], [u], True)                                    # J^T u, recorded
    with enable_grad():
        terms = [(g * t).sum() for g, t in zip(gs, tangents) if isinstance(g, Tensor) and g.requires_grad]
        s = terms[0]
        for t in terms[1:]:
            s = s + t
        jv, = engine.grad(s, [u], retain_graph=True, create_graph=graph, allow_unused=True)
    jv = _wrap(np.zeros(out_t.shape, out_t.dtype)) if jv is None else jv
    return level.value(out, graph), (jv if graph else _wrap(jv.data))


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    F = torch.nn.functional
    params = tuple(torch.tensor(np.ascontiguousarray(p.T if p.ndim == 2 else p)) for p in inp["params"])
    tangents = tuple(torch.tensor(np.ascontiguousarray(t.T if t.ndim == 2 else t)) for t in inp["tangents"])
    x, y = torch.tensor(inp["x"]), torch.tensor(inp["y"])

    def loss(W1, b1, W2, b2, W3, b3):
        h = F.relu(F.linear(x, W1, b1))
        h = F.relu(F.linear(h, W2, b2))
        return F.cross_entropy(F.linear(h, W3, b3), y)

    def step():
        value, jv = torch.func.jvp(loss, params, tangents)
        return value.item(), [jv.numpy()]

    return Runner(step)


WORKLOAD = Workload(
    name="jvp", dtype=np.float32, make=make_maker(np.float32),
    backends={"npgrad": setup_npgrad, "numpy": setup_numpy, "torch": setup_torch,
              "npgrad:double-vjp": setup_npgrad_double_vjp},
    description="func.jvp of the mlp loss (784-512-256-10, batch 128, float32) along a tangent for each "
                "parameter; npgrad:double-vjp is npgrad's previous jvp")
