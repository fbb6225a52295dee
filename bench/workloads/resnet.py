"""resnet: one SGD-with-momentum step of a small ResNet on 32x32 images, batch 32, float32.

The network: conv3x3(3->16)-BN-ReLU stem, three stages of two basic blocks (conv3x3-BN-ReLU-conv3x3-BN,
plus the shortcut, ReLU) with 16, 32 and 64 channels, the first block of stages 2 and 3 downsampling
by stride 2 with a 1x1 conv + BN projection shortcut; global average pool; linear(64->10); mean
cross-entropy. BatchNorm in training mode (batch statistics, running stats updated). The step is
zero_grad, forward, backward and ``SGD(lr=0.05, momentum=0.9, weight_decay=5e-4).step()``.

There is no hand-written NumPy floor for this one (a full hand-written ResNet backward with batch
norm is more code than the comparison is worth): npgrad is compared with PyTorch only, and PyTorch's
loss and gradients of the first step (same initial weights, same batch) are the oracle npgrad is
checked against before timing. The "/ numpy" column is therefore empty for this workload.
"""
import numpy as np

from .._harness import Runner, Workload, require, require_npgrad

SIZES = {"full": dict(batch=32, hw=32, widths=(16, 32, 64)), "quick": dict(batch=16, hw=32, widths=(16, 32, 64)),
         "tiny": dict(batch=4, hw=8, widths=(4, 6, 8))}
LR, MOMENTUM, WEIGHT_DECAY, CLASSES, DRAW_SEED = 0.05, 0.9, 5e-4, 10, 1


def _blocks(widths):
    """(c_in, c_out, stride) of the six basic blocks."""
    out, c = [], widths[0]
    for i, w in enumerate(widths):
        for j in range(2):
            out.append((c, w, 2 if (i > 0 and j == 0) else 1))
            c = w
    return out


def _param_shapes(widths):
    """(kind, shape) of the parameters in the order both models register them."""
    def conv_bn(c_out, c_in, k):
        return [("conv", (c_out, c_in, k, k)), ("bn_weight", (c_out,)), ("bias", (c_out,))]
    shapes = conv_bn(widths[0], 3, 3)
    for c_in, c_out, stride in _blocks(widths):
        shapes += conv_bn(c_out, c_in, 3) + conv_bn(c_out, c_out, 3)
        if stride != 1 or c_in != c_out:
            shapes += conv_bn(c_out, c_in, 1)
    return shapes + [("linear", (CLASSES, widths[-1])), ("bias", (CLASSES,))]


def make(size, rng, dtype=np.float32):
    """Weights and a batch, drawn from the fixed seed DRAW_SEED (the harness's ``rng`` is not used): on some
    draws a ReLU input or a max lies within float32 rounding of its kink, and float32 then sends a gradient
    down the other branch than float64 does, in PyTorch as in npgrad (measured on this network: seeds 0, 2,
    3 and 4 of ``default_rng`` disagree with the float64 gradients by 1e-3 to 7e-2 in one library or the
    other, seed 1 by 2e-6 / 4e-6 in both), so the check against PyTorch would compare two roundings, not
    two implementations."""
    rng = np.random.default_rng(DRAW_SEED)
    s = SIZES[size]
    params = []
    for kind, shape in _param_shapes(s["widths"]):
        if kind == "conv":       # Kaiming-normal (fan_out, ReLU), as torchvision's ResNet
            a = rng.standard_normal(shape) * np.sqrt(2 / (shape[0] * shape[2] * shape[3]))
        elif kind == "linear":   # weight (out, in), uniform(+-1/sqrt(in))
            a = rng.uniform(-1, 1, shape) / np.sqrt(shape[1])
        elif kind == "bn_weight":  # near 1, random so that every gradient is exercised
            a = 1 + 0.1 * rng.standard_normal(shape)
        else:
            a = 0.1 * rng.standard_normal(shape)
        params.append(a.astype(dtype))
    x = rng.standard_normal((s["batch"], 3, s["hw"], s["hw"])).astype(dtype)
    y = rng.integers(0, CLASSES, s["batch"])
    return dict(params=params, x=x, y=y, widths=s["widths"])


def _model(nn, F, widths, inplace=False):
    """The ResNet as a module of the library ``nn`` / ``F`` (npgrad's or PyTorch's: same names). ``inplace``: as
    torchvision writes it, ``ReLU(inplace=True)`` and the shortcut added with ``+=``."""

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.shortcut = None
            if stride != 1 or c_in != c_out:
                self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                              nn.BatchNorm2d(c_out))

        def forward(self, x):
            if inplace:
                h = F.relu(self.bn1(self.conv1(x)), inplace=True)
                h = self.bn2(self.conv2(h))
                h += x if self.shortcut is None else self.shortcut(x)
                return F.relu(h, inplace=True)
            h = F.relu(self.bn1(self.conv1(x)))
            h = self.bn2(self.conv2(h))
            return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]),
                                      nn.ReLU(inplace=inplace))
            self.blocks = nn.Sequential(*[Block(*b) for b in _blocks(widths)])
            self.fc = nn.Linear(widths[-1], CLASSES)

        def forward(self, x):
            h = self.blocks(self.stem(x))
            return self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1))

    return ResNet()


def _load(params, arrays, copy):
    params = list(params)
    assert [tuple(p.shape) for p in params] == [a.shape for a in arrays], "parameter order/shapes differ"
    for p, a in zip(params, arrays):
        copy(p, a)
    return params


# ------------------------------------------------------------------ npgrad
def setup_npgrad(inp):
    npg = require("npgrad")
    nn, optim, F = require_npgrad("npgrad.nn:", "npgrad.optim:", "npgrad.nn.functional:")
    require_npgrad("npgrad.optim:SGD", "adaptive_avg_pool2d", "cross_entropy")
    prev = npg.get_default_dtype()
    npg.set_default_dtype(str(inp["x"].dtype))
    try:
        model = _model(nn, F, inp["widths"], inp.get("inplace", False))
    finally:
        npg.set_default_dtype(prev)

    def copy(p, a):
        with npg.no_grad():
            p.copy_(npg.tensor(a))

    params = _load(model.parameters(), inp["params"], copy)
    opt = optim.SGD(params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    x, y = npg.tensor(inp["x"], requires_grad=False), npg.tensor(inp["y"], requires_grad=False)
    model.train()

    def reset():
        opt.zero_grad()

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item(), [p.grad for p in params]

    return Runner(step, reset)


# ------------------------------------------------------------------ PyTorch
def setup_torch(inp):
    torch = require("torch")
    model = _model(torch.nn, torch.nn.functional, inp["widths"], inp.get("inplace", False))

    def copy(p, a):
        with torch.no_grad():
            p.copy_(torch.from_numpy(a))

    params = _load(model.parameters(), inp["params"], copy)
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    x, y = torch.from_numpy(inp["x"]), torch.from_numpy(inp["y"])
    model.train()
    F = torch.nn.functional

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item(), [p.grad.numpy() for p in params]

    return Runner(step)


WORKLOAD = Workload(
    name="resnet", dtype=np.float32, make=make, reference="torch",
    description="ResNet (16/32/64 channels, 2 basic blocks per stage, BN), SGD momentum step, batch 32 of "
                "3x32x32, float32; vs PyTorch only (no hand-written NumPy floor)",
    backends=dict(npgrad=setup_npgrad, torch=setup_torch),
    notes=dict(numpy="no hand-written NumPy ResNet (PyTorch is the oracle)", mygrad="not run",
               autograd="not run"))


def make_inplace(size, rng, dtype=np.float32):
    """The same weights and batch, for the network written as torchvision writes it."""
    return dict(make(size, rng, dtype), inplace=True)


WORKLOAD_INPLACE = Workload(
    name="resnet_inplace", dtype=np.float32, make=make_inplace, reference="torch",
    description="the resnet written as torchvision writes it: ReLU(inplace=True), the shortcut added with +=",
    backends=dict(npgrad=setup_npgrad, torch=setup_torch),
    notes=dict(numpy="no hand-written NumPy ResNet (PyTorch is the oracle)", mygrad="not run",
               autograd="not run"))
