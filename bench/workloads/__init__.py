"""The workloads, one module each; every module lists its backends side by side."""
from . import (attention, cnn, depthwise, inplace, jacobian, jvp, lstm, mlp, overhead, per_sample, resnet,
               train)

WORKLOADS = {w.name: w for w in (overhead.WORKLOAD, mlp.WORKLOAD, cnn.WORKLOAD, attention.WORKLOAD,
                                 mlp.WORKLOAD64, train.WORKLOAD, inplace.WORKLOAD, inplace.WORKLOAD_RECURRENCE,
                                 lstm.WORKLOAD, jvp.WORKLOAD,
                                 depthwise.WORKLOAD, resnet.WORKLOAD, resnet.WORKLOAD_INPLACE, per_sample.WORKLOAD_MLP,
                                 per_sample.WORKLOAD_CNN, jacobian.WORKLOAD_JACREV, jacobian.WORKLOAD_JACFWD,
                                 jacobian.WORKLOAD_HESSIAN)}

# names --only accepts for several workloads at once
GROUPS = {"per_sample_grads": ["psg_mlp", "psg_cnn"], "jacobian": ["jacrev", "jacfwd", "hessian"]}

# npgrad's targets (issue #17): its median over PyTorch's / over the hand-written NumPy's, at most.
# The depthwise target is the one for the depthwise convolution itself (bench/bench_conv.py),
# applied here to the whole MobileNet block; resnet has no NumPy floor to compare with.
TARGETS = {"overhead": dict(torch=0.4), "mlp": dict(torch=1.0, numpy=1.05), "mlp64": dict(torch=1.0, numpy=1.05),
           "cnn": dict(torch=1.0, numpy=1.05), "attention": dict(torch=1.0, numpy=1.05), "train": dict(torch=1.0),
           "depthwise": dict(torch=1.5), "resnet": dict(torch=1.0)}
for _name, _t in TARGETS.items():
    WORKLOADS[_name].targets = [("npgrad", v, r, f"npgrad <= {r:g}x {v}") for v, r in _t.items()]
