"""Review of row-sparse gradients (Embedding(sparse=True)), their optimizers and utilities, and anomaly
mode on them, against PyTorch as the oracle."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F
from npgrad.sparse import RowSparseGrad

W0 = np.random.default_rng(0).standard_normal((5, 2))


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name", ["SparseAdam", "Adagrad", "SGD"])
def test_zero_grad_keep_sparse(name):
    # zero_grad(set_to_none=False) on a sparse gradient: torch zeroes it and keeps it sparse, so the
    # next sparse backward gives a sparse gradient again and SparseAdam keeps working
    w = npg.tensor(W0.copy(), requires_grad=True)
    tw = torch.tensor(W0.copy(), requires_grad=True)
    o, to = getattr(npg.optim, name)([w], lr=0.1), getattr(torch.optim, name)([tw], lr=0.1)
    for k in range(3):
        o.zero_grad(set_to_none=False)
        to.zero_grad(set_to_none=False)
        i = np.array([k, k + 1, k])
        F.embedding(npg.tensor(i), w, sparse=True).sum().backward()
        TF.embedding(torch.tensor(i), tw, sparse=True).sum().backward()
        assert isinstance(w.grad, RowSparseGrad) and tw.grad.is_sparse
        np.testing.assert_allclose(np.asarray(w.grad), tw.grad.to_dense().numpy())
        o.step()
        to.step()
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)


def test_clip_grad_value_sparse():
    # torch refuses clamp on a sparse grad; npgrad's RowSparseGrad stands for its dense array, so the result
    # must be torch's clip of the same model's dense gradient (repeated rows summed before clipping)
    idx = np.array([1, 1, 1, 3, 0])
    g = np.array([[0.3, -0.2], [0.3, -0.2], [0.3, 0.1], [2.0, -3.0], [0.1, 0.0]])
    w = npg.tensor(W0.copy(), requires_grad=True)
    tw = torch.tensor(W0.copy(), requires_grad=True)
    (F.embedding(npg.tensor(idx), w, sparse=True) * npg.tensor(g)).sum().backward()
    (TF.embedding(torch.tensor(idx), tw) * torch.tensor(g)).sum().backward()
    npg.nn.utils.clip_grad_value_([w], 0.5)
    torch.nn.utils.clip_grad_value_([tw], 0.5)
    assert isinstance(w.grad, RowSparseGrad)
    np.testing.assert_allclose(np.asarray(w.grad), tw.grad.numpy())


def test_anomaly_sees_nan_in_sparse_grad():
    # torch: "Function 'EmbeddingBackward0' returned nan values in its 0th output."
    w = npg.tensor(np.zeros((4, 2)), requires_grad=True)
    with npg.autograd.detect_anomaly():
        y = F.embedding(npg.tensor([1, 2]), w, sparse=True)
        with pytest.raises(RuntimeError, match="embedding.*nan"):
            y.backward(npg.tensor(np.full((2, 2), np.nan)))
    w.grad = None
    with npg.autograd.detect_anomaly(check_nan=False):   # no check: the NaN gradient is left as it is
        F.embedding(npg.tensor([1, 2]), w, sparse=True).backward(npg.tensor(np.full((2, 2), np.nan)))
    assert np.isnan(np.asarray(w.grad)[1:3]).all()
