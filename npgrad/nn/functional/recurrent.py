"""Recurrent cells as fused ops, and the pieces ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` are built from.

A recurrent layer is a handful of ops, whatever its length:

* ``rnn_input``: the input projection ``x @ W_ih^T + b`` of every time step at once, one GEMM;
* one step op per time step (``lstm_step``, ``gru_step``, ``rnn_step``): the recurrent GEMM, the gate
  nonlinearities and the state update in NumPy, with a hand-written VJP per input. A step reads its rows of
  the projection (a basic index ``key``) and passes their gradient back as a ``Scatter``, so backward adds
  it into one buffer instead of allocating the whole projection per step;
* ``rnn_gather``: copies blocks of the step outputs into the layer output (or ``h_n``), in one op.

An LSTM step's state is one array holding ``h`` and ``c`` side by side, ``(batch, P + H)`` (``P`` is
``proj_size`` or ``H``): a step has one output and the next step one input for both. A step may be given more
state rows than it has input rows (a packed batch shrinking): it uses the first ones.

Each VJP has two paths, as the other fused ops: the plain backward uses the gates the forward kept; with
``create_graph=True`` it gets Tensors and recomputes them with npgrad ops, so second derivatives work.

``lstm_cell``, ``gru_cell``, ``rnn_tanh_cell`` and ``rnn_relu_cell`` are the single-step functions with the
signatures of ``torch.lstm_cell`` etc.

Layout: ``_recurrent_base.py`` (the input projection, recording a step, ``rnn_gather``),
``_recurrent_steps.py`` (the step ops and their VJPs/JVPs), this module (the cells as functions).
"""
import numpy as np

from ...ops._util import as_input
from ...tensor import _wrap
from ._recurrent_base import projection, rnn_gather, rnn_input, step_inputs
from ._recurrent_steps import gru_step, lstm_step, rnn_step

_tensor_mod = __import__("importlib").import_module("npgrad.tensor")  # the module (its _VMAP flag)

__all__ = ["lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]
# the layers' pieces (npgrad/nn/modules/rnn.py), importable from here as before they were split off
_LAYER_PIECES = (rnn_input, projection, step_inputs, lstm_step, gru_step, rnn_step, rnn_gather)


# ------------------------------------------------------------------------- the cells as functions
def _cell_args(name, input, hx, w_ih, w_hh, gates):
    """Check one step's arguments; returns (input Tensor, hidden size, batch, unbatched)."""
    x = as_input(input, name)
    wi, wh = as_input(w_ih, name), as_input(w_hh, name)
    if wi.ndim != 2 or wh.ndim != 2 or wi.shape[0] % gates or wh.shape[0] != wi.shape[0]:
        raise ValueError(f"{name}: w_ih of shape {wi.shape} and w_hh of shape {wh.shape} do not fit "
                         f"({gates} * hidden_size rows each)")
    if x.ndim not in (1, 2) or x.shape[-1] != wi.shape[1]:
        raise ValueError(f"{name}: input of shape {x.shape} does not fit w_ih of shape {wi.shape} "
                         f"(expected (batch, {wi.shape[1]}) or ({wi.shape[1]},))")
    if x.dtype != wi.dtype:
        raise TypeError(f"{name}: input is {x.dtype} but the weights are {wi.dtype}")
    pair = isinstance(hx, (tuple, list))
    if gates == 4 and hx is not None and (not pair or len(hx) != 2):
        raise TypeError(f"{name}: hx must be a tuple (h, c) of two Tensors, got {type(hx).__name__}"
                        f"{f' of length {len(hx)}' if pair else ''}")
    if gates != 4 and pair:
        raise TypeError(f"{name}: hx must be a Tensor or None, not a {type(hx).__name__}")
    return x, wi.shape[0] // gates, (x.shape[0] if x.ndim == 2 else 1), x.ndim == 1


def _state_of(name, h, batch, width, unbatched, dtype, what="hx"):
    """The initial state tensor ``h`` as (batch, width) (zeros if None), checked."""
    if h is None:
        return _wrap(np.zeros((batch, width), dtype))
    h = as_input(h, name)
    want = (width,) if unbatched else (batch, width)
    if h.shape != want:
        raise ValueError(f"{name}: {what} of shape {h.shape}, expected {want}")
    if h.dtype != dtype:  # (as the layers: PyTorch raises, NumPy would promote the result)
        raise TypeError(f"{name}: {what} is {h.dtype} but the input and weights are {dtype}")
    return h.reshape(1, width) if unbatched else h


def _bias(b, name):
    return None if b is None else as_input(b, name)


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step as ``torch.lstm_cell``: ``hx`` is ``(h, c)``; returns ``(h', c')``."""
    if _tensor_mod._VMAP:  # under vmap: the step equations with batched ops
        from ..._vmap_rnn import cell_forward
        r = cell_forward("LSTM", input, hx, w_ih, w_hh, b_ih, b_hh)
        if r is not None:
            return r
    x, H, B, unb = _cell_args("lstm_cell", input, hx, w_ih, w_hh, 4)
    h0, c0 = (None, None) if hx is None else hx
    h0 = _state_of("lstm_cell", h0, B, H, unb, x.dtype, "h")
    c0 = _state_of("lstm_cell", c0, B, H, unb, x.dtype, "c")
    state = rnn_gather([h0, c0], [(0, (slice(None), slice(0, H)), None), (1, (slice(None), slice(H, None)), None)],
                       (B, 2 * H), full=True)
    gx = rnn_input(x.reshape(B, x.shape[-1]), as_input(w_ih, "lstm_cell"), _bias(b_ih, "lstm_cell"), _bias(b_hh, "lstm_cell"))
    s = lstm_step(gx, slice(None), state, as_input(w_hh, "lstm_cell"))
    h, c = s[:, :H], s[:, H:]
    return (h.reshape(H), c.reshape(H)) if unb else (h, c)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step as ``torch.gru_cell``; returns ``h'``."""
    if _tensor_mod._VMAP:  # under vmap: the step equations with batched ops
        from ..._vmap_rnn import cell_forward
        r = cell_forward("GRU", input, hx, w_ih, w_hh, b_ih, b_hh)
        if r is not None:
            return r
    x, H, B, unb = _cell_args("gru_cell", input, hx, w_ih, w_hh, 3)
    h0 = _state_of("gru_cell", hx, B, H, unb, x.dtype)
    gx = rnn_input(x.reshape(B, x.shape[-1]), as_input(w_ih, "gru_cell"), _bias(b_ih, "gru_cell"))
    h = gru_step(gx, slice(None), h0, as_input(w_hh, "gru_cell"), _bias(b_hh, "gru_cell"))
    return h.reshape(H) if unb else h


def _rnn_cell(name, nonlinearity, input, hx, w_ih, w_hh, b_ih, b_hh):
    if _tensor_mod._VMAP:  # under vmap: the step equations with batched ops
        from ..._vmap_rnn import cell_forward
        r = cell_forward("RNN_" + nonlinearity.upper(), input, hx, w_ih, w_hh, b_ih, b_hh)
        if r is not None:
            return r
    x, H, B, unb = _cell_args(name, input, hx, w_ih, w_hh, 1)
    h0 = _state_of(name, hx, B, H, unb, x.dtype)
    gx = rnn_input(x.reshape(B, x.shape[-1]), as_input(w_ih, name), _bias(b_ih, name), _bias(b_hh, name))
    h = rnn_step(gx, slice(None), h0, as_input(w_hh, name), nonlinearity)
    return h.reshape(H) if unb else h


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with tanh, as ``torch.rnn_tanh_cell``."""
    return _rnn_cell("rnn_tanh_cell", "tanh", input, hx, w_ih, w_hh, b_ih, b_hh)


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One Elman RNN step with ReLU, as ``torch.rnn_relu_cell``."""
    return _rnn_cell("rnn_relu_cell", "relu", input, hx, w_ih, w_hh, b_ih, b_hh)
