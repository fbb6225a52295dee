"""``SyncBatchNorm``: batch normalization whose batch statistics span every process of an MPI group, as
``torch.nn.SyncBatchNorm``. With it, N processes each on B/N samples compute what one process computes on B.

Forward: each process's count, mean and sum of squared deviations per channel are all-gathered (one
collective) and combined exactly (Chan et al.'s parallel variance), so the statistics equal the whole
batch's to rounding. Backward: the two per-channel sums of the input gradient's formula (``sum(dxhat)``,
``sum(dxhat * xhat)``) are all-reduced (one collective); the weight and bias gradients stay local (their
averaging is DistributedDataParallel's job). Every process must run the same forward and backward.
"""
import numpy as np

from ...autograd import versions as _versions
from ...tensor import Tensor, _make
from ..functional._common import _data, _is_graph
from ..functional.normalization import centered
from ._util import check_device
from .norm import _BatchNorm

_aux = {}


def _group_comm(process_group):
    """The communicator SyncBatchNorm talks on: a duplicate of the group's (made once, collectively), so its
    collectives never interleave with DistributedDataParallel's or the user's."""
    from ...distributed import _comm
    base = process_group if process_group is not None else _comm.get_comm()
    key = id(base)
    if key not in _aux or _aux[key][0] is not base:
        _aux[key] = (base, base.Dup())
    return _aux[key][1]


def sync_batch_norm(x, running_mean, running_var, weight, bias, momentum, eps, comm):
    """Training-mode batch normalization of ``x`` (N, C, ...) with the statistics of the whole batch held
    by the processes of ``comm``; updates the running statistics in place as ``F.batch_norm`` does."""
    from ...distributed._comm import _group, wait_all
    MPI = _group["MPI"]
    xd = x.data
    C = xd.shape[1]
    axes = (0,) + tuple(range(2, xd.ndim))
    shape = (1, C) + (1,) * (xd.ndim - 2)
    n_local = xd.size // max(C, 1)
    stats = np.zeros(1 + 2 * C, np.float64)
    stats[0] = n_local
    if n_local:
        dev, s, m = centered(xd, axes)   # (as F.batch_norm's: the mean of x - s, s a sample; s + m in float64)
        stats[1:1 + C] = (s.astype(np.float64) + m).reshape(-1)
        stats[1 + C:] = (dev * dev).sum(axis=axes).reshape(-1)
    gathered = np.empty((comm.Get_size(), 1 + 2 * C), np.float64)
    wait_all([comm.Iallgather(stats, gathered)])
    counts, means, m2s = gathered[:, :1], gathered[:, 1:1 + C], gathered[:, 1 + C:]
    n = counts.sum()
    if n <= 1:
        raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all processes when "
                         f"training, got {int(n)}")
    mean = (counts * means).sum(axis=0) / n
    m2 = m2s.sum(axis=0) + (counts * (means - mean) ** 2).sum(axis=0)
    var = m2 / n
    mu = mean.astype(xd.dtype).reshape(shape)
    rstd = (1.0 / np.sqrt(var + eps)).astype(xd.dtype).reshape(shape)
    xhat = (xd - mu) * rstd
    wd = None if weight is None else _data(weight).reshape(shape)
    out = xhat if wd is None else xhat * wd
    if bias is not None:
        out = out + _data(bias).reshape(shape)
    for buf, value in ((running_mean, mean), (running_var, m2 / (n - 1))):
        if buf is not None:
            r = _data(buf)
            r *= 1 - momentum
            r += momentum * value.astype(r.dtype)
            _versions.bump(r, "sync_batch_norm")

    def vjp_x(g, y, *inputs):
        if _is_graph(g):
            raise NotImplementedError("SyncBatchNorm: backward with create_graph=True is not supported")
        dxh = g if wd is None else g * wd
        sums = np.concatenate([dxh.sum(axis=axes).reshape(-1), (dxh * xhat).sum(axis=axes).reshape(-1)])
        sums = sums.astype(np.float64)
        wait_all([comm.Iallreduce(MPI.IN_PLACE, sums, op=MPI.SUM)])
        mean_dxh = (sums[:C] / n).astype(xd.dtype).reshape(shape)
        mean_dxh_xh = (sums[C:] / n).astype(xd.dtype).reshape(shape)
        return rstd * (dxh - mean_dxh - xhat * mean_dxh_xh)

    def vjp_w(g, y, *inputs):
        return (g * xhat).sum(axis=axes)

    def vjp_b(g, y, *inputs):
        return g.sum(axis=axes)

    parents, saved, vjps = [x], [xd], [vjp_x]
    for t, vjp in ((weight, vjp_w), (bias, vjp_b)):
        if t is not None:
            parents.append(t)
            saved.append(_data(t))
            vjps.append(vjp)

    def jvp(tans, y, *inputs):
        """Forward mode: ``d xhat = rstd (tx - mean(tx) - xhat mean(xhat tx))`` with the means over the whole
        batch (one all-reduce of the two per-channel sums, as backward's), then ``d xhat w + xhat tw + tb``.
        Like the VJP, a constant: not differentiable again (no nested levels, no reverse mode through it)."""
        from ...autograd import forward_ad
        if any(forward_ad.is_dual(v) for v in (*inputs, *tans) if v is not None):
            raise NotImplementedError("SyncBatchNorm: nested forward-mode AD (jacfwd of jacfwd, jvp of jvp) is "
                                      "not supported")
        it = iter(tans)
        tx = next(it)
        tw = next(it) if weight is not None else None
        tb = next(it) if bias is not None else None
        res = np.zeros(xd.shape, xd.dtype)
        if tx is not None:
            txd = tx.data
            sums = np.concatenate([txd.sum(axis=axes).reshape(-1), (txd * xhat).sum(axis=axes).reshape(-1)])
            sums = sums.astype(np.float64)
            wait_all([comm.Iallreduce(MPI.IN_PLACE, sums, op=MPI.SUM)])
            mean_t = (sums[:C] / n).astype(xd.dtype).reshape(shape)
            mean_t_xh = (sums[C:] / n).astype(xd.dtype).reshape(shape)
            dxh = rstd * (txd - mean_t - xhat * mean_t_xh)
            res += dxh if wd is None else dxh * wd
        if tw is not None:
            res += xhat * tw.data.reshape(shape)
        if tb is not None:
            res += tb.data.reshape(shape)
        # The tangent is computed in NumPy: reverse mode through it (grad of a jvp, jacrev of jacfwd) must
        # raise rather than see a constant and give a zero gradient.
        given = tuple(t for t in tans if t is not None)
        return _make(res, "sync_batch_norm_jvp", given, tuple(t.data for t in given),
                     (_no_reverse_through_tangent,) * len(given))

    return _make(out, "sync_batch_norm", tuple(parents), tuple(saved), tuple(vjps), jvp)


def _no_reverse_through_tangent(g, y, *tangents):
    raise NotImplementedError("SyncBatchNorm: its forward-mode tangent is not differentiable (reverse mode over "
                              "forward mode, e.g. grad of a jvp or jacrev of jacfwd); use BatchNorm for that")


# What the VJPs read later (autograd/versions.py): the input's VJP the weight (xhat is its own array); the
# others nothing.
_versions.reads("sync_batch_norm", "b", "", "")


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over (N, C, ...) inputs whose training statistics are those of the whole batch
    across the processes of ``process_group`` (an mpi4py communicator; default: npgrad.distributed's group).
    In eval mode, or when npgrad.distributed is not initialized, it is a plain BatchNorm. Build one with
    ``nn.SyncBatchNorm.convert_sync_batchnorm(model)``, which swaps every BatchNorm of ``model`` for one."""

    _expected_dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)
        self.process_group = process_group

    def forward(self, input):
        from ...distributed import _comm
        if not (self.training and _comm.is_initialized()):
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.data += 1
            _versions.bump(self.num_batches_tracked.data, type(self).__name__)
            factor = 1.0 / float(self.num_batches_tracked.data) if self.momentum is None else self.momentum
        x = input if isinstance(input, Tensor) else Tensor(input, requires_grad=False)
        return sync_batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, factor, self.eps,
                               _group_comm(self.process_group))

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d in it replaced by a SyncBatchNorm that shares its parameters and
        buffers (the same objects, as PyTorch). Returns the converted module (``module`` itself unless it is a
        BatchNorm)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group)
            for name in ("weight", "bias"):
                out._parameters[name] = module._parameters.get(name)
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out._buffers[name] = module._buffers.get(name)
            object.__setattr__(out, "training", module.training)
        for name, child in list(module._modules.items()):
            if child is not None:
                out._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return out

