"""Models ported from HIPS autograd's examples: what such a port needs, checked against PyTorch, NumPy, SciPy and
finite differences (HIPS autograd itself is not a test dependency)."""
import numpy as np
import scipy.stats as st
import torch

import npgrad as npg
from tests.helpers import assert_close


def test_full_with_a_tensor_fill_value_is_differentiable():
    # HIPS's define_gradient.py writes its VJP as np.full(x.shape, g) * ...: under create_graph=True, g is a tensor
    v = np.array([0.5, -1.5, 2.0])
    x = npg.tensor(v)
    y = npg.full((2, 3), x)
    assert_close(y.data, np.full((2, 3), v))
    w = np.arange(6.0).reshape(2, 3)
    (y * w).sum().backward()
    tv = torch.tensor(v, requires_grad=True)
    (tv.expand(2, 3) * torch.tensor(w)).sum().backward()
    assert_close(x.grad, tv.grad.numpy())
    s = npg.tensor(1.5)
    z = npg.full_like(np.ones((2, 2), np.float32), s)
    assert z.dtype == np.float32
    z.sum().backward()
    assert_close(s.grad, 4.0)


def test_custom_function_whose_backward_uses_full_has_a_second_derivative():
    class LogSumExp(npg.autograd.Function):     # define_gradient.py, with npg.autograd.Function for primitive/defvjp
        @staticmethod
        def forward(ctx, x):
            m = npg.max(x)
            ans = m + npg.log(npg.sum(npg.exp(x - m)))
            ctx.save_for_backward(x, ans)
            return ans

        @staticmethod
        def backward(ctx, g):
            x, ans = ctx.saved_tensors
            return npg.full(x.shape, g) * npg.exp(x - npg.full(x.shape, ans))

    y0 = np.random.default_rng(0).standard_normal(6)
    f = lambda y: npg.sum(LogSumExp.apply(y ** 2))
    h = npg.func.jacrev(npg.func.grad(f))(y0)        # reverse over reverse: the backward differentiated
    ty = torch.tensor(y0)
    th = torch.autograd.functional.hessian(lambda y: torch.logsumexp(y ** 2, 0), ty)
    assert_close(h, th.numpy())


def test_multivariate_normal_entropy_matches_scipy_and_torch():
    # HIPS's autograd.scipy.stats.multivariate_normal has entropy(mean, cov), used for variational objectives
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    c = npg.tensor(cov)
    h = npg.stats.multivariate_normal.entropy(np.zeros(3), c)
    assert_close(h.item(), st.multivariate_normal.entropy(np.zeros(3), cov))
    h.backward()
    tc = torch.tensor(cov, requires_grad=True)
    tmvn = torch.distributions.MultivariateNormal(torch.zeros(3, dtype=torch.float64), covariance_matrix=tc)
    tmvn.entropy().backward()
    assert_close(c.grad, tc.grad.numpy())
    var = npg.tensor([0.5, 2.0, 3.0])                 # a vector is the diagonal, a number times the identity
    hv = npg.stats.multivariate_normal.entropy(cov=var)
    assert_close(hv.item(), st.multivariate_normal.entropy(cov=np.diag([0.5, 2.0, 3.0])))
    hv.backward()
    assert_close(var.grad, 0.5 / var.data)
    assert_close(npg.stats.multivariate_normal.entropy(np.zeros(2), 2.5).item(),
                 st.multivariate_normal.entropy(np.zeros(2), 2.5))


def test_array_and_asarray_stack_tensors_differentiably():
    # np.array([...]) of tensors is differentiable in HIPS autograd (mixture_variational_inference.py builds
    # np.array([samples[i, ix, :] for i, ix in enumerate(ixs)]) inside its objective); a port writes npg.array
    v = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    s = npg.tensor(v)
    ixs = [2, 0, 1]
    y = npg.array([s[i % 2, ix] * s[1 - i % 2] for i, ix in enumerate(ixs)])
    ts = torch.tensor(v, requires_grad=True)
    ty = torch.stack([ts[i % 2, ix] * ts[1 - i % 2] for i, ix in enumerate(ixs)])
    assert y.shape == ty.shape
    assert_close(y.data, ty.detach().numpy())
    w = np.arange(9.0).reshape(3, 3)
    (y * w).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    assert_close(s.grad, ts.grad.numpy())
    z = npg.asarray([[s[0, 0], 2.0], [3, s[1, 1]]], dtype=np.float32)   # numbers mixed in, and a cast
    assert z.dtype == np.float32
    assert_close(z.data, np.array([[0.5, 2.0], [3.0, 0.25]], np.float32))
    assert npg.asarray(s) is s
    c = npg.array(s)                                  # a copy, still differentiable
    assert c is not s and not np.shares_memory(c.data, s.data)
    assert npg.array(s, ndmin=3).shape == (1, 2, 3)
    d = npg.array([[1, 2], [3, 4]])                   # plain data: a constant, NumPy's dtype
    assert d.dtype == np.array([[1, 2], [3, 4]]).dtype and not d.requires_grad
    assert not npg.asarray(np.ones(2)).requires_grad
    g = npg.func.vmap(lambda r: npg.array([r[0], r[2] * r[1]]))(v)   # under vmap: the batched stack
    assert_close(g.data, np.stack([v[:, 0], v[:, 2] * v[:, 1]], 1))


def test_numpy_constants_and_dtypes_a_port_reads_from_the_module():
    # `import autograd.numpy as np` gives all of NumPy's names: a port that writes `import npgrad as np` reads
    # np.pi (black_box_svi's Gaussian entropy), np.newaxis (mixture_variational_inference), np.inf, dtypes...
    for name in ["pi", "e", "inf", "nan", "newaxis", "euler_gamma", "bool_", "int8", "int16", "int32", "int64",
                 "uint8", "uint16", "uint32", "uint64", "intp", "float16", "float32", "float64", "complex64",
                 "complex128", "finfo", "iinfo", "dtype", "issubdtype", "integer", "floating", "complexfloating",
                 "number"]:
        ours, theirs = getattr(npg, name), getattr(np, name)
        assert ours is theirs or (isinstance(theirs, float) and np.isnan(theirs) and np.isnan(ours)), name
    x = npg.tensor([1.0, 2.0])
    assert x[:, npg.newaxis].shape == (2, 1)
    assert_close(npg.log(2 * npg.pi * x).data, np.log(2 * np.pi * np.array([1.0, 2.0])))
    assert npg.finfo(x.dtype).eps == np.finfo(np.float64).eps
