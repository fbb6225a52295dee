"""The workloads, one module each; every module lists its backends side by side."""
from . import attention, cnn, depthwise, inplace, jacobian, jvp, lstm, mlp, overhead, per_sample, train

WORKLOADS = {w.name: w for w in (overhead.WORKLOAD, mlp.WORKLOAD, cnn.WORKLOAD, attention.WORKLOAD,
                                 mlp.WORKLOAD64, train.WORKLOAD, inplace.WORKLOAD, lstm.WORKLOAD, jvp.WORKLOAD,
                                 depthwise.WORKLOAD, per_sample.WORKLOAD_MLP, per_sample.WORKLOAD_CNN,
                                 jacobian.WORKLOAD_JACREV, jacobian.WORKLOAD_JACFWD, jacobian.WORKLOAD_HESSIAN)}

# names --only accepts for several workloads at once
GROUPS = {"per_sample_grads": ["psg_mlp", "psg_cnn"], "jacobian": ["jacrev", "jacfwd", "hessian"]}
