"""Complex tensors in forward mode (against ``torch.func.jvp``), second derivatives (against torch's double
backward) and finite differences (``gradcheck`` / ``gradgradcheck`` on complex inputs and outputs)."""
import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad.autograd import GradcheckError, gradcheck, gradgradcheck

from tests.complex_helpers import CDTYPES, FOR, close, crandn

_EYE = np.eye(3, dtype=np.float32)  # (float32: complex64 stays complex64)

# (name, npgrad f, torch f, input kinds): "c" a complex input, "f" a real one
FUNCS = [
    ("exp_mul", lambda z, w: npg.exp(z) * w, lambda z, w: torch.exp(z) * w, "cc"),
    ("div_pow", lambda z, w: (z / w) ** 2.5, lambda z, w: (z / w) ** 2.5, "cc"),
    ("log_sqrt", lambda z, w: npg.log(z) + npg.sqrt(w), lambda z, w: torch.log(z) + torch.sqrt(w), "cc"),
    ("trig", lambda z, w: npg.sin(z) * npg.cos(w) + npg.tanh(z), lambda z, w: z.sin() * w.cos() + z.tanh(), "cc"),
    ("abs", lambda z, w: npg.abs(z) * w, lambda z, w: torch.abs(z) * w, "cf"),
    ("angle", lambda z, w: npg.angle(z * w), lambda z, w: torch.angle(z * w), "cf"),
    ("real_imag", lambda z, w: npg.real(z) * npg.imag(w), lambda z, w: z.real * w.imag, "cc"),
    ("conj", lambda z, w: npg.conj(z) * w, lambda z, w: torch.conj(z) * w, "cc"),
    ("mixed_mul", lambda z, x: z * x + x, lambda z, x: z * x + x, "cf"),
    ("matmul", lambda a, b: a @ b, lambda a, b: a @ b, "cc"),
    ("var", lambda z, w: npg.var(z * w, axis=1), lambda z, w: torch.var(z * w, 1, correction=0), "cc"),
    ("sum_prod", lambda z, w: npg.prod(z, axis=0) + npg.sum(w), lambda z, w: z.prod(0) + w.sum(), "cc"),
    ("view_as_real", lambda z, w: npg.view_as_real(z * w), lambda z, w: torch.view_as_real(z * w), "cc"),
    ("view_as_complex", lambda x, y: npg.view_as_complex(npg.stack([x, y], axis=-1)) ** 2,
     lambda x, y: torch.view_as_complex(torch.stack([x, y], -1)) ** 2, "ff"),
    ("polar", lambda r, t: npg.polar(r * r, t), lambda r, t: torch.polar(r * r, t), "ff"),
    ("inv_det", lambda a, b: npg.linalg.inv(a + 3 * _EYE) * npg.linalg.det(b + 3 * _EYE),
     lambda a, b: torch.linalg.inv(a + 3 * torch.eye(3)) * torch.linalg.det(b + 3 * torch.eye(3)), "cc"),
]


def _inputs(kinds, dtype, seed):
    rng = np.random.default_rng(seed)
    dt = {"c": np.dtype(dtype), "f": FOR[np.dtype(dtype)]}
    return [crandn(rng, (3, 3), dt[k]) for k in kinds]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf,kinds", FUNCS, ids=[x[0] for x in FUNCS])
def test_jvp_matches_torch_func_jvp(name, f, tf, kinds, dtype):
    """Forward mode: the tangent propagates R-linearly (f'(z) dz for holomorphic ops, their own rules for
    abs, angle, real, imag, conj, var...)."""
    xs = _inputs(kinds, dtype, 20)
    ts = _inputs(kinds, dtype, 21)
    out, tan = npg.func.jvp(f, tuple(npg.tensor(x, requires_grad=False) for x in xs),
                            tuple(npg.tensor(t, requires_grad=False) for t in ts))
    tout, ttan = torch.func.jvp(tf, tuple(torch.tensor(x) for x in xs), tuple(torch.tensor(t) for t in ts))
    close(out, tout, f"{name}: value")
    assert tan.dtype == out.dtype, f"{name}: tangent dtype {tan.dtype} vs output {out.dtype}"
    close(tan, ttan, f"{name}: tangent")


def _real_loss(out, torch_mode):
    if torch_mode:
        return (out.real ** 2).sum() + (out.imag * 0.7).sum() if out.is_complex() else (out ** 2).sum()
    return (npg.real(out) ** 2).sum() + (npg.imag(out) * 0.7).sum() if out.dtype.kind == "c" else (out ** 2).sum()


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf,kinds", FUNCS, ids=[x[0] for x in FUNCS])
def test_second_derivatives_match_torch(name, f, tf, kinds, dtype):
    """Gradients of a real function of the gradients (double backward through the complex VJPs)."""
    xs = _inputs(kinds, dtype, 22)
    a = [npg.tensor(x) for x in xs]
    t = [torch.tensor(x, requires_grad=True) for x in xs]
    ga = npg.autograd.grad(_real_loss(f(*a), False), a, create_graph=True)
    gt = torch.autograd.grad(_real_loss(tf(*t), True), t, create_graph=True)
    for i, (g1, g2) in enumerate(zip(ga, gt)):
        close(g1, g2, f"{name}: first derivative {i}")
    h = sum((npg.abs(g) ** 2).sum() * (k + 1) for k, g in enumerate(ga))
    ht = sum((g.abs() ** 2).sum() * (k + 1) for k, g in enumerate(gt))
    h.backward()
    ht.backward()
    for i, (x, y) in enumerate(zip(a, t)):
        assert x.grad.dtype == x.dtype
        close(x.grad, y.grad, f"{name}: second derivative {i}", dtype=x.dtype)


# --------------------------------------------------------------------------- finite differences
@pytest.mark.parametrize("name,f,tf,kinds", FUNCS, ids=[x[0] for x in FUNCS])
def test_gradcheck_on_complex_functions(name, f, tf, kinds):
    """Central differences perturbing real and imaginary parts apart, against the analytic Jacobian of every
    real and imaginary part of the output, as torch.autograd.gradcheck; and second derivatives."""
    xs = [npg.tensor(x) for x in _inputs(kinds, np.complex128, 23)]
    assert gradcheck(f, xs)
    if name not in ("inv_det",):   # (det's second derivative: one gradgradcheck is enough, below)
        assert gradgradcheck(f, xs)


def test_gradgradcheck_through_det_of_complex_matrices():
    a = npg.tensor(crandn(np.random.default_rng(24), (3, 3), np.complex128) + 3 * np.eye(3))
    assert gradgradcheck(lambda m: npg.linalg.det(m), (a,))


def test_gradcheck_catches_a_wrong_complex_gradient():
    """A custom op with the holomorphic derivative but no conjugation (the classic complex-autograd bug)."""
    class BadSquare(npg.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            ctx.save_for_backward(z)
            return z * z

        @staticmethod
        def backward(ctx, g):
            z, = ctx.saved_tensors
            return g * 2 * z   # should be g * conj(2 z)

    z = npg.tensor(crandn(np.random.default_rng(25), (3,), np.complex128))
    assert gradcheck(lambda z: z * z, (z,))
    with pytest.raises(GradcheckError, match=r"input 0 element \(\d,\) \(\w+ part\), output 0 element"):
        gradcheck(BadSquare.apply, (z,))
