"""float16 normalization statistics, and the float16 losses and interpolation left over, against torch.

In float16 the normalizations kept the mean and 1 / std rounded to float16: the mean of values near 100 is off by
up to 1/32, which shifts every normalized value (a group of two values near 100: 16% off), and the weight's
gradient, a sum of ``g * xhat`` that cancels, amplifies the shift. torch accumulates float16 in float32. The oracle
is torch in float64 on the same float16 numbers; npgrad's float16 must be within twice torch's own float16 error
(from 5e-4, one rounding of the largest value, to 1e-3, two: where torch's float16 is worse, because its CPU kernels
save the statistics in float16 for the backward, npgrad rounds once anyway).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import npgrad as npg
import npgrad.nn.functional as F

F16 = np.float16
RNG = np.random.default_rng(1618)


def _f16(*shape, scale=1.0, shift=0.0):
    return (RNG.standard_normal(shape) * scale + shift).astype(F16)


def _rel(a, ref):
    return np.abs(np.asarray(a, np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30)


def _run_torch(tfn, arrays, seed, dtype):
    """torch on ``arrays``: every float one in float64, or (``dtype`` float16) the float16 ones as they are."""
    ts = [torch.tensor(a) for a in arrays]
    ts = [t.to(dtype).requires_grad_() if a.dtype == F16 or (a.dtype.kind == "f" and dtype == torch.float64) else
          t.requires_grad_(a.dtype.kind == "f") for t, a in zip(ts, arrays)]
    y = tfn(*ts)
    y.backward(torch.tensor(np.asarray(seed, np.float64), dtype=y.dtype))
    return [y.detach().double().numpy()] + [t.grad.double().numpy() for t in ts if t.requires_grad]


def _check(fn, tfn, arrays, seed=None, torch_half=True):
    """npgrad on ``arrays`` (float16, or float32 parameters) against torch float64: the output and every gradient
    in its input's dtype, within twice torch float16's error relative to the largest value, clipped to [5e-4, 1e-3]
    (torch_half False: no torch float16 kernel, 1e-3)."""
    xs = [npg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    y = fn(*xs)
    seed = np.array(1.0) if seed is None else seed
    y.backward(npg.tensor(seed.astype(y.dtype)))
    got = [y.data] + [x.grad for x in xs if x.requires_grad]
    want = _run_torch(tfn, arrays, seed, torch.float64)
    half = _run_torch(tfn, arrays, seed, torch.float16) if torch_half else [None] * len(want)
    # (the output float16, float32 parameters or not: torch's mixed-type kernels' dtype)
    dtypes = [F16] + [x.dtype for x in xs if x.requires_grad]
    for i, (g, w, h, dt) in enumerate(zip(got, want, half, dtypes)):
        assert np.asarray(g).dtype == dt, (i, np.asarray(g).dtype, dt)
        tol = 1e-3 if h is None else min(max(2 * _rel(h, w), 5e-4), 1e-3)
        # (or one subnormal step, 6e-8: a float16 gradient that small has no more digits)
        assert np.abs(np.asarray(g, np.float64) - w).max() <= max(tol * np.abs(w).max(), 6e-8), (i, _rel(g, w), tol)


def _params(C, dtype=F16):
    return [(RNG.standard_normal(C) + 1).astype(dtype), RNG.standard_normal(C).astype(dtype)]


def _norm_cases():
    x4 = _f16(7000, 3, 4, 4, shift=100)
    xl = _f16(2, 6, 100, 100, shift=100)
    x2 = _f16(64, 8, 1, 1, shift=100)
    xi = _f16(8, 4, 5000, shift=100)
    xr = _f16(20, 20000, shift=100)
    return {
        # the forward 1.6e-3, the weight's gradient 5e-3 off (torch 1e-3, 4.7e-3)
        "batch_norm": (lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
                       lambda a, w, b: TF.batch_norm(a, None, None, w, b, training=True), [x4] + _params(3)),
        # float32 parameters (autocast's): torch keeps float32 statistics, its weight gradient 1e-4 off; npgrad's
        # was 5e-3; the output float16, as torch's (it was float32, NumPy's promotion)
        "batch_norm_f32_params": (lambda a, w, b: F.batch_norm(a, None, None, w, b, training=True),
                                  lambda a, w, b: TF.batch_norm(a, None, None, w, b, training=True),
                                  [x4] + _params(3, np.float32)),
        # a group over a long spatial axis: the forward 1.9e-3 off (torch 3.3e-4)
        "group_norm": (lambda a, w, b: F.group_norm(a, 2, w, b), lambda a, w, b: TF.group_norm(a, 2, w, b),
                       [xl] + _params(6)),
        # groups of two values: the forward 16% off (torch 2.7e-4)
        "group_norm_pairs": (lambda a, w, b: F.group_norm(a, 4, w, b), lambda a, w, b: TF.group_norm(a, 4, w, b),
                             [x2] + _params(8)),
        # the weight's gradient 1.6e-2 off (torch's too)
        "instance_norm": (lambda a, w, b: F.instance_norm(a, weight=w, bias=b),
                          lambda a, w, b: TF.instance_norm(a, weight=w, bias=b), [xi] + _params(4)),
        # the forward 4.9e-3 off (torch 2.6e-4)
        "layer_norm": (lambda a, w, b: F.layer_norm(a, (20000,), w, b), lambda a, w, b: TF.layer_norm(a, (20000,), w, b),
                       [xr] + _params(20000)),
        # the forward 1.1e-3 off (torch 4.1e-4)
        "rms_norm": (lambda a, w: F.rms_norm(a, (20000,), w), lambda a, w: TF.rms_norm(a, (20000,), w),
                     [xr, _params(20000)[0]]),
    }


_NORM = _norm_cases()


@pytest.mark.parametrize("name", list(_NORM))
def test_float16_normalization_is_computed_in_float32(name):
    fn, tfn, arrays = _NORM[name]
    y = fn(*[npg.tensor(a, requires_grad=False) for a in arrays])
    _check(fn, tfn, arrays, _f16(*y.shape))


def test_local_response_norm_of_float16_beyond_256_does_not_overflow():
    # the squares of |x| > 256 were inf in float16: the output was 0 where it is about x / 10
    x = _f16(2, 8, 50, scale=400)
    _check(lambda a: F.local_response_norm(a, 3, alpha=1e-2),
           lambda a: TF.local_response_norm(a, 3, alpha=1e-2), [x], _f16(2, 8, 50), torch_half=False)


@pytest.mark.parametrize("momentum", [0.1, 0.01])
@pytest.mark.parametrize("instance", [False, True])
def test_float16_running_statistics_are_rounded_once_per_update(momentum, instance):
    # (1 - momentum) * running + momentum * batch was rounded at each of its three steps in float16; torch computes
    # it in float32 and rounds once (batch_norm's; its instance_norm updates copies per sample, which it averages
    # in float16): the oracle rounds the float64 update once per step
    rm, rv = np.full(3, 10.5, F16), np.full(3, 0.3, F16)
    want_m, want_v = rm.astype(np.float64), rv.astype(np.float64)
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    ours_m, ours_v = rm.copy(), rv.copy()
    for _ in range(12):
        x = _f16(16, 3, 40, scale=RNG.uniform(0.5, 2), shift=RNG.uniform(5, 15))
        x64 = x.astype(np.float64)
        axes = (0, 2) if not instance else (2,)
        mean, var = x64.mean(axis=axes), x64.var(axis=axes, ddof=1)
        if instance:
            mean, var = mean.mean(axis=0), var.mean(axis=0)
        want_m = ((1 - momentum) * want_m + momentum * mean).astype(F16).astype(np.float64)
        want_v = ((1 - momentum) * want_v + momentum * var).astype(F16).astype(np.float64)
        bn = F.instance_norm if instance else lambda a, m, v, **kw: F.batch_norm(a, m, v, training=True, **kw)
        tbn = TF.instance_norm if instance else lambda a, m, v, **kw: TF.batch_norm(a, m, v, training=True, **kw)
        bn(npg.tensor(x), ours_m, ours_v, momentum=momentum)
        tbn(torch.tensor(x), trm, trv, momentum=momentum)
    assert ours_m.dtype == F16 and ours_v.dtype == F16
    for ours, theirs, want in ((ours_m, trm, want_m), (ours_v, trv, want_v)):
        ulp = np.spacing(want.astype(F16)).astype(np.float64)
        assert np.all(np.abs(ours - want) <= ulp), (ours, want)    # (a float32 batch statistic: one step at most)
        assert instance or np.all(np.abs(theirs.double().numpy() - want) <= ulp)


def test_float16_batch_norm_eval_with_float32_running_statistics():
    # the running mean was cast to float16 first (100.03 -> 100.0): the output 3% off; torch computes in float32
    x = _f16(64, 3, 5, scale=0.3, shift=100)
    rm, rv = np.array([100.03, 99.97, 100.01], np.float32), np.array([0.09, 0.1, 0.11], np.float32)
    _check(lambda a: F.batch_norm(a, rm, rv, training=False),
           lambda a: TF.batch_norm(a, *(torch.tensor(r).to(a.dtype if a.dtype == torch.float64 else torch.float32)
                                         for r in (rm, rv)), training=False), [x], _f16(64, 3, 5))


# ------------------------------------------------------------------------------------------------ losses
N = 70_000


@pytest.mark.parametrize("logits", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_float16_binary_cross_entropy_mean_gradient(logits, weighted):
    # the gradient was scaled by 1 / 70,000 in float16 first, a subnormal: 3.7e-3 off (torch 9.7e-4), 3.5e-3 with
    # a weight (torch 1.4e-3)
    x = _f16(N) if logits else RNG.uniform(0.05, 0.95, N).astype(F16)
    t = RNG.uniform(0, 1, N).astype(F16)
    w = RNG.uniform(0, 2, N).astype(F16) if weighted else None   # (a constant: torch has no gradient for it)
    name = "binary_cross_entropy_with_logits" if logits else "binary_cross_entropy"
    _check(lambda a, b: getattr(F, name)(a, b, None if w is None else npg.tensor(w, requires_grad=False)),
           lambda a, b: getattr(TF, name)(a, b, None if w is None else torch.tensor(w).to(a.dtype)), [x, t])


def test_float16_cosine_embedding_loss_is_float16():
    # the float32 epsilon promoted the loss to float32 (torch's is float16; its own float16 overflows the product
    # of the squared norms, npgrad's computes in float32)
    a, b = _f16(64, 300), _f16(64, 300)
    y = np.where(RNG.random(64) < 0.5, 1, -1)
    _check(lambda p, q: F.cosine_embedding_loss(p, q, npg.tensor(y)),
           lambda p, q: TF.cosine_embedding_loss(p, q, torch.tensor(y)), [a, b])


@pytest.mark.parametrize("mode", ["bicubic", "bilinear"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_float16_interpolate_sums_in_float32(mode, align_corners):
    # the weights rounded to float16 and the taps summed in float16, each axis rounded: bicubic 2e-3 off (torch
    # 8.9e-4), bilinear 1.4e-3 (torch 3.9e-4)
    x = _f16(2, 3, 20, 20, scale=0.1, shift=1)
    _check(lambda a: F.interpolate(a, size=(33, 37), mode=mode, align_corners=align_corners),
           lambda a: TF.interpolate(a, size=(33, 37), mode=mode, align_corners=align_corners), [x],
           _f16(2, 3, 33, 37))


@pytest.mark.parametrize("name", ["batch_norm", "group_norm", "instance_norm", "layer_norm", "rms_norm"])
def test_float16_input_with_float32_parameters_gives_float16_as_torch(name):
    # torch's mixed-type CPU kernels (a float16 input, autocast's float32 parameters) return float16 and float32
    # parameter gradients; npgrad's output was float32 (NumPy's promotion)
    x, w, b = _f16(6, 4, 10, shift=3), _params(4, np.float32)[0], _params(4, np.float32)[1]
    calls = {"batch_norm": lambda F, a, w, b: F.batch_norm(a, None, None, w, b, training=True),
             "group_norm": lambda F, a, w, b: F.group_norm(a, 2, w, b),
             "instance_norm": lambda F, a, w, b: F.instance_norm(a, weight=w, bias=b),
             "layer_norm": lambda F, a, w, b: F.layer_norm(a.transpose(0, 2, 1) if F is not TF else a.transpose(1, 2),
                                                           (4,), w, b),
             "rms_norm": lambda F, a, w, b: F.rms_norm(a.transpose(0, 2, 1) if F is not TF else a.transpose(1, 2),
                                                       (4,), w)}
    ours = [npg.tensor(a) for a in (x, w, b)]
    y = calls[name](F, *ours)
    assert y.dtype == F16 and calls[name](TF, *(torch.tensor(a) for a in (x, w, b))).dtype == torch.float16
    seed = _f16(*y.shape)
    y.backward(npg.tensor(seed))
    # the values against torch in float64 on the same numbers, within a float16 rounding or two of the largest
    theirs = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b)]
    ty = calls[name](TF, *theirs)
    ty.backward(torch.tensor(seed.astype(np.float64)))
    pairs = [(y.data, ty)] + [(o.grad, t.grad) for o, t in zip(ours, theirs) if t.grad is not None]
    assert [p[0].dtype for p in pairs] == [F16, F16, np.float32, np.float32][:len(pairs)]
    for got, want in pairs:
        want = want.detach().numpy()
        assert np.abs(got.astype(np.float64) - want).max() <= 1e-3 * np.abs(want).max(), name
