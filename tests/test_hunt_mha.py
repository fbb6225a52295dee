"""A hunt for silent wrong answers in the attention functions and modules, against torch 2.13.

Found and fixed: multi_head_attention_forward silently ignored a bias_v given without bias_k (AttributeError
the other way round), and answered a bias_k, in_proj_weight, in_proj_bias or q/k/v_proj_weight of the wrong
shape, or static keys and values of different lengths, with another op's confusing message. (Inputs of another dtype than the weights are promoted, NumPy's
rule, as F.linear does; torch raises.) Also checked against torch (already right, kept as coverage): a
learned float attn_mask's gradient through MultiheadAttention (2-D and per-head 3-D, with key_padding_mask,
bias_kv, zero attention, kdim / vdim), and bias_k of shape (E,) or (1, E), which torch accepts."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn as nn
import npgrad.nn.functional as F
from tests.helpers import assert_close

pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched:UserWarning")
TORCH = {np.float32: torch.float32, np.float64: torch.float64}
E, H, L, S, N = 4, 2, 3, 5, 2


def _grad(t):
    return t.grad.data if isinstance(t.grad, npg.Tensor) else t.grad


# ------------------------------------------------------------------ multi_head_attention_forward's arguments
def _mha_args(rng, dtype=np.float64):
    return dict(q=rng.standard_normal((L, N, E)), k=rng.standard_normal((S, N, E)), v=rng.standard_normal((S, N, E)),
                W=rng.standard_normal((3 * E, E)), b=rng.standard_normal(3 * E), bk=rng.standard_normal((1, 1, E)),
                bv=rng.standard_normal((1, 1, E)), Wo=rng.standard_normal((E, E)), bo=rng.standard_normal(E))


def _mha_call(lib, d, **kw):
    mod, T = (TF, torch.tensor) if lib is torch else (F, npg.tensor)
    t = {a: None if b is None else T(b) for a, b in d.items()}
    kw = {a: T(b) if isinstance(b, np.ndarray) else b for a, b in kw.items()}
    return mod.multi_head_attention_forward(t["q"], t["k"], t["v"], E, H, t["W"], t["b"], t["bk"], t["bv"], False,
                                            0.0, t["Wo"], t["bo"], **kw)


BAD = {
    "bias_k without bias_v": (dict(bv=None), {}, "bias_k and bias_v must be given together"),
    "bias_v without bias_k": (dict(bk=None), {}, "bias_k and bias_v must be given together"),
    "bias_k of the wrong shape": (dict(bk=np.ones((1, 2, E)), bv=np.ones((1, 2, E))), {}, r"bias_k .*\(1, 2, 4\)"),
    "in_proj_weight (2E, E)": (dict(W=np.ones((2 * E, E))), {}, r"in_proj_weight of shape \(8, 4\)"),
    "in_proj_bias (2E,)": (dict(b=np.ones(2 * E)), {}, r"in_proj_bias of shape \(8,\)"),
    "static_k longer than the values": (dict(bk=None, bv=None), dict(static_k=np.ones((N * H, 7, E // H))),
                                        r"the keys \(7\) and the values \(5\)"),
    "static_v shorter than static_k": (dict(bk=None, bv=None), dict(static_k=np.ones((N * H, 7, E // H)),
                                                                    static_v=np.ones((N * H, 6, E // H))),
                                       r"the keys \(7\) and the values \(6\)"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_mha_forward_bad_arguments_are_named(case):
    """torch raises on each (an assertion or another op's error); npgrad ignored a lone bias_v, failed with an
    AttributeError on a lone bias_k, and gave other ops' messages for the rest."""
    over, kw, msg = BAD[case]
    d = dict(_mha_args(np.random.default_rng(1)), **over)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises((RuntimeError, AssertionError)):
            _mha_call(torch, d, **kw)
    with pytest.raises(ValueError, match="multi_head_attention_forward: " + msg):
        _mha_call(npg, d, **kw)


def test_mha_forward_separate_projection_weight_of_the_wrong_shape_is_named():
    rng = np.random.default_rng(2)
    d = _mha_args(rng)
    kw = dict(use_separate_proj_weight=True, q_proj_weight=rng.standard_normal((E, E)),
              k_proj_weight=rng.standard_normal((E + 2, E)), v_proj_weight=rng.standard_normal((E, E)))
    with pytest.raises(AssertionError, match="key weights shape"):
        _mha_call(torch, d, **kw)
    with pytest.raises(ValueError, match=r"multi_head_attention_forward: k_proj_weight of shape \(6, 4\), "
                                         r"expected \(4, 4\)"):
        _mha_call(npg, d, **kw)


@pytest.mark.parametrize("shape", [(E,), (1, E), (1, 1, E)])
def test_mha_forward_bias_kv_shapes_torch_accepts(shape):
    d = _mha_args(np.random.default_rng(3))
    d["bk"], d["bv"] = d["bk"].reshape(shape), d["bv"].reshape(shape)
    for i in (0, 1):
        assert_close(_mha_call(npg, d)[i], _mha_call(torch, d)[i].detach().numpy(), what=f"{shape} {i}")


# ------------------------------------------------------------------------ a learned float attention mask
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mask_dims", [2, 3])
@pytest.mark.parametrize("opts", [{}, dict(add_bias_kv=True, add_zero_attn=True), dict(kdim=5, vdim=3, bias=False)],
                         ids=["plain", "bias_kv_zero_attn", "kdim_vdim_no_bias"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_float_mask_gradient_with_padding(dtype, mask_dims, opts, need_weights):
    """Outputs, per-head weights and the gradients of the inputs, the mask and every parameter, as torch's."""
    rng = np.random.default_rng(4)
    tm = torch.nn.MultiheadAttention(E + 2, H, dtype=TORCH[dtype], **opts)
    nm = nn.MultiheadAttention(E + 2, H, dtype=dtype, **opts)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape)) * 0.5))
    nm.load_state_dict({a: b.detach().numpy() for a, b in tm.state_dict().items()})
    arrays = [rng.standard_normal(s).astype(dtype) for s in ((L, N, E + 2), (S, N, opts.get("kdim", E + 2)),
                                                              (S, N, opts.get("vdim", E + 2)),
                                                              (L, S) if mask_dims == 2 else (N * H, L, S))]
    kp = np.array([[False, True, False, False, True], [False] * S])
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    nt = [npg.tensor(a, requires_grad=True) for a in arrays]
    kw = dict(need_weights=need_weights, average_attn_weights=False)
    to = tm(*tt[:3], attn_mask=tt[3], key_padding_mask=torch.tensor(kp), **kw)
    no = nm(*nt[:3], attn_mask=nt[3], key_padding_mask=kp, **kw)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else {}
    assert no[0].dtype == dtype
    assert_close(no[0], to[0].detach().numpy(), what="output", **tol)
    if need_weights:
        assert_close(no[1], to[1].detach().numpy(), what="weights", **tol)
    g = rng.standard_normal(tuple(to[0].shape)).astype(dtype)
    (to[0] * torch.tensor(g)).sum().backward()
    (no[0] * npg.tensor(g)).sum().backward()
    for i, (a, b) in enumerate(zip(nt, tt)):
        assert_close(_grad(a), b.grad.numpy(), what=f"input {i}", **tol)
    tp = dict(tm.named_parameters())
    for name, p in nm.named_parameters():
        assert_close(_grad(p), tp[name].grad.numpy(), what=name, **tol)
