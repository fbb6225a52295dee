"""``AdaptiveLogSoftmaxWithLoss`` (Grave et al., efficient softmax approximation), as ``torch.nn``: a head over the
shortlist and one token per cluster, and per cluster a two-layer projection (``in -> in // div_value ** (i + 1) ->
cluster size``). Composed from npgrad ops (``log_softmax``, ``take_along_axis``, indexing and concatenation), so
its gradients are those of PyTorch's formulas."""
from collections import namedtuple

import numpy as np

from ...ops.index import take_along_axis
from ...ops.shape import concatenate
from ...tensor import Tensor, _wrap
from .. import functional as F
from ..module import Module
from .container import ModuleList, Sequential
from .linear import Linear

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Efficient softmax approximation, as ``torch.nn.AdaptiveLogSoftmaxWithLoss(in_features, n_classes, cutoffs,
    div_value=4.0, head_bias=False)``: ``forward(input, target)`` returns ``(output, loss)`` (each target's
    log-probability and the mean negative log-likelihood); ``log_prob(input)`` gives every class's log-probability
    and ``predict(input)`` the most likely class. The same weights give PyTorch's values and gradients."""

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        kw = dict(device=device, dtype=dtype)
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **kw),
                                        Linear(hsz, osz, bias=False, **kw)))

    def reset_parameters(self):
        """Initialize the head and the projections again, as their Linear layers do."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        """``(output, loss)``: ``output[n]`` the log-probability of ``target[n]`` ((N, in_features) input and (N,)
        target, or (in_features,) and a 0-d target), ``loss`` the mean of ``-output``."""
        td = np.asarray(target_.data if isinstance(target_, Tensor) else target_)
        x = input_ if isinstance(input_, Tensor) else _wrap(np.asarray(input_))
        if td.ndim == 1:
            if x.shape[0] != td.shape[0]:
                raise RuntimeError("AdaptiveLogSoftmaxWithLoss: Input and target should have the same size in the "
                                   "batch dimension.")
            if x.ndim != 2:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: 1D target tensor expects 2D input tensors, but "
                                   f"found inputs with size {x.shape}")
        elif td.ndim == 0:
            if x.ndim != 1:
                raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: 0D target tensor expects 1D input tensors, but "
                                   f"found inputs with size {x.shape}")
        else:
            raise RuntimeError("AdaptiveLogSoftmaxWithLoss: 0D or 1D target tensor expected, multi-target not "
                               "supported")
        if td.dtype.kind not in "iu":
            raise TypeError(f"AdaptiveLogSoftmaxWithLoss: target must hold integer class indices, not {td.dtype}")
        batched = td.ndim > 0
        inp = x if batched else x.reshape(1, -1)
        target = td.reshape(-1).astype(np.int64)
        B = target.shape[0]
        if B and (target.min() < 0 or target.max() >= self.n_classes):
            raise RuntimeError(f"AdaptiveLogSoftmaxWithLoss: Target values should be in [0, {self.n_classes - 1}], "
                               f"but values in range [{target.min()}, {target.max()}] were found. ")
        gather_inds = target.copy()
        rows, parts = [], []
        bounds = [0] + self.cutoffs
        for i in range(1, len(bounds) - 1):
            lo, hi = bounds[i], bounds[i + 1]
            idx = np.nonzero((target >= lo) & (target < hi))[0]
            if idx.size == 0:
                continue
            gather_inds[idx] = self.shortlist_size + i - 1
            cluster_logprob = F.log_softmax(self.tail[i - 1](inp[idx]), dim=1)
            parts.append(take_along_axis(cluster_logprob, (target[idx] - lo)[:, None], 1).reshape(-1))
            rows.append(idx)
        head_logprob = F.log_softmax(self.head(inp), dim=1)
        output = take_along_axis(head_logprob, gather_inds[:, None], 1).reshape(-1)
        if parts:   # the clusters' log-probabilities, placed at their rows (zeros at the shortlist's rows)
            short = np.nonzero(target < self.shortlist_size)[0]
            order = np.concatenate([short] + rows)
            local = concatenate([_wrap(np.zeros(short.size, dtype=head_logprob.dtype))] + parts)
            output = output + local[np.argsort(order, kind="stable")]
        loss = (-output).mean()
        if not batched:
            output = output.reshape(())
        return _ASMoutput(output, loss)

    def _get_full_log_prob(self, input, head_output):
        head_logprob = F.log_softmax(head_output, dim=1)
        cols = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster_logprob = F.log_softmax(self.tail[i](input), dim=1)
            s = self.shortlist_size + i
            cols.append(cluster_logprob + head_logprob[:, s:s + 1])
        return concatenate(cols, axis=1)

    def log_prob(self, input):
        """The log-probabilities of every class, (N, n_classes), for an (N, in_features) input."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class of each row, (N,) int64: ``log_prob(input).argmax(1)``, computing the clusters
        only for rows whose head's best entry is a cluster token."""
        head_output = self.head(input)
        output = np.argmax(head_output.data, axis=1).astype(np.int64)
        not_in_shortlist = output >= self.shortlist_size
        if not_in_shortlist.any():
            sel = np.nonzero(not_in_shortlist)[0]
            log_prob = self._get_full_log_prob(input[sel], head_output[sel])
            output[sel] = np.argmax(log_prob.data, axis=1)
        return _wrap(output)
