"""ctc_loss over long float32 sequences, against torch in float64 on the same numbers.

The alphas and betas chain T log-sum-exps: in float32 the loss drifted by 5e-6 relative and the gradient by 0.05
at T = 5,000 (torch's float32 kernel too). npgrad runs the recursion in float64 for every input dtype and rounds
the loss and the gradient once."""
import numpy as np
import pytest
import torch

import npgrad as npg
import npgrad.nn.functional as F


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_float32_ctc_over_5000_steps_is_rounded_once(reduction):
    rng = np.random.default_rng(3)
    T, N, C, S = 5000, 3, 12, 40
    z = rng.standard_normal((T, N, C))
    lp = (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)
    targets = rng.integers(1, C, (N, S))
    in_lens, tg_lens = np.array([T, T - 100, T - 3]), np.array([S, S - 5, S - 1])
    x = npg.tensor(lp)
    loss = F.ctc_loss(x, targets, in_lens, tg_lens, reduction=reduction)
    seed = np.linspace(0.5, 1.5, loss.size).reshape(loss.shape).astype(np.float32)
    loss.backward(seed)
    tx = torch.tensor(lp.astype(np.float64), requires_grad=True)
    tloss = torch.nn.functional.ctc_loss(tx, torch.tensor(targets), torch.tensor(in_lens), torch.tensor(tg_lens),
                                         reduction=reduction)
    tloss.backward(torch.tensor(seed.astype(np.float64)))
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    want = tloss.detach().numpy()
    np.testing.assert_allclose(loss.data, want, rtol=2e-7)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=0, atol=3e-6 * np.abs(tx.grad.numpy()).max())
