"""nn.utils.parametrizations.orthogonal against PyTorch: state-dict keys, the orthogonalized weight, forward
values and gradients of the original for every map, square, tall, wide and batched weights, with and without
the trivialization, and assignment through right_inverse."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
from torch.nn.utils import parametrizations as tP

import npgrad as npg
import npgrad.nn as nn
from npgrad.nn.utils import parametrizations as P
from tests.helpers import assert_close

DTYPES = [np.float32, np.float64]
TDT = {np.float32: torch.float32, np.float64: torch.float64}
SHAPES = [(4, 4), (5, 3), (3, 5), (2, 4, 3), (2, 3, 3)]


class Holder(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.weight = nn.Parameter(npg.tensor(w))

    def forward(self, x):
        return npg.matmul(self.weight, x)


class THolder(tnn.Module):
    def __init__(self, w):
        super().__init__()
        self.weight = tnn.Parameter(torch.tensor(w))

    def forward(self, x):
        return self.weight @ x


def build(shape, dtype, omap, triv, seed=0):
    w = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    m, t = Holder(w.copy()), THolder(w.copy())
    P.orthogonal(m, orthogonal_map=omap, use_trivialization=triv)
    tP.orthogonal(t, orthogonal_map=omap, use_trivialization=triv)
    return m, t


def forward_backward(m, t, dtype, shape):
    x = np.random.default_rng(3).standard_normal((shape[-1], 2)).astype(dtype)
    c = np.random.default_rng(4).standard_normal((*shape[:-1], 2)).astype(dtype)
    y, ty = m(npg.tensor(x)), t(torch.tensor(x))
    assert_close(y.data, ty.detach().numpy(), dtype)
    (y * npg.tensor(c)).sum().backward()
    (ty * torch.tensor(c)).sum().backward()
    orig, torig = m.parametrizations.weight.original, t.parametrizations.weight.original
    assert_close(orig.grad, torig.grad.numpy(), dtype, what="original.grad")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("omap", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("triv", [True, False])
def test_orthogonal_matches_torch(dtype, shape, omap, triv):
    m, t = build(shape, dtype, omap, triv)
    sd, tsd = m.state_dict(), t.state_dict()
    assert list(sd) == list(tsd)
    assert type(m.parametrizations.weight[0]).__name__ == "_Orthogonal"
    W = m.weight.data
    n, k = max(shape[-2:]), min(shape[-2:])
    G = W @ np.swapaxes(W, -1, -2) if shape[-2] < shape[-1] else np.swapaxes(W, -1, -2) @ W
    assert_close(G, np.broadcast_to(np.eye(k), G.shape), dtype, what="orthonormal")
    # the weight is the orthogonalized one (a non-square base is completed with random columns, which differ from
    # PyTorch's, but the weight only sees its first columns); then PyTorch's base and original give its values
    assert_close(W, t.weight.detach().numpy(), dtype, what="weight", atol=50 * n * np.finfo(dtype).eps)
    m.load_state_dict({key: v.detach().numpy() for key, v in tsd.items()})
    assert_close(m.weight.data, t.weight.detach().numpy(), dtype, what="weight after load")
    forward_backward(m, t, dtype, shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("omap", ["matrix_exp", "cayley", "householder"])
def test_assign_through_right_inverse(dtype, shape, omap):
    m, t = build(shape, dtype, omap, True)
    Q = np.linalg.qr(np.random.default_rng(7).standard_normal((max(shape), min(shape))))[0].astype(dtype)
    Q = Q.T if shape[0] < shape[1] else Q
    m.weight = npg.tensor(Q)
    with torch.no_grad():
        t.weight = torch.tensor(Q)
    assert_close(m.weight.data, Q, dtype, atol=50 * max(shape) * np.finfo(dtype).eps)
    if shape[0] == shape[1]:
        assert_close(m.parametrizations.weight[0].base.data, t.parametrizations.weight[0].base.numpy(), dtype)
        torig = t.parametrizations.weight.original.detach().numpy()
        assert_close(m.parametrizations.weight.original.data, torig, dtype)


def test_householder_without_trivialization_right_inverse():
    m, t = build((5, 3), np.float64, "householder", False)
    Q = np.linalg.qr(np.random.default_rng(7).standard_normal((5, 3)))[0]
    m.weight = npg.tensor(Q)
    with torch.no_grad():
        t.weight = torch.tensor(Q)
    torig = t.parametrizations.weight.original.detach().numpy()
    assert_close(m.parametrizations.weight.original.data, torig, np.float64)
    assert_close(m.weight.data, t.weight.detach().numpy(), np.float64)


def test_orthogonal_on_a_linear_trains_like_torch():
    torch.manual_seed(0)
    t = tnn.Linear(4, 4).double()
    m = nn.Linear(4, 4)
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    P.orthogonal(m)
    tP.orthogonal(t)
    opt, topt = npg.optim.SGD(m.parameters(), lr=0.1), torch.optim.SGD(t.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((3, 4))
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        (m(npg.tensor(x)) ** 2).sum().backward()
        (t(torch.tensor(x)) ** 2).sum().backward()
        opt.step()
        topt.step()
    assert_close(m.weight.data, t.weight.detach().numpy(), np.float64)


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="matrix or batch"):
        P.orthogonal(nn.Linear(3, 3), "bias")
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        P.orthogonal(nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="no parameter or buffer"):
        P.orthogonal(nn.Linear(3, 3), "nothing")
    m = P.orthogonal(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="shape"):
        m.weight = npg.tensor(np.eye(4))
    m = P.orthogonal(nn.Linear(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = npg.tensor(np.eye(3))
