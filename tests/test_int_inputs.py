"""Integer inputs to nn.functional and npgrad.special: a function either refuses them with a clear error (as
PyTorch's kernels raise "not implemented for 'Long'") or computes the same values as on the float input, never
values truncated to the integer dtype (gelu of [1, 2, -3] once gave [0, 0, 0], mse_loss a truncated mean)."""
import warnings

import numpy as np
import pytest
import torch

import npgrad as npg

XI = np.array([[1, 2, -3], [0, 4, -1]])
TI = np.array([[1, 0, 1], [0, 1, 1]])


def _public(mod):
    return sorted(n for n in dir(mod) if not n.startswith("_") and callable(getattr(mod, n)) and
                  not isinstance(getattr(mod, n), type))


def _as_float_array(r):
    return np.asarray(r.data if hasattr(r, "data") else r, dtype=float)


@pytest.mark.parametrize("mod, name", [(npg.nn.functional, n) for n in _public(npg.nn.functional)] +
                         [(npg.special, n) for n in _public(npg.special)])
def test_integer_input_refused_or_exact(mod, name):
    f = getattr(mod, name)
    for args in [(XI,), (XI, TI)]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                r = f(*[npg.tensor(a) for a in args])
            except Exception:  # (refused, or not a function of these arguments)
                continue
            dt = getattr(r, "dtype", None)
            if not isinstance(dt, np.dtype) or dt.kind not in "iub":
                continue
            try:
                rf = f(*[npg.tensor(a.astype(float)) for a in args])
            except Exception:
                continue
        if name.startswith(("dropout", "alpha_dropout", "feature_alpha", "rrelu", "gumbel")):
            continue  # (random: their values differ from call to call)
        np.testing.assert_array_equal(_as_float_array(r), _as_float_array(rf),
                                      err_msg=f"{name} of integers is not its value on the same floats")


@pytest.mark.parametrize("name, args", [
    ("gelu", (XI,)), ("softplus", (XI,)), ("mse_loss", (XI, TI)), ("binary_cross_entropy_with_logits", (XI, TI)),
    ("binary_cross_entropy_with_logits", (XI, TI.astype(float)))])
def test_integer_input_raises_as_torch(name, args):
    with pytest.raises((NotImplementedError, RuntimeError)):
        getattr(torch.nn.functional, name)(*[torch.tensor(a) for a in args])
    with pytest.raises(TypeError, match=f"{name}: expected a floating point"):
        getattr(npg.nn.functional, name)(*[npg.tensor(a) for a in args])


def test_mixed_integer_and_float_operands_promote_as_torch():
    """An integer input with a float target (or the reverse) is computed in the float dtype, as torch."""
    for a, b in [(XI, TI.astype(np.float64)), (XI.astype(np.float64), TI)]:
        got = npg.nn.functional.mse_loss(npg.tensor(a), npg.tensor(b))
        want = torch.nn.functional.mse_loss(torch.tensor(a), torch.tensor(b))
        np.testing.assert_allclose(got.data, want.numpy())
