"""``embedding`` (``padding_idx``, ``max_norm``, ``scale_grad_by_freq``, ``sparse``) and ``embedding_bag``
(``sum`` / ``mean`` / ``max`` over bags given by ``offsets`` or by the rows of a 2-D input, with
``per_sample_weights``, ``include_last_offset`` and ``padding_idx``).

``max_norm`` renormalizes, in place and without gradient, the rows that are looked up (PyTorch's
``embedding_renorm_``: a row whose ``norm_type``-norm exceeds ``max_norm`` is scaled by
``max_norm / (norm + 1e-7)``), counted as a write into the weight's memory. With ``sparse=True`` the
weight's gradient is a :class:`npgrad.sparse.RowSparseGrad` (the rows looked up and their gradients) on
the plain backward path; with ``create_graph=True`` it is dense (differentiable).
"""
import numpy as np

from ...autograd import versions as _versions
from ...ops._util import batching_rule, number_arg
from ...ops.index import scatter_add as _scatter_add
from ...ops.ternary import where as _where
from ...sparse import RowSparseGrad
from ...tensor import Tensor, _make
from ._common import _data, _is_graph

_tm = __import__("importlib").import_module("npgrad.tensor")  # the module (vmap flag)

__all__ = ["embedding", "embedding_bag"]


def _indices(input, V, name):
    idx = np.asarray(_data(input))
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{name}: indices must be integers, not {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= V):
        bad = idx[(idx < 0) | (idx >= V)].flat[0]
        raise IndexError(f"{name}: index {bad} is out of range for a table of {V} rows")
    return idx


def _padding(padding_idx, V, name):
    if padding_idx is None:
        return None
    if not -V <= padding_idx < V:
        raise ValueError(f"{name}: padding_idx {padding_idx} must be within num_embeddings ({V})")
    return padding_idx % V


def _renorm(weight, idx, max_norm, norm_type):
    """PyTorch's ``embedding_renorm_``, in place on the rows ``idx`` of ``weight``'s data."""
    wd = _data(weight)
    rows = np.unique(idx)
    if not rows.size:
        return
    r = wd[rows]
    a = np.abs(r)
    if norm_type == np.inf:
        norms = a.max(axis=1)
    elif norm_type == -np.inf:          # torch.norm's: the smallest magnitude
        norms = a.min(axis=1)
    elif norm_type == 0:                # torch.norm's: the number of nonzero entries
        norms = (a != 0).sum(axis=1).astype(wd.dtype)
    elif norm_type == 1:
        norms = a.sum(axis=1)
    else:
        with np.errstate(divide="ignore"):   # a negative norm_type: a zero entry makes the norm 0
            norms = (a ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    big = norms.astype(np.float64) > max_norm
    if big.any():
        scale = (max_norm / (norms[big].astype(np.float64) + 1e-7)).astype(wd.dtype)
        wd[rows[big]] = r[big] * scale[:, None]
        _versions.bump(wd, "embedding_renorm_")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """Rows of ``weight`` (num_embeddings, dim) at the integer indices ``input``. The ``padding_idx`` row
    gets no gradient; ``max_norm`` renormalizes the rows looked up first (in place, no gradient);
    ``scale_grad_by_freq`` divides each row's gradient by how often it occurs in ``input``; ``sparse``
    makes the weight's gradient a :class:`npgrad.sparse.RowSparseGrad`."""
    if _tm._VMAP:
        r = _tm._vmap_call("embedding", embedding, (input, weight),
                           dict(padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                                scale_grad_by_freq=scale_grad_by_freq, sparse=sparse))
        if r is not NotImplemented:
            return r
    wd = _data(weight)
    if wd.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {wd.shape}")
    V, D = wd.shape
    idx = _indices(input, V, "embedding")
    padding_idx = _padding(padding_idx, V, "embedding")
    if max_norm is not None:
        max_norm = number_arg(max_norm, "embedding", "max_norm")
        _renorm(weight, idx, max_norm, number_arg(norm_type, "embedding", "norm_type"))
    out = wd[idx]
    flat = idx.reshape(-1)
    scale = None
    if scale_grad_by_freq and flat.size:
        counts = np.bincount(flat, minlength=V)
        scale = (1.0 / counts[flat]).astype(wd.dtype)

    def vjp(g, y, i, w):
        if sparse and scale_grad_by_freq:
            raise RuntimeError("embedding: scale_grad_by_freq not supported with sparse gradients (as PyTorch's "
                               "embedding_backward)")
        gr = g.reshape(-1, D) if _is_graph(g) else g.reshape(flat.size, D)
        if scale is not None:
            gr = gr * scale[:, None]
        if padding_idx is not None:
            keep = flat != padding_idx
        if sparse and not _is_graph(g):
            if padding_idx is not None:
                return RowSparseGrad(flat[keep], gr[keep], (V, D))
            return RowSparseGrad(flat, gr, (V, D))
        if padding_idx is not None:
            gr = np.where(keep[:, None], gr, 0)
        return _scatter_add((V, D), (flat,), gr)
    return _make(out, "embedding", (idx, weight), (idx, wd), (None, vjp), (None, lambda t, y, i, w: t[idx]))


@batching_rule("merge_embedding_bag")
def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embeddings, without building the (indices, dim) intermediate's
    graph per bag: ``input`` is 2-D (B, n) (one bag per row, ``offsets`` None) or 1-D with ``offsets``
    (the start of each bag; with ``include_last_offset`` the last entry ends the last bag). Entries equal
    to ``padding_idx`` are left out (and not counted by ``mean``); an empty bag gives zeros.
    ``per_sample_weights`` (same shape as ``input``) scales each entry, with ``mode='sum'`` only. As in
    PyTorch, with ``include_last_offset`` the last bag runs to the end of ``input`` (the last offset should
    be ``len(input)``; its value is not used)."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("embedding_bag: max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("embedding_bag: max mode does not support sparse weights")
    wd = _data(weight)
    if wd.ndim != 2:
        raise ValueError(f"embedding_bag: weight must be 2-D (num_embeddings, embedding_dim), got shape {wd.shape}")
    if wd.dtype.kind != "f":   # (an integer table's 'mean' bags would be silently floored or promoted)
        raise TypeError(f"embedding_bag: weight must be floating point (as PyTorch), got {wd.dtype}")
    V, D = wd.shape
    idx = _indices(input, V, "embedding_bag")
    padding_idx = _padding(padding_idx, V, "embedding_bag")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                      f"on GitHub.")
        if np.shape(_data(per_sample_weights)) != idx.shape:
            raise ValueError(f"embedding_bag: per_sample_weights of shape {np.shape(_data(per_sample_weights))} "
                             f"must match input of shape {idx.shape}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"embedding_bag: if input is 2D, then offsets has to be None, as input is treated is a "
                             f"mini-batch of fixed length sequences. However, found offsets of type "
                             f"{type(offsets).__name__}")
        B, n = idx.shape
        seg = np.repeat(np.arange(B), n)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
        off = np.asarray(_data(offsets)).astype(np.int64)
        if off.ndim != 1:
            raise ValueError(f"embedding_bag: offsets has to be a 1D Tensor, got shape {off.shape}")
        if (off.size and (off[0] != 0 or np.any(np.diff(off) < 0) or off[-1] > idx.size)):
            raise ValueError(f"embedding_bag: offsets must start at 0, be non-decreasing and not exceed the "
                             f"input length {idx.size}, got {off.tolist()}")
        if include_last_offset:
            if off.size < 1:
                raise ValueError("embedding_bag: include_last_offset needs at least one offset")
            ends = np.append(off[1:-1], idx.size)[:off.size - 1]  # as PyTorch: the last bag ends with the
            off = off[:-1]                                        # input, whatever the last offset says
        else:
            ends = np.append(off[1:], idx.size)
        B = off.size
        seg = np.repeat(np.arange(B), ends - off)
        idx = idx[:seg.size]  # with include_last_offset and a single offset, no bag and no entry
    else:
        raise ValueError(f"embedding_bag: input has to be 1D or 2D, got shape {idx.shape}")
    flat = idx.reshape(-1)
    if max_norm is not None:
        _renorm(weight, flat, max_norm, norm_type)
    keep = np.ones(flat.size, dtype=bool) if padding_idx is None else flat != padding_idx
    rows = embedding(flat, weight, None, None, 2.0, scale_grad_by_freq, sparse)  # (M, D)
    dt = wd.dtype
    counts = np.bincount(seg[keep], minlength=B)
    if mode == "max":
        rd = rows.data
        cand = np.where(keep[:, None], rd, -np.inf)
        best = np.full((B, D), -np.inf, dtype=dt)
        np.fmax.at(best, seg, cand)   # PyTorch's scan takes a later element only if greater: a NaN never,
        match = cand == best[seg]
        if np.isnan(cand).any():      # but a bag's first element stays its max when it is NaN
            lead = np.full(B, flat.size, dtype=np.int64)
            np.minimum.at(lead, seg[keep], np.flatnonzero(keep))
            has = lead < flat.size
            best[has] = np.where(np.isnan(rd[lead[has]]), np.nan, best[has])
            match |= np.isnan(cand) & np.isnan(best[seg])
        pos = np.where(match & keep[:, None], np.arange(flat.size)[:, None], flat.size)
        first = np.full((B, D), flat.size, dtype=np.int64)
        np.minimum.at(first, seg, pos)
        empty = counts == 0
        pick = np.where(empty[:, None], 0, first)
        if not flat.size:     # zeros, with the weight's (zero) gradient
            return _scatter_add((B, D), (seg,), rows)
        picked = rows[pick, np.arange(D)[None, :]]
        if not empty.any():
            return picked
        return _where(~empty[:, None], picked, 0)   # (an empty bag picked row 0: times 0 would keep its NaN)
    half = mode == "mean" and dt == np.float16
    # (float16: 1 / count in float32, as the products and their sum, rounded once, as torch, which sums then
    # divides; 1 / count in float16 is subnormal, a few bits, from 2048 rows on, and 0 past 65504)
    coef = keep.astype(np.float32 if half else dt)
    if mode == "mean":
        coef = coef / np.maximum(counts, 1)[seg].astype(coef.dtype)
    sel = slice(None)
    if not keep.all():   # padding entries are left out, not scaled by 0 (which keeps an inf or NaN as NaN)
        sel = np.flatnonzero(keep)
        rows = rows[sel]
    if half:
        return _scatter_add((B, D), (seg[sel],), rows.astype(np.float32) * coef[sel, None]).astype(dt)
    scaled = rows * coef[sel, None]
    if per_sample_weights is not None:
        if isinstance(per_sample_weights, Tensor):
            psw = per_sample_weights.reshape(-1)[:flat.size]
        else:
            psw = np.asarray(per_sample_weights).reshape(-1)[:flat.size].astype(dt)
        scaled = scaled * psw[sel, None]
    return _scatter_add((B, D), (seg[sel],), scaled)


_versions.reads("embedding", "", "a")
