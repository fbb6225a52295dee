"""Hunt for silent wrong answers and unclear errors in ``npg.linalg`` and the norms built beside it (values and
errors against NumPy, values and gradients against PyTorch)."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

L = npg.linalg


def _numpy_error(fn, *args):
    with pytest.raises(Exception) as info:
        fn(*args)
    return info.value


_HALF_CASES = [
    ("det", lambda m: (m,)), ("slogdet", lambda m: (m,)), ("inv", lambda m: (m,)), ("pinv", lambda m: (m,)),
    ("matrix_rank", lambda m: (m,)), ("svd", lambda m: (m,)), ("svdvals", lambda m: (m,)), ("qr", lambda m: (m,)),
    ("eig", lambda m: (m,)), ("eigvals", lambda m: (m,)), ("eigh", lambda m: (m,)), ("eigvalsh", lambda m: (m,)),
    ("cholesky", lambda m: (m,)), ("cond", lambda m: (m,)), ("solve", lambda m: (m, m[:, 0])),
    ("lstsq", lambda m: (m, m[:, 0])), ("tensorsolve", lambda m: (m, m[:, 0])),
]


@pytest.mark.parametrize("name,args", _HALF_CASES, ids=[c[0] for c in _HALF_CASES])
def test_float16_input_raises_a_type_error_naming_the_op(name, args):
    # NumPy's LAPACK wrappers refuse float16 with a bare "array type float16 is unsupported in linalg" that names
    # no op: the error must say which npg.linalg function and which input shape
    m = np.eye(3, dtype=np.float16) * 2
    ref = _numpy_error(getattr(np.linalg, name), *args(m))
    assert isinstance(ref, TypeError) and "float16" in str(ref)
    with pytest.raises(TypeError, match=rf"^{name}: .*float16.*\(3, 3\)"):
        getattr(L, name)(*(npg.tensor(a) for a in args(m)))


def _complex(rng, shape, dtype):
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _grads_vs_torch(npg_fn, torch_fn, arrays, rtol):
    """Values and gradients (of a weighted sum of the real output) of npg_fn and torch_fn on the same inputs."""
    xs = [npg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    assert out.dtype == tout.detach().numpy().dtype
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=rtol, atol=rtol)
    w = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    if np.iscomplexobj(w):
        w = w.real.astype(w.dtype)
    npg.sum(npg.real(out * npg.tensor(w)) if np.iscomplexobj(out.data) else out * npg.tensor(w)).backward()
    ((tout * torch.tensor(w)).real if tout.is_complex() else tout * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        np.testing.assert_allclose(x.grad, t.grad.resolve_conj().numpy(), rtol=10 * rtol, atol=10 * rtol)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("p", [2, 2.0, 3, 1])
def test_renorm_of_complex_input_uses_the_modulus_as_torch(p, dtype):
    # the 2-norm summed v * v (complex squares) instead of |v|^2: renorm scaled complex slices by a complex,
    # wrong factor (their norms came out 1.45, not maxnorm = 1)
    x = _complex(np.random.default_rng(0), (3, 4), dtype)
    rtol = 1e-4 if dtype == np.complex64 else 1e-10
    _grads_vs_torch(lambda t: t.renorm(p, 0, 1.0), lambda t: t.renorm(p, 0, 1.0), [x], rtol)
    _grads_vs_torch(lambda t: npg.renorm(t, p, 1, 0.5), lambda t: torch.renorm(t, p, 1, 0.5), [x], rtol)
    y = npg.tensor(x).renorm(p, 0, 1.0)
    np.testing.assert_allclose(L.vector_norm(y, ord=p, axis=1).data, 1.0, rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_dist_of_complex_inputs_is_real_as_torch(dtype):
    # the default p = 2 summed complex squares and failed in float() with a bare "not 'complex'" TypeError
    rng = np.random.default_rng(2)
    x, y = _complex(rng, (3, 4), dtype), _complex(rng, (4,), dtype)
    rtol = 1e-4 if dtype == np.complex64 else 1e-10
    for p in (2, 2.0, 3, 1):
        _grads_vs_torch(lambda a, b: npg.dist(a, b, p), lambda a, b: torch.dist(a, b, p), [x, y], rtol)


@pytest.mark.parametrize("dtype", [np.complex128, np.int64])
def test_pdist_refuses_non_floating_input_as_torch(dtype):
    # complex input gave complex "distances" (sqrt of a sum of complex squares) silently
    x = np.arange(6).reshape(3, 2).astype(dtype)
    with pytest.raises(RuntimeError, match="pdist only supports floating-point dtypes"):
        torch.nn.functional.pdist(torch.tensor(x))
    with pytest.raises(TypeError, match=rf"pdist: .*floating.*{np.dtype(dtype).name}"):
        npg.nn.functional.pdist(npg.tensor(x))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_logdet_of_complex_matrices_is_the_complex_log_as_torch(dtype):
    # logdet compared the complex sign with 0 and raised "less: not defined for complex tensors", an error
    # naming another op, where torch.logdet returns log(det) = log|det| + i arg(det)
    rng = np.random.default_rng(3)
    a = _complex(rng, (2, 3, 3), dtype)
    rtol = 1e-4 if dtype == np.complex64 else 1e-10
    _grads_vs_torch(npg.logdet, torch.logdet, [a], rtol)
    _grads_vs_torch(lambda t: t.logdet(), lambda t: t.logdet(), [a], rtol)
    special = np.stack([-np.eye(2), np.diag([1j, 1]), np.diag([-1j, 2])]).astype(dtype)
    np.testing.assert_allclose(npg.logdet(npg.tensor(special)).data, torch.logdet(torch.tensor(special)).numpy(),
                               rtol=rtol, atol=rtol)
    # a singular matrix: log 0 = -inf (torch's imaginary part there is NaN, NumPy's log(0j) and C99's clog 0)
    assert npg.logdet(npg.tensor(np.zeros((2, 2), dtype))).item().real == -np.inf
