"""``ctc_loss``: Connectionist Temporal Classification, a hand-written forward-backward in log space,
vectorized over the batch (one NumPy step per time step for the alphas, one for the betas), in float64 whatever
the input's dtype (the recursion chains T log-sum-exps; the loss and the gradient are rounded once).

For a target ``l`` of length ``S`` the extended label sequence ``l'`` (length ``2S + 1``) puts a blank
before, between and after the labels. ``alpha[t, s]`` is the log-probability of all alignment prefixes
ending in ``l'[s]`` at time ``t``, ``beta[t, s]`` that of the suffixes starting there; the loss is
``nll = -log sum_s exp(alpha[T-1, s])`` over the last two states, and the gradient with respect to
``log_probs[t, c]`` comes from ``alpha + beta`` summed over the states labelled ``c``.

As PyTorch's (CPU and CUDA) kernels, the gradient returned for ``log_probs`` is
``exp(log_probs) - exp(lcab + nll - log_probs)`` (``lcab`` the log of the summed ``alpha * beta`` of class
``c``): the derivative with respect to the logits whose ``log_softmax`` the input is. Through
``log_softmax`` (the documented use) the extra ``exp(log_probs)`` term cancels, so the gradient of the
logits is exact; on a raw ``log_probs`` leaf it is PyTorch's value, not the plain partial derivative.
With ``create_graph=True`` the VJP recomputes the alphas and betas with npgrad ops, so second
derivatives are available (PyTorch has none for this loss).
"""
import numpy as np

from ...autograd import versions as _versions
from ...ops import shape as _shape
from ...ops._util import as_input, batching_rule
from ...tensor import _make
from .loss import _check_reduction
from ._common import _data, _is_graph

__all__ = ["ctc_loss"]

_NEG = -1e30  # "log 0" on the differentiable path, where -inf would turn gradients into nan


def _lengths(v, n, name):
    a = np.asarray(_data(v))
    if a.dtype.kind not in "iu":
        a = a.astype(np.int64) if a.size == 0 or np.all(a == np.round(a)) else None
        if a is None:
            raise TypeError(f"ctc_loss: {name} must be integers")
    a = a.reshape(-1).astype(np.int64)
    if a.shape != (n,):
        raise ValueError(f"ctc_loss: {name} must have one entry per batch element ({n}), got shape {a.shape}")
    return a


def _lse3(a, b, c, graph):
    """log(exp(a) + exp(b) + exp(c)), elementwise; -inf stays -inf on the NumPy path."""
    if graph:
        m = np.maximum(np.maximum(_data(a), _data(b)), _data(c))
        return m + np.log(np.exp(a - m) + np.exp(b - m) + np.exp(c - m))
    m = np.maximum(np.maximum(a, b), c)
    ms = np.where(m == -np.inf, 0, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        return ms + np.log(np.exp(a - ms) + np.exp(b - ms) + np.exp(c - ms))


def _shift(x, k, neg, right=True):
    """``x`` (N, L) shifted by ``k`` along the states, filled with ``neg`` (the create_graph path's; the NumPy path
    reads shifted slices of a padded buffer instead)."""
    N, L = x.shape
    k = min(k, L)  # (a batch of empty targets has a single state)
    fill = np.full((N, k), neg, dtype=x.dtype)
    return _shape.concatenate([fill, x[:, :L - k]] if right else [x[:, k:], fill], axis=1)


def _last_states(Ln):
    """(N, L) mask of each sample's last two extended states (one for an empty target), where betas start."""
    N = Ln.shape[0]
    last = np.zeros((N, int(Ln.max()) if N else 1), dtype=bool)
    ar = np.arange(N)
    last[ar, Ln - 1] = True
    last[ar[Ln > 1], (Ln - 2)[Ln > 1]] = True
    return last


def _alphas_betas(lpe, geo, graph):
    """Log alphas and betas (T, N, L) and the per-sample nll, from ``lpe`` (T, N, L): the log-probs at
    the extended labels. Works on arrays (``graph=False``: _alphas_betas_np) or Tensors (the create_graph
    path)."""
    if not graph:
        return _alphas_betas_np(lpe, geo)
    skip, skip_next, valid, init_a, Tn, Ln = geo
    T = lpe.shape[0]
    neg = _NEG
    dt = lpe.dtype
    where = np.where
    alphas = [where(init_a, lpe[0], neg)]
    for t in range(1, T):
        a = alphas[-1]
        s2 = where(skip, _shift(a, 2, neg), neg)
        alphas.append(where(valid, _lse3(a, _shift(a, 1, neg), s2, True) + lpe[t], neg))
    N, L = valid.shape
    last = _last_states(Ln)
    betas = [None] * T
    b = np.full((N, L), neg, dtype=dt)
    for t in range(T - 1, -1, -1):
        if t == T - 1:
            rec = np.full((N, L), neg, dtype=dt)
        else:
            s2 = where(skip_next, _shift(b, 2, neg, right=False), neg)
            rec = _lse3(b, _shift(b, 1, neg, right=False), s2, True) + lpe[t]
        start = (Tn - 1 == t)[:, None] & last
        going = (Tn - 1 > t)[:, None] & valid
        b = where(start, lpe[t], where(going, rec, neg))
        betas[t] = b
    alpha, beta = _shape.stack(alphas), _shape.stack(betas)
    return alpha, beta, _nll(alpha, Tn, Ln, neg, True)


def _alphas_betas_np(lpe, geo):
    """:func:`_alphas_betas` on arrays, four NumPy calls per time step each way: the alphas live in a buffer padded
    with two columns of -inf on the left (the betas on the right), so the states one and two back are slices of the
    previous step, and the masks are added as 0 / -inf (a step was some fifteen calls: 17x torch's time at T =
    10,000 and one sample)."""
    skip, skip_next, valid, init_a, Tn, Ln = geo
    T, N, L = lpe.shape
    lpe = lpe.astype(np.float64)   # (float16 / float32 too: T chained roundings; the results are cast back by ctc_loss)
    dt = lpe.dtype
    zero_or_neg = np.array([-np.inf, 0], dtype=dt)
    lpv = lpe + zero_or_neg[valid.astype(np.intp)]       # -inf at the states past each sample's labels
    skip_add, skip_next_add = zero_or_neg[skip.astype(np.intp)], zero_or_neg[skip_next.astype(np.intp)]
    A = np.full((T, N, L + 2), -np.inf, dtype=dt)
    A[0, :, 2:] = np.where(init_a, lpe[0], -np.inf)
    two_back = np.empty((N, L), dtype=dt)
    for t in range(1, T):
        prev, cur = A[t - 1], A[t, :, 2:]
        np.add(prev[:, :-2], skip_add, out=two_back)
        np.logaddexp(prev[:, 2:], prev[:, 1:-1], out=cur)
        np.logaddexp(cur, two_back, out=cur)
        cur += lpv[t]
    B = np.full((T, N, L + 2), -np.inf, dtype=dt)
    last = _last_states(Ln)
    ends = Tn - 1
    first_end, end_steps = (int(ends.min()), set(ends.tolist())) if N else (T, set())
    for t in range(T - 1, -1, -1):
        cur = B[t, :, :L]
        if t < T - 1:
            nxt = B[t + 1]
            np.add(nxt[:, 2:], skip_next_add, out=two_back)
            np.logaddexp(nxt[:, :L], nxt[:, 1:L + 1], out=cur)
            np.logaddexp(cur, two_back, out=cur)
            cur += lpv[t]
            if t >= first_end:                            # samples whose input ended before t + 1
                cur[ends <= t] = -np.inf
        if t in end_steps:
            rows = np.flatnonzero(ends == t)
            cur[rows] = np.where(last[rows], lpe[t, rows], -np.inf)
    alpha, beta = A[:, :, 2:], B[:, :, :L]
    return alpha, beta, _nll(alpha, Tn, Ln, -np.inf, False)


def _nll(alpha, Tn, Ln, neg, graph):
    """Each sample's nll from its alphas at its last step and last two states."""
    N = Tn.shape[0]
    dt = alpha.dtype
    ar = np.arange(N)
    where = np.where
    end = alpha[Tn - 1, ar]                            # (N, L): the alphas at each sample's last step
    a1 = end[ar, Ln - 1]
    a2 = where(Ln > 1, end[ar, np.maximum(Ln - 2, 0)], neg)
    nll = -_lse3(a1, a2, np.full(N, neg, dtype=dt), graph)
    # an empty input (length 0) aligns only with an empty target: nll 0, else impossible (inf), as torch
    return where(Tn == 0, where(Ln == 1, 0.0, -neg), nll)


@batching_rule("ctc_loss")
def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """CTC loss of ``log_probs`` (T, N, C) (or (T, C) unbatched; log-softmax outputs) against ``targets``:
    (N, S) padded, or the targets of the batch concatenated (1-D, split by ``target_lengths``), or (S,)
    unbatched. ``reduction='mean'`` divides each loss by its target length, then averages over the batch;
    ``zero_infinity`` replaces infinite losses (impossible alignments) and their gradients by zero."""
    _check_reduction(reduction, "ctc_loss")
    x = as_input(log_probs, "ctc_loss")
    xd = x.data
    if xd.dtype.kind != "f":
        raise TypeError(f"ctc_loss: log_probs must be floating point, not {xd.dtype}")
    unbatched = xd.ndim == 2
    if xd.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {xd.shape}")
    if unbatched:
        x = x.reshape(xd.shape[0], 1, xd.shape[1])
        xd = x.data
    T, N, C = xd.shape
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: blank must be in label range [0, {C}), got {blank}")
    td = np.asarray(_data(targets))
    if td.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: targets must be integers, not {td.dtype}")
    Tn = _lengths(input_lengths, N, "input_lengths")
    Sn = _lengths(target_lengths, N, "target_lengths")
    if N and (Tn.max() > T or Tn.min() < 0):
        raise ValueError(f"ctc_loss: input_lengths must be in [0, {T}] (log_probs of shape {tuple(xd.shape)}), "
                         f"got {Tn.tolist()}")
    if Sn.size and Sn.min() < 0:
        raise ValueError(f"ctc_loss: target_lengths must be non-negative, got {Sn.tolist()}")
    S = int(Sn.max()) if N else 0
    tgt = np.zeros((N, S), dtype=np.int64)
    if unbatched and not (td.ndim == 1 or (td.ndim == 2 and td.shape[0] == 1)):
        # (one sequence: (S,) or (1, S); a reshape would silently read a batch of targets as one sequence)
        raise ValueError(f"ctc_loss: unbatched log_probs of shape {tuple(xd.shape[::2])} need targets of shape "
                         f"(S,) or (1, S), got {td.shape}")
    if unbatched or td.ndim == 2:
        tb = td.reshape(1, -1) if unbatched else td
        if tb.shape[0] != N or tb.shape[1] < S:
            raise ValueError(f"ctc_loss: targets of shape {td.shape} do not hold target_lengths {Sn.tolist()}")
        tgt[:] = tb[:, :S]
    elif td.ndim == 1:
        if td.size < Sn.sum():
            raise ValueError(f"ctc_loss: concatenated targets of length {td.size} are shorter than "
                             f"sum(target_lengths) = {Sn.sum()}")
        offs = np.concatenate([[0], np.cumsum(Sn)])
        for n in range(N):
            tgt[n, :Sn[n]] = td[offs[n]:offs[n + 1]]
    else:
        raise ValueError(f"ctc_loss: targets must be (N, S) or 1-D, got shape {td.shape}")
    used = np.arange(S)[None, :] < Sn[:, None]
    if used.any() and (tgt[used].min() < 0 or tgt[used].max() >= C or (tgt[used] == blank).any()):
        raise ValueError(f"ctc_loss: target labels must be in [0, {C}) and differ from the blank ({blank})")

    # extended labels and the state masks, shared by both paths
    L = 2 * S + 1
    Ln = 2 * Sn + 1
    lab = np.full((N, L), blank, dtype=np.int64)
    lab[:, 1::2] = np.where(used, tgt, blank)
    s_idx = np.arange(L)[None, :]
    valid = s_idx < Ln[:, None]
    prev2 = np.full((N, L), -1, dtype=np.int64)
    prev2[:, 2:] = lab[:, :-2]
    skip = valid & (s_idx >= 2) & (lab != blank) & (lab != prev2)
    skip_next = np.zeros_like(skip)
    skip_next[:, :max(L - 2, 0)] = skip[:, 2:]
    init_a = valid & (s_idx < 2)
    geo = (skip, skip_next, valid, init_a, Tn, Ln)
    rows = np.arange(N)[:, None]
    time_ok = (np.arange(T)[:, None] < Tn[None, :])[:, :, None]      # (T, N, 1)
    dt = xd.dtype
    if T == 0 or N == 0:
        nll = np.zeros(N, dtype=dt) if T == 0 and N == 0 else np.full(N, np.inf, dtype=dt)
        alpha = beta = None
    else:
        alpha, beta, nll = _alphas_betas(xd[:, rows, lab], geo, False)
    nll_full = nll   # (float64: the gradient uses it unrounded)
    nll = nll_raw = np.asarray(nll, dtype=dt)
    inf = np.isinf(nll)
    if zero_infinity:
        nll = np.where(inf, 0, nll).astype(dt)
    denom = np.maximum(Sn, 1).astype(dt)
    if reduction == "none":
        out = nll.reshape(()) if unbatched else nll
    elif reduction == "sum":
        out = np.asarray(nll.sum(), dtype=dt)
    else:
        with np.errstate(invalid="ignore"):
            out = np.asarray((nll / denom).mean(), dtype=dt)

    def coef(g):
        """The gradient of the output for each sample's nll, (N,)."""
        if reduction == "none":
            c = g.reshape(N)
        elif reduction == "sum":
            c = g * np.ones(N, dtype=dt)
        else:
            c = g / (denom * N)
        if zero_infinity and inf.any():
            c = np.where(inf, 0, c)
        return c

    def vjp(g, y, lp):
        if alpha is None:
            return np.zeros(lp.shape, dtype=dt) * g
        return per_sample(lp) * coef(g).reshape(1, N, 1)

    def per_sample(lp):
        """d nll_n / d lp (PyTorch's gradient), (T, N, C); ``lp`` a Tensor: differentiable again."""
        if _is_graph(lp):
            lpe = lp[:, rows, lab]
            a, b, nl = _alphas_betas(lpe, geo, True)
        else:
            lpe, a, b, nl = xd[:, rows, lab], alpha, beta, nll_full
        with np.errstate(invalid="ignore", over="ignore"):
            e = np.exp(a + b + nl.reshape(1, N, 1) - lpe)    # (T, N, L): posterior / prob, per state
        keep = valid[None] & time_ok
        if zero_infinity and inf.any():
            keep = keep & ~inf[None, :, None]
        e = np.where(keep, e, 0)
        if _is_graph(lp):
            onehot = (lab[:, :, None] == np.arange(C)).astype(dt)  # (N, L, C)
            post = np.matmul(np.swapaxes(e, 0, 1), onehot).swapaxes(0, 1)  # (T, N, C)
        else:
            post = np.zeros((T, N, C), dtype=dt)
            ar = np.arange(N)
            for s in range(L):
                post[:, ar, lab[:, s]] += e[:, :, s]
        out = np.where(time_ok, np.exp(lp) - post, 0)
        if not zero_infinity and inf.any():  # an impossible alignment: nan at every class and step, as torch
            out = np.where(time_ok & inf[None, :, None], np.nan, out)
        return out

    def jvp(t, y, lp):
        """The transpose of the VJP: each sample's <d nll_n / d lp, t>, reduced as the loss is."""
        if alpha is None:
            return np.zeros(y.shape, dtype=dt) * t.sum()
        from ...autograd import forward_ad
        if not (lp._requires_grad or forward_ad.is_dual(lp)):
            lp = lp.data                       # a constant here: reuse the forward's alphas and betas
        s = (per_sample(lp) * t).sum(axis=(0, 2))
        if zero_infinity and inf.any():
            s = np.where(inf, 0, s)
        if reduction == "none":
            return s.reshape(y.shape)
        if reduction == "sum":
            return s.sum()
        return (s / denom).sum() / N

    return _make(out, "ctc_loss", (x,), (xd,), (vjp,), (jvp,))


_versions.reads("ctc_loss", "x")
