"""npg.viz: DOT text of a graph (op names, shapes, dtypes, leaves, constants) and render()."""
import os
import re
import stat

import numpy as np
import pytest

import npgrad as npg
from npgrad import viz


def _nodes(dot):
    """{node id: label} and the set of edges (src, dst) of DOT text made by to_dot."""
    labels = dict(re.findall(r'^\s*(\w+) \[label="([^"]*)"', dot, flags=re.M))
    edges = set(re.findall(r"^\s*(\w+) -> (\w+)", dot, flags=re.M))
    return labels, edges


def _by_label(labels, start):
    return [k for k, v in labels.items() if v.startswith(start)]


def test_to_dot_lists_ops_shapes_dtypes_and_edges():
    x = npg.tensor(np.ones((3, 4), dtype=np.float32))
    w = npg.tensor(np.ones(4, dtype=np.float32))
    loss = npg.sum(npg.tanh(x @ w) * 2.0)
    dot = viz.to_dot(loss, names={"x": x, "w": w})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    labels, edges = _nodes(dot)
    ops = {v.split("\\n")[0] for v in labels.values()}
    assert {"sum", "mul", "tanh", "matmul", "x: leaf", "w: leaf"} <= ops
    assert labels[_by_label(labels, "matmul")[0]] == "matmul\\n(3,) float32"
    assert labels[_by_label(labels, "x: leaf")[0]] == "x: leaf\\n(3, 4) float32"
    assert labels[_by_label(labels, "sum")[0]].endswith("() float32")
    mm, tanh = _by_label(labels, "matmul")[0], _by_label(labels, "tanh")[0]
    assert (mm, tanh) in edges
    assert (_by_label(labels, "x: leaf")[0], mm) in edges and (_by_label(labels, "w: leaf")[0], mm) in edges
    assert "constant 2" in dot  # the Python number operand


def test_shared_subgraph_appears_once_and_constants_can_be_hidden():
    x = npg.tensor([1.0, 2.0])
    y = npg.exp(x)
    z = y * y + y
    labels, edges = _nodes(viz.to_dot(z, show_constants=False))
    assert len(_by_label(labels, "exp")) == 1
    assert len(_by_label(labels, "leaf")) == 1
    assert not any(v.startswith("constant") for v in labels.values())
    exp = _by_label(labels, "exp")[0]
    assert sum(1 for s, d in edges if s == exp) == 2   # into mul (once per distinct consumer) and add


def test_to_dot_of_leaf_released_graph_and_in_place_versions():
    x = npg.tensor([1.0, 2.0])
    assert "leaf" in viz.to_dot(x)
    y = npg.sum(x * 3)
    y.backward()
    assert "graph released" in viz.to_dot(y)
    a = x * 2
    b = a * a
    a[0] = 5.0                     # a is rebased: b still uses a's earlier version
    labels, edges = _nodes(viz.to_dot(b))
    assert "setitem" not in " ".join(labels.values())
    assert "setitem" in viz.to_dot(a)


def test_to_dot_of_a_view_after_a_write_into_its_base_shows_the_write():
    """A view whose base was written into after the view was made reads the values written: its picture is the graph
    backward follows from it (through the write), not its node from before the write (views follow a write when next
    used: to_dot is such a use)."""
    x = npg.tensor([1.0, 2.0, 3.0, 4.0])
    y = x * 1.0
    v = y[1:]
    y[1] = npg.exp(x[0])
    labels, edges = _nodes(viz.to_dot(v))
    assert len(_by_label(labels, "exp")) == 1 and len(_by_label(labels, "setitem")) == 1
    (v * 1.0).sum().backward()   # (the gradient goes through that write, as the picture says)
    np.testing.assert_allclose(x.grad, [np.exp(1.0), 0.0, 1.0, 1.0])


def test_to_dot_marks_retain_grad_and_hooks_and_rejects_non_tensors():
    x = npg.tensor([1.0])
    y = x * 2
    y.retain_grad()
    y.register_hook(lambda g: g)
    assert "[retain_grad, hooks]" in viz.to_dot(y)
    with pytest.raises(TypeError):
        viz.to_dot(np.ones(2))


def test_render_without_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    x = npg.tensor([1.0])
    with pytest.raises(RuntimeError, match="Graphviz.*not installed.*to_dot"):
        viz.render(npg.sum(x * 2), tmp_path / "g.svg")


def test_render_calls_dot_with_the_format_of_the_extension(tmp_path, monkeypatch):
    # a stand-in `dot` that records its arguments and copies its input to the output file
    fake = tmp_path / "dot"
    fake.write_text('#!/bin/sh\necho "$@" > "$(dirname "$0")/args"\nshift 2\ncat > "$1"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    x = npg.tensor([1.0, 2.0])
    out = tmp_path / "graph.png"
    viz.render(npg.sum(x * x), out)
    assert (tmp_path / "args").read_text().split()[0] == "-Tpng"
    assert out.read_text() == viz.to_dot(npg.sum(x * x))
