"""The workloads, one module each; every module lists its backends side by side."""
from . import attention, cnn, depthwise, inplace, jvp, lstm, mlp, overhead, train

WORKLOADS = {w.name: w for w in (overhead.WORKLOAD, mlp.WORKLOAD, cnn.WORKLOAD, attention.WORKLOAD,
                                 mlp.WORKLOAD64, train.WORKLOAD, inplace.WORKLOAD, lstm.WORKLOAD, jvp.WORKLOAD,
                                 depthwise.WORKLOAD)}
