"""Complex tensors against PyTorch's complex autograd: values, ``.grad`` of real losses with respect to complex
(and real) leaves, in complex64 and complex128; dtypes; the errors of ops defined for real numbers only."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg

from tests.complex_helpers import CDTYPES, FOR, close, compare, crandn


# --------------------------------------------------------------------------- elementwise
UNARY = [("neg", npg.neg, torch.neg), ("exp", npg.exp, torch.exp), ("expm1", npg.expm1, torch.expm1),
         ("log", npg.log, torch.log), ("log1p", npg.log1p, torch.log1p), ("log2", npg.log2, torch.log2),
         ("log10", npg.log10, torch.log10), ("sqrt", npg.sqrt, torch.sqrt), ("square", npg.square, torch.square),
         ("reciprocal", npg.reciprocal, torch.reciprocal), ("sin", npg.sin, torch.sin), ("cos", npg.cos, torch.cos),
         ("tan", npg.tan, torch.tan), ("tanh", npg.tanh, torch.tanh), ("sinh", npg.sinh, torch.sinh),
         ("cosh", npg.cosh, torch.cosh), ("arcsin", npg.arcsin, torch.asin), ("arccos", npg.arccos, torch.acos),
         ("arctan", npg.arctan, torch.atan), ("arcsinh", npg.arcsinh, torch.asinh),
         ("arctanh", npg.arctanh, torch.atanh), ("exp2", npg.exp2, torch.exp2), ("abs", npg.abs, torch.abs),
         ("pow2", lambda z: z ** 2, lambda z: z ** 2), ("pow_half", lambda z: z ** 0.5, lambda z: z ** 0.5),
         ("rpow", lambda z: 2 ** z, lambda z: 2 ** z), ("mul_py", lambda z: z * (2 - 1j), lambda z: z * (2 - 1j)),
         ("rdiv_py", lambda z: (1 + 3j) / z, lambda z: (1 + 3j) / z),
         ("pow_py", lambda z: z ** (0.5 + 1j), lambda z: z ** (0.5 + 1j)),
         ("sub_py", lambda z: 1.5 - z, lambda z: 1.5 - z), ("abs_dunder", lambda z: abs(z), lambda z: abs(z))]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf", UNARY, ids=[u[0] for u in UNARY])
def test_unary_ops_match_torch(name, f, tf, dtype):
    z = crandn(np.random.default_rng(1), (3, 4), dtype)
    compare(f, tf, [z], name)


BINARY = [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide), ("pow", np.power)]
KINDS = {"cc": ("c", "c"), "fc": ("f", "c"), "cf": ("c", "f")}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("kinds", list(KINDS))
@pytest.mark.parametrize("name,ufunc", BINARY, ids=[b[0] for b in BINARY])
def test_binary_ops_match_torch_with_mixed_and_broadcast_operands(name, ufunc, kinds, dtype):
    """Complex with complex, real with complex (a real leaf's gradient is real and equals torch's), and
    broadcasting."""
    rng = np.random.default_rng(2)
    dt = {"c": np.dtype(dtype), "f": FOR[np.dtype(dtype)]}
    a = crandn(rng, (3, 1), dt[KINDS[kinds][0]])
    b = crandn(rng, (4,), dt[KINDS[kinds][1]])
    if name == "pow" and kinds == "fc":
        a = np.abs(a) + 0.5  # a positive real base: torch and NumPy agree on log(a)
    tops = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow}
    compare(lambda x, y: ufunc(x, y), tops[name], [a, b], f"{name} {kinds}")


# --------------------------------------------------------------------------- complex functions
COMPLEX_FUNCS = [
    ("real", npg.real, torch.real), ("imag", npg.imag, torch.imag), ("conj", npg.conj, torch.conj),
    ("conjugate", np.conjugate, torch.conj), ("np.real", np.real, torch.real), ("np.imag", np.imag, torch.imag),
    ("angle", npg.angle, torch.angle), ("np.angle", np.angle, torch.angle),
    ("np.abs", np.abs, torch.abs), (".real", lambda z: z.real, lambda z: z.real),
    (".imag", lambda z: z.imag, lambda z: z.imag), (".conj()", lambda z: z.conj(), lambda z: z.conj()),
    (".angle()", lambda z: z.angle(), lambda z: z.angle()),
    ("view_as_real", npg.view_as_real, torch.view_as_real),
    ("conj_mul", lambda z: z * npg.conj(z), lambda z: z * torch.conj(z)),
    ("real_if_close", lambda z: npg.real_if_close(z * npg.conj(z)), lambda z: (z * torch.conj(z)).real),
    ("real_if_close_kept", npg.real_if_close, lambda z: z)]


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name,f,tf", COMPLEX_FUNCS, ids=[u[0] for u in COMPLEX_FUNCS])
def test_complex_functions_match_torch(name, f, tf, dtype):
    z = crandn(np.random.default_rng(3), (2, 3), dtype)
    compare(f, tf, [z], name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_view_as_complex_and_polar_match_torch(dtype):
    rng = np.random.default_rng(4)
    compare(npg.view_as_complex, torch.view_as_complex, [crandn(rng, (3, 2), dtype)], "view_as_complex")
    r, t = np.abs(crandn(rng, (4,), dtype)), crandn(rng, (4,), dtype)
    compare(npg.polar, torch.polar, [r, t], "polar")


def test_abs_and_angle_at_zero_have_zero_gradient_as_torch():
    z = np.array([0j, 1 + 1j, 0j])
    compare(npg.abs, torch.abs, [z], "abs at 0")
    compare(npg.angle, torch.angle, [z], "angle at 0")


def test_complex_functions_on_real_tensors_follow_numpy():
    x = npg.tensor([-1.5, 2.0])
    assert npg.real(x) is x and npg.conj(x) is x
    np.testing.assert_array_equal(npg.imag(x).data, np.imag(x.data))
    np.testing.assert_array_equal(npg.angle(x).data, np.angle(x.data))
    np.testing.assert_array_equal(npg.angle(x, deg=True).data, np.angle(x.data, deg=True))
    (npg.angle(x) + npg.imag(x)).sum().backward()   # piecewise constant: a zero gradient (as torch.angle)
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])
    z = np.array([1 + 0j, 2 + 1e-20j, 3j])
    for fn in ("iscomplex", "isreal"):
        np.testing.assert_array_equal(getattr(npg, fn)(npg.tensor(z)).data, getattr(np, fn)(z))
        np.testing.assert_array_equal(getattr(np, fn)(npg.tensor(z)).data, getattr(np, fn)(z))
    assert npg.iscomplexobj(npg.tensor(z)) and not npg.isrealobj(npg.tensor(z)) and npg.isrealobj(x)
    assert np.iscomplexobj(npg.tensor(z)) and npg.tensor(z).is_complex() and not x.is_complex()
    close_real = npg.real_if_close(npg.tensor(np.array([1 + 1e-15j, 2 + 0j])))
    assert close_real.dtype == np.float64
    np.testing.assert_array_equal(close_real.data, np.real_if_close(np.array([1 + 1e-15j, 2 + 0j])))


def test_angle_in_degrees_matches_torch_scaled():
    z = crandn(np.random.default_rng(5), (5,), np.complex128)
    x = npg.tensor(z)
    npg.angle(x, deg=True).sum().backward()
    t = torch.tensor(z, requires_grad=True)
    (torch.angle(t) * (180 / np.pi)).sum().backward()
    close(x.grad, t.grad, "angle deg")
    close(npg.angle(x, deg=True), np.angle(z, deg=True), "angle deg value")


def test_view_as_complex_and_polar_refuse_bad_input():
    with pytest.raises(ValueError, match="view_as_complex: the last dimension must have size 2"):
        npg.view_as_complex(npg.zeros((3, 3)))
    with pytest.raises(TypeError, match="view_as_complex: expected a float32 or float64"):
        npg.view_as_complex(npg.tensor(np.zeros((3, 2), np.int64)))
    with pytest.raises(TypeError, match="view_as_real: expected a complex tensor"):
        npg.view_as_real(npg.zeros(3))
    with pytest.raises(TypeError, match="polar: angle must be a float32 or float64"):
        npg.polar(npg.ones(3), npg.tensor(np.ones(3, complex)))


# --------------------------------------------------------------------------- errors and dtypes
def test_backward_on_a_complex_scalar_raises_as_torch():
    z = npg.tensor(np.array([1 + 2j, 3 - 1j]))
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for real scalar outputs"):
        (z * z).sum().backward()
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for real scalar outputs"):
        torch.tensor([1 + 2j], requires_grad=True).sum().backward()
    s = (z * z).sum()
    s.backward(np.array(1 - 1j))  # an explicit gradient is accepted: d(real(conj(g) s))
    t = torch.tensor(z.data, requires_grad=True)
    (t * t).sum().backward(torch.tensor(1 - 1j, dtype=torch.complex128))
    close(z.grad, t.grad, "explicit complex seed")


REAL_ONLY = [("relu", npg.relu), ("maximum", lambda z: npg.maximum(z, z)), ("minimum", lambda z: npg.minimum(z, 0)),
             ("floor", npg.floor), ("ceil", npg.ceil),
             ("less", lambda z: z < 1), ("greater_equal", lambda z: z >= z), ("clip", lambda z: npg.clip(z, 0, 1)),
             ("round", npg.round), ("floor_divide", lambda z: z // 2), ("remainder", lambda z: z % 2),
             ("arctan2", lambda z: npg.arctan2(z, 1.0)), ("hypot", lambda z: npg.hypot(z, z))]


@pytest.mark.parametrize("name,f", REAL_ONLY, ids=[r[0] for r in REAL_ONLY])
def test_real_only_ops_refuse_complex_input_naming_the_op(name, f):
    for rg in (True, False):
        z = npg.tensor(np.array([1 + 2j, -1 + 0.5j]), requires_grad=rg)
        with pytest.raises(TypeError, match=f"^{name}: not defined for complex tensors"):
            f(z)
    with pytest.raises(TypeError, match=f"^{name}: not defined for complex tensors"):
        f(np.array([1 + 2j]) if name not in ("less", "greater_equal", "floor_divide", "remainder")
          else npg.tensor(np.array([1j]), requires_grad=False))


def test_ops_without_a_complex_gradient_refuse_to_record_one():
    """Extremes: no complex gradient is declared for them, so recording one raises (never a silent wrong
    gradient); without gradients NumPy's result is kept. (logsumexp, sigmoid, sinc and arccosh have complex
    gradients: tests/test_complex_more_ops.py.)"""
    z = npg.tensor(np.array([1 + 2j, -1 + 0.5j, 0.3 - 1j]))
    for name, f in (("max", lambda z: npg.max(z)), ("min", lambda z: npg.min(z, axis=0))):
        with pytest.raises(TypeError, match=f"^{name}: not supported for complex tensors with gradients"):
            f(z)
    with npg.no_grad():
        assert npg.max(z).item() == np.max(z.data)


@pytest.mark.parametrize("dtype", CDTYPES)
def test_complex_tensors_keep_their_precision(dtype):
    z = npg.tensor(crandn(np.random.default_rng(6), (3, 3), dtype))
    assert z.requires_grad and z.dtype == dtype
    x = npg.tensor(crandn(np.random.default_rng(7), (3,), FOR[np.dtype(dtype)]))
    out = npg.exp(z) @ z * 2.5 + (1 - 2j) + x
    out = npg.linalg.inv(out) / npg.sum(z) ** 1.5
    assert out.dtype == dtype
    loss = npg.abs(out).sum() + npg.angle(out).mean() + npg.var(z) + npg.real(npg.view_as_real(z)).sum()
    assert loss.dtype == FOR[np.dtype(dtype)]
    loss.backward()
    assert z.grad.dtype == dtype and x.grad.dtype == FOR[np.dtype(dtype)]


def test_creation_repr_and_grad_assignment():
    assert npg.tensor([1 + 2j]).dtype == np.complex128
    assert npg.tensor(np.array([1j], np.complex64)).dtype == np.complex64
    assert npg.zeros(2, dtype=np.complex64).dtype == np.complex64 and npg.ones(2, dtype=complex).requires_grad
    assert not npg.tensor([1j], requires_grad=False).requires_grad
    assert repr(npg.tensor([1 + 2j])) == "tensor([1.+2.j], requires_grad=True)"
    assert repr(npg.tensor(np.array([1 + 2j], np.complex64), requires_grad=False)) == "tensor([1.+2.j], dtype=complex64)"
    z = npg.tensor([1 + 2j])
    z.grad = np.array([0.5 - 1j])
    with pytest.raises(RuntimeError, match="dtype"):
        z.grad = np.array([0.5])
    x = npg.tensor([1.0])
    with pytest.raises(RuntimeError, match="dtype"):
        x.grad = np.array([0.5j])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        r = z.astype(np.float64)   # NumPy's cast: the real part (with NumPy's warning)
    np.testing.assert_array_equal(r.data, [1.0])
    r.sum().backward()
    np.testing.assert_array_equal(z.grad, [1.5 - 1j])   # accumulated: 0.5-1j + 1


def test_default_float32_makes_complex64():
    prev = npg.get_default_dtype()
    npg.set_default_dtype(np.float32)
    try:
        assert npg.tensor([1 + 2j]).dtype == np.complex64
        assert npg.tensor(np.array([1 + 2j])).dtype == np.complex128  # an array keeps its own dtype
    finally:
        npg.set_default_dtype(prev)


def test_inplace_ops_on_complex_tensors_match_torch():
    rng = np.random.default_rng(8)
    a, b = crandn(rng, (3,), np.complex128), crandn(rng, (3,), np.complex128)

    def f(x, y, lib):
        z = x * 1
        z += y
        z *= y
        z.mul_(2 - 1j)
        z[1] = y[0] * 3
        return z.exp() if lib is torch else npg.exp(z)
    compare(lambda x, y: f(x, y, npg), lambda x, y: f(x, y, torch), [a, b], "in-place")


def test_optimizers_take_complex_parameters_or_their_real_pairs():
    z = npg.tensor(np.array([0.5 - 1.0j]), requires_grad=True)   # the real and imaginary parts move apart
    opt = npg.optim.SGD([z], lr=0.1)
    (npg.abs(z - 1j) ** 2).sum().backward()
    opt.step()
    np.testing.assert_allclose(z.data, [0.4 - 0.6j])
    p = npg.tensor(np.array([[0.5, -1.0]]))     # the real way: pairs, viewed as complex in the model
    opt = npg.optim.Adam([p], lr=0.1)
    (npg.abs(npg.view_as_complex(p) - 1j) ** 2).sum().backward()
    opt.step()
    assert p.dtype == np.float64


def test_serialization_round_trip_of_complex_tensors(tmp_path):
    z = npg.tensor(np.array([1 + 2j, 3 - 4j], np.complex64))
    npg.save({"z": z}, tmp_path / "z.npg")
    back = npg.load(tmp_path / "z.npg")["z"]
    assert back.dtype == np.complex64 and back.requires_grad
    np.testing.assert_array_equal(back.data, z.data)


def test_vmap_and_func_grad_on_complex_inputs_match_torch():
    z = crandn(np.random.default_rng(9), (4, 3), np.complex128)

    def loss(lib):
        return lambda v: (lib.abs(lib.sin(v)) ** 2).sum()
    g = npg.func.vmap(npg.func.grad(loss(npg)))(npg.tensor(z, requires_grad=False))
    gt = torch.func.vmap(torch.func.grad(loss(torch)))(torch.tensor(z))
    close(g, gt, "vmap(grad)")
    with pytest.raises(RuntimeError, match="grad: f must return a real scalar"):
        npg.func.grad(lambda v: v.sum())(npg.tensor(z[0]))


def test_creation_functions_with_complex_values_follow_numpy_and_torch():
    for f, args in ((npg.linspace, (0, 1 + 2j, 5)), (npg.logspace, (0, 1j, 4)), (npg.geomspace, (1, 1j, 3)),
                    (npg.linspace, (np.array([0, 1j]), 2.0, 3))):
        out = f(*args)
        expected = getattr(np, f.__name__)(*args)
        assert out.dtype == expected.dtype, f.__name__
        close(out, expected, f.__name__)
    s = npg.tensor(0.5)
    y = npg.linspace(s, 2j, 3)      # a real tensor endpoint and a complex one: complex, differentiable in s
    close(y, np.linspace(0.5, 2j, 3), "linspace tensor")
    npg.real(y).sum().backward()
    assert s.grad.dtype == np.float64 and np.isclose(s.grad, 1.5)
    g = np.random.default_rng(0)
    z = npg.randn(40000, dtype=np.complex64, generator=g)   # torch.randn's complex normal: E|z|^2 = 1
    assert z.dtype == np.complex64 and abs(np.mean(np.abs(z.data) ** 2) - 1) < 0.03
    assert abs(np.var(z.data.real) - 0.5) < 0.02 and abs(np.var(z.data.imag) - 0.5) < 0.02
    u = npg.rand(40000, dtype=np.complex128, generator=g)
    assert u.dtype == np.complex128 and 0 <= u.data.real.min() and u.data.imag.max() < 1
    assert abs(u.data.imag.mean() - 0.5) < 0.01


def test_python_conversions_of_complex_tensors():
    z = npg.tensor(np.array([1.5 - 2j]))
    assert complex(z) == 1.5 - 2j and z.item() == 1.5 - 2j and complex(npg.tensor(2.0)) == 2 + 0j
    with pytest.raises(TypeError):
        float(z)
