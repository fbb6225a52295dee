"""The original npgrad README's examples (matmul, Einsum, Conv2D, Advanced Indexing) run verbatim, and so do
this repository's README.md examples.

tests/data/seed_readme.md is a character-for-character copy of the original npgrad README (the project
this one grew from, github.com/AllenHW/npgrad), kept in the repository so that these tests run in every
checkout. Each of its Python blocks runs as written, in a fresh namespace after the imports of its first
block, as a reader would run it. The Python blocks of README.md run in order, in one namespace: the
README says they form one session.
"""
import pathlib
import re

import numpy as np
import torch  # noqa: F401  (the examples compare with PyTorch: a test dependency, imported so it fails loudly)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEED_README = ROOT / "tests" / "data" / "seed_readme.md"
IMPORTS = "import npgrad as npg\nimport numpy as np\nimport torch\n"


def _python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, re.S)


SEED_BLOCKS = _python_blocks(SEED_README.read_text(encoding="utf-8"))


def _seed_block(name):
    """The block that follows the seed README's heading ``name`` (the matmul block has none)."""
    text = SEED_README.read_text(encoding="utf-8")
    if name is None:
        return SEED_BLOCKS[0]
    return _python_blocks(text[text.index(f"#### {name}\n"):])[0]


def _run(block, ns=None):
    ns = {} if ns is None else ns
    exec(compile(IMPORTS, "<imports>", "exec"), ns)
    exec(compile(block, "<readme>", "exec"), ns)
    return ns


def test_seed_readme_has_its_four_examples():
    assert len(SEED_BLOCKS) == 4
    assert SEED_BLOCKS == [_seed_block(None), _seed_block("Einsum"), _seed_block("Conv2D"),
                           _seed_block("Advanced Indexing")]
    assert SEED_BLOCKS[0].startswith(IMPORTS)  # the first block's imports, which the others rely on


def test_matmul_example():
    ns = _run(_seed_block(None))
    assert ns["z"].shape == (7, 3, 5)


def test_einsum_example():
    ns = _run(_seed_block("Einsum"))
    np.testing.assert_allclose(ns["y"].grad, ns["torch_y"].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_example():
    ns = _run(_seed_block("Conv2D"))
    assert ns["y"].shape == (2, 3, 28, 28)


def test_advanced_indexing_example():
    np.random.seed(0)
    for _ in range(5):  # random indices: repeated ones must accumulate
        ns = _run(_seed_block("Advanced Indexing"))
    assert ns["x"].grad.shape == (10, 8, 12)


def test_repository_readme_python_blocks_run_as_one_session():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = _python_blocks(readme)
    assert len(blocks) >= 10, "README.md has lost its python examples"
    assert "one session" in readme  # the README tells the reader what this test does
    ns = {}
    for block in blocks:
        _run(block, ns)
