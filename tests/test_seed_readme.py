"""The seed README's examples (matmul, Einsum, Conv2D, Advanced Indexing) run verbatim.

The blocks below are copied character for character from the original npgrad README
(kept at ../shared/seed/npgrad-README.md in the workspace; when that file is present, a test
checks the copies have not drifted). They run in one namespace per test, after the imports
of the first block, as a reader would run them. The repository README's own Python blocks
run too, in order, in one namespace.
"""
import pathlib
import re

import numpy as np
import pytest

import npgrad as npg

pytest.importorskip("torch")

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEED_README = ROOT.parent / "shared" / "seed" / "npgrad-README.md"

MATMUL = """\
import npgrad as npg
import numpy as np
import torch

x = npg.randn(7, 3, 4)
y = npg.randn(1, 4, 5)
z = x @ y
print(z)

# Compute gradients with torch
torch_x = torch.tensor(x.data, requires_grad=True)
torch_y = torch.tensor(y.data, requires_grad=True)
torch_z = torch_x @ torch_y

# Compare gradients
assert np.allclose(z.data, torch_z.detach().numpy())
"""

EINSUM = """\
x = npg.randn(3, 4, 7, 8, 3)
y = npg.randn(3, 4, 5, 6)

z = npg.sum(
  npg.einsum('ijkli,ijmn->klmn', x, y)
)
z.backward()

# Compute gradients with torch
torch_x = torch.tensor(x.data, requires_grad=True)
torch_y = torch.tensor(y.data, requires_grad=True)
torch_z = torch.sum(
  torch.einsum('ijkli,ijmn->klmn', torch_x, torch_y)
)
torch_z.backward()

# Compare gradients
assert np.allclose(x.grad, torch_x.grad.numpy())
"""

CONV2D = """\
import torch.nn.functional as F

x = npg.randn(2, 5, 28, 28)  # (batch_size, in_channels, height, width)
weight = npg.randn(3, 5, 3, 3)  # ( out_channels, in_channels, kernel_height, kernel_width)
bias = npg.randn(3)  # (out_channels,)

# Forward pass with npg.conv2d
y = npg.conv2d(x, weight, bias, stride=1, padding=1)
z = npg.sum(y)
z.backward()

# Compute gradients with PyTorch
torch_x = torch.tensor(x.data, requires_grad=True)
torch_weight = torch.tensor(weight.data, requires_grad=True)
torch_bias = torch.tensor(bias.data, requires_grad=True)

torch_y = F.conv2d(torch_x, torch_weight, torch_bias, stride=1, padding=1)
torch_z = torch.sum(torch_y)
torch_z.backward()

# Compare gradients
assert np.allclose(x.grad, torch_x.grad.numpy())
assert np.allclose(weight.grad, torch_weight.grad.numpy())
assert np.allclose(bias.grad, torch_bias.grad.numpy())
"""

ADVANCED_INDEXING = """\
x = npg.randn(10, 8, 12)
indices1 = np.random.randint(0, 10, (3, 2))
indices2 = np.random.randint(0, 8, (3, 2))

y = x[indices1, indices2, 2:8:2]
y = npg.sum(y)
y.backward()

# Compute gradients with torch
torch_x = torch.tensor(x.data, requires_grad=True)
torch_y = torch_x[indices1, indices2, 2:8:2]
torch_y = torch.sum(torch_y)
torch_y.backward()

# Compare gradients
assert np.allclose(x.grad, torch_x.grad.numpy())
"""

IMPORTS = "import npgrad as npg\nimport numpy as np\nimport torch\n"


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


def _run(block, ns=None):
    ns = {} if ns is None else ns
    exec(compile(IMPORTS, "<imports>", "exec"), ns)
    exec(compile(block, "<readme>", "exec"), ns)
    return ns


def test_matmul_example():
    ns = _run(MATMUL)
    assert ns["z"].shape == (7, 3, 5)


def test_einsum_example():
    ns = _run(EINSUM)
    np.testing.assert_allclose(ns["y"].grad, ns["torch_y"].grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not hasattr(npg, "conv2d"), reason="npg.conv2d not implemented yet")
def test_conv2d_example():
    _run(CONV2D)


def test_advanced_indexing_example():
    np.random.seed(0)
    for _ in range(5):  # random indices: repeated ones must accumulate
        ns = _run(ADVANCED_INDEXING)
    assert ns["x"].grad.shape == (10, 8, 12)


@pytest.mark.skipif(not SEED_README.exists(), reason="the seed README is not in this checkout")
def test_blocks_are_verbatim_copies_of_the_seed_readme():
    assert _python_blocks(SEED_README.read_text()) == [MATMUL, EINSUM, CONV2D, ADVANCED_INDEXING]


def test_repository_readme_python_blocks_run():
    blocks = _python_blocks((ROOT / "README.md").read_text())
    assert blocks, "README.md has no python examples"
    ns = {}
    for block in blocks:
        if "conv2d" in block and not hasattr(npg, "conv2d"):
            continue
        _run(block, ns)
