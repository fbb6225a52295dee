"""``RNN``, ``LSTM``, ``GRU`` and ``RNNCell``, ``LSTMCell``, ``GRUCell``, as ``torch.nn``: same arguments,
parameter names, shapes and init, so a PyTorch ``state_dict`` loads as is (and back).

A layer runs as one GEMM for the input projection of all time steps, then one fused op per time step
(``npgrad/nn/functional/recurrent.py``), then one op gathering the outputs. Input may be padded
(``(T, B, I)``, ``(B, T, I)`` with ``batch_first``), unbatched ``(T, I)``, or a ``PackedSequence``.
"""
import math
import numbers
import warnings

import numpy as np

from ...ops._util import as_input
from ...tensor import Tensor, _wrap
from ...autograd.forward_ad import _tensor_mod  # the npgrad.tensor module (its _FW: a dual level is active)
from .. import functional as F
from .. import init
from ..functional import recurrent as R
from ..module import Module
from ..utils.rnn import PackedSequence
from ._util import check_device, new_param

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, checks, and the layer loop."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability of "
                             f"an element being zeroed, got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                          UserWarning, stacklevel=3)
        for what, v in (("bias", bias), ("batch_first", batch_first)):
            if not isinstance(v, bool):
                raise TypeError(f"{name}: {what} should be of type bool, got: {type(v).__name__}")
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{name}: {what} should be of type int, got: {type(v).__name__}")
            if v <= 0:
                raise ValueError(f"{name}: {what} must be greater than zero, got {v}")
        if not isinstance(proj_size, int) or isinstance(proj_size, bool):
            raise TypeError(f"{name}: proj_size should be of type int, got: {type(proj_size).__name__}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size ({proj_size} >= {hidden_size})")
        check_device(device, name)
        self.mode, self._name = mode, name
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        D = 2 if bidirectional else 1
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(num_layers):
            for direction in range(D):
                layer_input = input_size if layer == 0 else real_hidden * D
                params = [new_param(gate_size, layer_input, dtype=dtype), new_param(gate_size, real_hidden, dtype=dtype)]
                names = ["weight_ih_l{}{}", "weight_hh_l{}{}"]
                if bias:
                    params += [new_param(gate_size, dtype=dtype), new_param(gate_size, dtype=dtype)]
                    names += ["bias_ih_l{}{}", "bias_hh_l{}{}"]
                if proj_size > 0:
                    params.append(new_param(proj_size, hidden_size, dtype=dtype))
                    names.append("weight_hr_l{}{}")
                suffix = "_reverse" if direction == 1 else ""
                names = [n.format(layer, suffix) for n in names]
                for n, p in zip(names, params):
                    setattr(self, n, p)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    @property
    def _flat_weights(self):
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self):
        """The parameters per layer and direction, as lists (PyTorch's ``all_weights``)."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self):
        """A no-op (PyTorch compacts cuDNN weights here)."""

    def _weights(self, k):
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of layer-direction ``k``, None where absent."""
        got = dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"), [None] * 5))
        for n in self._all_weights[k]:
            got[n.split("_l")[0]] = getattr(self, n)
        return got["weight_ih"], got["weight_hh"], got["bias_ih"], got["bias_hh"], got["weight_hr"]

    # ------------------------------------------------------------------ forward
    def forward(self, input, hx=None):
        """Run the layers over ``input``; returns ``(output, h_n)`` (``(output, (h_n, c_n))`` for an LSTM).

        ``output`` holds the last layer's ``h`` at every step (both directions side by side), in the input's
        layout (a PackedSequence for a packed input); ``h_n`` (and ``c_n``) the final state of every layer
        and direction, ``(num_layers * num_directions, B, ·)``."""
        if _tensor_mod._VMAP and not isinstance(input, PackedSequence):  # the step equations, batched
            from ..._vmap_rnn import rnn_forward
            r = rnn_forward(self, input, hx)
            if r is not None:
                return r
        name = self._name
        H = self.hidden_size
        P = self.proj_size or H
        LD = self.num_layers * (2 if self.bidirectional else 1)
        w0 = self._flat_weights[0]
        packed = isinstance(input, PackedSequence)
        if packed:
            x2d, bsz_t, sorted_idx, unsorted_idx = input
            x2d = as_input(x2d, name)
            bsz = np.asarray(bsz_t.data if isinstance(bsz_t, Tensor) else bsz_t, np.int64)
            if x2d.ndim != 2:
                raise ValueError(f"{name}: a packed input's data must be 2-D (sum of lengths, {self.input_size}), "
                                 f"got shape {x2d.shape}")
            T, B, unbatched = bsz.size, int(bsz[0]) if bsz.size else 0, False
            offsets = np.concatenate([[0], np.cumsum(bsz)[:-1]]).astype(np.int64)

            def rows(t):
                return slice(int(offsets[t]), int(offsets[t] + bsz[t]))
        else:
            x = as_input(input, name)
            if x.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead (shape {x.shape})")
            unbatched = x.ndim == 2
            if unbatched:
                x = x.reshape(x.shape[0], 1, x.shape[1])
            first = self.batch_first and not unbatched
            B, T = (x.shape[0], x.shape[1]) if first else (x.shape[1], x.shape[0])
            if T == 0:
                raise ValueError(f"{name}: Expected sequence length to be larger than 0 in RNN (input of shape "
                                 f"{tuple(input.shape)})")
            x2d = x.reshape(B * T, x.shape[2])
            bsz = np.full(T, B, np.int64)

            def rows(t):
                return slice(t, B * T, T) if first else slice(t * B, (t + 1) * B)
        if x2d.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                             f"{x2d.shape[-1]} (input of shape {tuple(x2d.shape if packed else input.shape)})")
        if x2d.dtype != w0.dtype:
            raise TypeError(f"{name}: input dtype ({x2d.dtype}) does not match weight dtype ({w0.dtype}): convert "
                            f"the input with .astype({w0.dtype}) or the model with .to({x2d.dtype})")
        h0, c0 = self._initial(hx, LD, B, P, H, unbatched, sorted_idx if packed else None)
        out, h_n, c_n = self._run(x2d, bsz, rows, h0, c0, B, P, H)
        if packed:
            output = PackedSequence(out, bsz_t, sorted_idx, unsorted_idx)
            if unsorted_idx is not None:
                perm = np.asarray(getattr(unsorted_idx, "data", unsorted_idx), np.int64)
                h_n = h_n[:, perm]
                c_n = None if c_n is None else c_n[:, perm]
        else:
            D = 2 if self.bidirectional else 1
            output = out.reshape((B, T, D * P) if self.batch_first and not unbatched else (T, B, D * P))
            if unbatched:
                output = output.reshape(T, D * P)
                h_n = h_n.reshape(LD, P)
                c_n = None if c_n is None else c_n.reshape(LD, H)
        return (output, (h_n, c_n)) if self.mode == "LSTM" else (output, h_n)

    def _initial(self, hx, LD, B, P, H, unbatched, sorted_idx):
        """The initial ``h`` (and ``c``) as (LD, B, ·) Tensors or None, checked against PyTorch's shapes."""
        name = self._name
        if hx is None:
            return None, None
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            pairs = [("h_0", hx[0], P), ("c_0", hx[1], H)]
        else:
            if isinstance(hx, (tuple, list)):
                raise TypeError(f"{name}: hx must be a Tensor (h_0), not a {type(hx).__name__}")
            pairs = [("h_0", hx, P)]
        out = []
        for what, h, width in pairs:
            h = as_input(h, name)
            if unbatched and h.ndim != 2:
                raise ValueError(f"{name}: for unbatched 2-D input, {what} should also be 2-D but got {h.ndim}-D "
                                 f"(shape {h.shape})")
            if not unbatched and h.ndim != 3:
                raise ValueError(f"{name}: for batched 3-D input, {what} should also be 3-D but got {h.ndim}-D "
                                 f"(shape {h.shape})")
            want = (LD, width) if unbatched else (LD, B, width)
            if h.shape != want:
                raise ValueError(f"{name}: Expected {what} of size {want}, got {h.shape}")
            if h.dtype != self._flat_weights[0].dtype:
                raise TypeError(f"{name}: {what} is {h.dtype} but the weights are {self._flat_weights[0].dtype}")
            if unbatched:
                h = h.reshape(LD, 1, width)
            if sorted_idx is not None:
                h = h[:, np.asarray(getattr(sorted_idx, "data", sorted_idx), np.int64)]
            out.append(h)
        return out[0], (out[1] if len(out) > 1 else None)

    def _init_state(self, k, h0, c0, B, P, H, dtype):
        """The state tensor a direction starts from: [h, c] side by side for an LSTM, h otherwise."""
        lstm = self.mode == "LSTM"
        S = P + H if lstm else H
        if h0 is None:
            return _wrap(np.zeros((B, S), dtype))
        all_rows = slice(None)
        if not lstm:
            return R.rnn_gather([h0], [(0, (all_rows,), (k,))], (B, S), full=True)
        return R.rnn_gather([h0, c0], [(0, (all_rows, slice(0, P)), (k,)), (1, (all_rows, slice(P, None)), (k,))],
                            (B, S), full=True)

    def _run(self, x2d, bsz, rows, h0, c0, B, P, H):
        """The layer loop. Returns (output rows (N, D * P), h_n, c_n or None)."""
        mode, D, T = self.mode, 2 if self.bidirectional else 1, bsz.size
        lstm = mode == "LSTM"
        S = P + H if lstm else H
        dtype = x2d.dtype
        ends = np.append(bsz[1:], 0)          # sequences that end at step t: rows ends[t]:bsz[t]
        layer_in = x2d
        finals = []                            # (k, state tensor, row slice) of every final state
        for layer in range(self.num_layers):
            states, places = [], []
            for d in range(D):
                k = layer * D + d
                w_ih, w_hh, b_ih, b_hh, w_hr = self._weights(k)
                started, pre_of = [], None  # (state, rows, n) per step: rnn_input takes w_hh's gradient in one GEMM
                # (not a GRU's: its recurrent pre-activations' gradient differs from the input's; nor while a
                # dual level is active: the steps need w_hh as a parent to see its tangent)
                hoist = mode != "GRU" and not _tensor_mod._FW
                if mode == "GRU":
                    gx = R.rnn_input(layer_in, w_ih, b_ih)
                elif not hoist:
                    gx = R.rnn_input(layer_in, w_ih, b_ih, b_hh)
                else:
                    gx = R.rnn_input(layer_in, w_ih, b_ih, b_hh, w_hh, R.step_inputs(started, x2d.shape[0], P, dtype))
                    pre_of = R.projection(layer_in, w_ih, b_ih, b_hh)
                init_state = self._init_state(k, h0, c0, B, P, H, dtype)
                prev = init_state
                w_t = np.ascontiguousarray(w_hh.data.T)   # once per sequence (see the note above lstm_step)
                for t in (range(T) if d == 0 else range(T - 1, -1, -1)):
                    n, n_prev = int(bsz[t]), prev.shape[0]
                    if n > n_prev:  # reversed packed batch: sequences start here, from their initial state
                        prev = R.rnn_gather([prev, init_state], [(0, (slice(0, n_prev),), None),
                                                                (1, (slice(n_prev, n),), (slice(n_prev, n),))],
                                            (n, S), full=True)
                    key = (rows(t),)
                    started.append((prev, key[0], n))
                    if lstm:
                        prev = R.lstm_step(gx, key, prev, w_hh, w_hr, hoisted=hoist, pre_of=pre_of, w_t=w_t)
                    elif mode == "GRU":
                        prev = R.gru_step(gx, key, prev, w_hh, b_hh, w_t=w_t)
                    else:
                        prev = R.rnn_step(gx, key, prev, w_hh, "relu" if mode == "RNN_RELU" else "tanh", hoisted=hoist,
                                          pre_of=pre_of, w_t=w_t)
                    places.append((len(states), (rows(t), slice(d * P, (d + 1) * P)),
                                   (slice(None), slice(0, P)) if lstm else None))
                    states.append(prev)
                    if d == 0 and ends[t] < n:
                        finals.append((k, prev, slice(int(ends[t]), n)))
                if d == 1:
                    finals.append((k, prev, slice(0, B)))
            layer_in = R.rnn_gather(states, places, (x2d.shape[0], D * P), full=True)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout)
        LD = self.num_layers * D

        def collect(cols, width):
            parents = [s for _, s, _ in finals]
            places = [(i, (k, r), (r, cols)) for i, (k, _, r) in enumerate(finals)]
            return R.rnn_gather(parents, places, (LD, B, width), full=True)
        if T == 0 or B == 0:
            finals = []
            h_n = _wrap(np.zeros((LD, B, P), dtype))
            c_n = _wrap(np.zeros((LD, B, H), dtype)) if lstm else None
            return layer_in, h_n, c_n
        return layer_in, collect(slice(0, P), P), (collect(slice(P, None), H) if lstm else None)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` with ``nonlinearity`` 'tanh' or
    'relu'. ``RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False,
    dropout=0.0, bidirectional=False)``; ``forward(input, h_0=None) -> (output, h_n)``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.__dict__["nonlinearity"] = args[3]
            args = args[:3] + args[4:]
        else:
            self.__dict__["nonlinearity"] = kwargs.pop("nonlinearity", "tanh")
        modes = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}
        if self.nonlinearity not in modes:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(modes[self.nonlinearity], *args, **kwargs)


class LSTM(RNNBase):
    """LSTM (gates i, f, g, o in PyTorch's order and layout), optionally with a projection of ``h`` to
    ``proj_size`` (``weight_hr_l{k}``). ``forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))``."""

    def __init__(self, *args, **kwargs):
        super().__init__("LSTM", *args, **kwargs)


class GRU(RNNBase):
    """GRU (gates r, z, n in PyTorch's order; ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``).
    ``forward(input, h_0=None) -> (output, h_n)``."""

    def __init__(self, *args, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)


# ---------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh``, all
    from U(-1/sqrt(H), 1/sqrt(H))."""

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        name = type(self).__name__
        for what, v in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {what} must be a positive int, got {v!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = new_param(num_chunks * hidden_size, input_size, dtype=dtype)
        self.weight_hh = new_param(num_chunks * hidden_size, hidden_size, dtype=dtype)
        if bias:
            self.bias_ih = new_param(num_chunks * hidden_size, dtype=dtype)
            self.bias_hh = new_param(num_chunks * hidden_size, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for w in self.parameters():
            init.uniform_(w, -stdv, stdv)

    def _check(self, input, hx):
        name = type(self).__name__
        x = as_input(input, name)
        if x.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead (shape {x.shape})")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input has inconsistent input_size: got {x.shape[-1]} expected "
                             f"{self.input_size} (input of shape {x.shape})")
        pair = isinstance(hx, (tuple, list))
        if isinstance(self, LSTMCell) and hx is not None and (not pair or len(hx) != 2):
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of two Tensors, got "
                            f"{type(hx).__name__}{f' of length {len(hx)}' if pair else ''}")
        if not isinstance(self, LSTMCell) and pair:
            raise TypeError(f"{name}: hx must be a Tensor (h_0) or None, not a {type(hx).__name__}")
        for h in (hx if pair else (hx,)):
            if h is not None and as_input(h, name).ndim != x.ndim:
                raise ValueError(f"{name}: {x.ndim}-D input needs a {x.ndim}-D hidden state, got shape "
                                 f"{as_input(h, name).shape}")
            if h is not None and as_input(h, name).shape[-1] != self.hidden_size:
                raise ValueError(f"{name}: hidden state of shape {as_input(h, name).shape} does not match "
                                 f"hidden_size {self.hidden_size}")
        return x

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``; ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.__dict__["nonlinearity"] = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input, hx=None):
        x = self._check(input, hx)
        f = R.rnn_tanh_cell if self.nonlinearity == "tanh" else R.rnn_relu_cell
        return f(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``forward(input, (h, c)=None) -> (h', c')``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input, hx=None):
        x = self._check(input, hx)
        return R.lstm_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)


class GRUCell(RNNCellBase):
    """One GRU step; ``forward(input, hx=None) -> h'``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input, hx=None):
        x = self._check(input, hx)
        return R.gru_cell(x, hx, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
