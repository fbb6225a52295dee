"""Pictures of the graph behind a tensor: Graphviz DOT text (no dependency) and, where the Graphviz
``dot`` program is installed, an image.

>>> loss = npg.sum(npg.tanh(x @ w))
>>> print(npg.viz.to_dot(loss, names={"x": x, "w": w}))
>>> npg.viz.render(loss, "graph.svg")          # needs Graphviz (apt install graphviz)
"""
import importlib
import os
import shutil
import subprocess

import numpy as np

from .autograd.versions import inputs_as_of
from .tensor import Tensor

_tensor_mod = importlib.import_module(".tensor", __package__)  # the module (npgrad.tensor is also a function)

__all__ = ["to_dot", "render"]


def _esc(s):
    return str(s).replace("\\", "\\\\").replace('"', '\\"')


def _shape(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def to_dot(t, names=None, show_constants=True, rankdir="BT"):
    """Graphviz DOT text of the graph that computed ``t``.

    One box per recorded op (its name, output shape and dtype), one per leaf (shape, dtype, and
    its name from ``names``, a dict ``name -> Tensor``), and, with ``show_constants``, one per
    constant operand (NumPy arrays and numbers the ops were given). Edges go from inputs to the op
    that used them. Works for any tensor, also one whose graph was released by backward (its
    inputs are then no longer known and the node is marked so).
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(t).__name__}")
    if _tensor_mod._STALE:  # (a view a write into its base left on the base's earlier node: from its current one)
        _tensor_mod._refresh_inputs((t,))
    label_of = {id(v): k for k, v in (names or {}).items()}
    ids = {}
    lines = ["digraph npgrad {", f"  rankdir={rankdir};",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];']

    def node_id(x):
        i = ids.get(id(x))
        if i is None:
            i = ids[id(x)] = f"n{len(ids)}"
        return i

    stack = [t]
    seen = set()
    const_count = 0
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        nid = node_id(x)
        meta = f"{_shape(x.data.shape)} {x.data.dtype}"
        name = label_of.get(id(x))
        parents = inputs_as_of(x)  # (an input modified in place later: the version this op used)
        if x._vjps is None:
            kind = "leaf" if x._requires_grad else "constant"
            title = f"{name}: {kind}" if name else kind
            color = "lightblue" if x._requires_grad else "lightgrey"
        else:
            title = x._op if x._op is not None else "op"
            if name:
                title = f"{name} = {title}"
            if parents is None:
                title += " (graph released)"
            color = "darkolivegreen1" if x is t else "white"
        extra = ""
        if x._extra:
            flags = [k for k in ("retain", "hooks") if x._extra.get(k)]
            if flags:
                extra = "\\n[" + ", ".join("retain_grad" if f == "retain" else "hooks" for f in flags) + "]"
        lines.append(f'  {nid} [label="{_esc(title)}\\n{_esc(meta)}{extra}", fillcolor="{color}"];')
        for k, p in enumerate(parents or ()):
            if isinstance(p, Tensor):
                lines.append(f"  {node_id(p)} -> {nid};")
                if id(p) not in seen:
                    stack.append(p)
            elif show_constants and p is not None:
                cid = f"c{const_count}"
                const_count += 1
                if isinstance(p, (np.ndarray, np.generic)):
                    arr = np.asarray(p)
                    clabel = f"constant\\n{_esc(_shape(arr.shape))} {arr.dtype}" if arr.size != 1 else \
                        f"constant {_esc(np.array2string(arr.reshape(()) if arr.ndim else arr, precision=4))}"
                else:
                    clabel = f"constant {_esc(repr(p))[:40]}"
                lines.append(f'  {cid} [label="{clabel}", shape=ellipse, fillcolor="lightgrey", fontsize=9];')
                lines.append(f"  {cid} -> {nid} [style=dashed];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(t, path, names=None, show_constants=True, format=None):
    """Write a picture of ``t``'s graph to ``path`` with Graphviz's ``dot`` (format from the file
    extension: svg, png, pdf...). Raises RuntimeError if Graphviz is not installed."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("render: the Graphviz program 'dot' is not installed (e.g. `apt install graphviz` or "
                           "`conda install graphviz`); npg.viz.to_dot(t) gives the DOT text without it")
    fmt = format or os.path.splitext(str(path))[1].lstrip(".").lower() or "svg"
    text = to_dot(t, names=names, show_constants=show_constants)
    proc = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=text.encode(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"render: dot failed (exit {proc.returncode}) writing {path!r} as {fmt!r}: "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return path
