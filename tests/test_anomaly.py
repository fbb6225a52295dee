"""npg.autograd.detect_anomaly: NaN/inf in forward or backward raises, naming the op and the user's
line that created it; nothing is patched outside the mode."""
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad.autograd import AnomalyError, detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from npgrad.ops import elementwise

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_forward_nan_names_the_op_and_the_user_line():
    x = npg.tensor([1.0, -1.0, 2.0])
    with detect_anomaly():
        with pytest.raises(AnomalyError) as e:
            npg.log(x)  # MARK-forward
    msg = str(e.value)
    assert "op 'log' produced nan" in msg and "from finite inputs" in msg
    assert "test_anomaly.py" in msg and "MARK-forward" in msg
    assert "npgrad/ops" not in msg    # only the user's frames


def test_forward_inf_from_division_and_non_finite_inputs_pass_through():
    x = npg.tensor([1.0, 0.0])
    with detect_anomaly():
        with pytest.raises(AnomalyError, match="op 'div' produced inf"):
            1.0 / x
        masked = npg.where(np.array([True, False]), x, -np.inf)   # -inf from a constant input: allowed
        z = npg.exp(masked)       # input already non-finite: not this op's fault
        assert np.isinf(masked.data).any() and z.requires_grad


def test_backward_nan_names_the_op_and_where_it_was_created():
    x = npg.tensor([0.0, 4.0])
    with detect_anomaly():
        y = npg.sqrt(x)  # MARK-backward
        with pytest.raises(AnomalyError) as e:
            npg.sum(y).backward()
    msg = str(e.value)
    assert "backward of op 'sqrt' returned inf" in msg and "input 0" in msg
    assert "MARK-backward" in msg


def test_backward_check_for_ops_recorded_outside_the_mode():
    x = npg.tensor([-1.0, 1.0])
    y = npg.sum(npg.sqrt(npg.abs(x) - 1))   # sqrt(0): gradient inf (relu would zero it, as PyTorch's)
    with detect_anomaly():
        with pytest.raises(AnomalyError, match="(?s)'sqrt'.*no creation stack"):
            y.backward(retain_graph=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y.backward()                     # outside the mode: no check, and the node's VJPs are its own again
    assert np.isinf(x.grad).any() or np.isnan(x.grad).any()


def test_backward_exception_gets_the_creation_note():
    class Boom(npg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom")
    x = npg.tensor([1.0])
    with detect_anomaly():
        y = Boom.apply(x)  # MARK-note
        with pytest.raises(ValueError, match="boom") as e:
            y.backward()
    notes = "".join(getattr(e.value, "__notes__", []))
    assert "Boom" in notes and "MARK-note" in notes


def test_clean_computation_unaffected_and_create_graph_works():
    x = npg.tensor([0.5, 1.5])
    with detect_anomaly():
        y = npg.sum(npg.tanh(x) ** 2)
        g, = npg.autograd.grad(y, x, create_graph=True)
        h, = npg.autograd.grad(npg.sum(g), x)
    t = np.tanh(x.data)
    np.testing.assert_allclose(g.data, 2 * t * (1 - t * t))
    np.testing.assert_allclose(h.data, 2 * (1 - t * t) * (1 - 3 * t * t))


def test_mode_is_undone_on_exit_and_nests():
    import sys
    original = sys.modules["npgrad.tensor"]._record
    assert not is_anomaly_enabled()
    with detect_anomaly():
        assert is_anomaly_enabled()
        assert elementwise._record is not original
        with detect_anomaly(check_forward=False):
            npg.log(npg.tensor([-1.0]))   # forward check off inside
        assert is_anomaly_enabled()
        with pytest.raises(AnomalyError):
            npg.log(npg.tensor([-1.0]))   # back on
    assert not is_anomaly_enabled()
    assert elementwise._record is original and sys.modules["npgrad.tensor"]._record is original
    npg.log(npg.tensor([-1.0]))           # no error outside


def test_set_detect_anomaly_and_decorator():
    set_detect_anomaly(True)
    try:
        assert is_anomaly_enabled()
        with pytest.raises(AnomalyError):
            npg.log(npg.tensor([-2.0]))
    finally:
        set_detect_anomaly(False)
    assert not is_anomaly_enabled()

    @detect_anomaly()
    def f(x):
        return npg.log(x)
    with pytest.raises(AnomalyError):
        f(npg.tensor([-1.0]))
    assert not is_anomaly_enabled()


# ---------------------------------------------------------------- where a non-finite gradient came from
def _backward_error(loss, *inputs):
    with pytest.raises(AnomalyError) as e:
        if inputs:
            npg.autograd.grad(loss, inputs)
        else:
            loss.backward()
    return str(e.value)


def test_inf_weight_is_blamed_not_the_backward_of_the_op_using_it():
    w = npg.tensor([np.inf, 1.0])                      # a parameter that already holds inf
    x = npg.tensor([1.0, 2.0])
    assert np.isinf(w.data).any() and np.isfinite(x.data).all()
    with detect_anomaly():
        msg = _backward_error(npg.sum(w * x))
    assert "backward of op 'mul' returned inf" in msg and "input 1" in msg
    assert "input 0 already held inf values in forward" in msg
    assert "leaf tensor of shape (2,) (float64)" in msg
    assert "this op's backward produced them" not in msg   # (it said so before)


def test_origin_is_traced_back_through_intermediates():
    w = npg.tensor([[1.0, -np.inf], [2.0, 3.0]])
    x = npg.tensor([0.5, 1.5])
    with detect_anomaly():
        h = npg.tanh(w * 2.0) + w                       # inf passes through two ops
        msg = _backward_error(npg.sum(h @ x))
    assert "already held inf values in forward" in msg
    assert "leaf tensor of shape (2, 2) (float64)" in msg


def test_origin_is_the_op_that_made_them_when_forward_was_not_checked():
    x = npg.tensor([-1.0, 1.0])
    z = npg.tensor([2.0, 3.0])
    with detect_anomaly(check_forward=False):
        bad = npg.log(x)  # MARK-origin-log
        msg = _backward_error(npg.sum(bad * z))
    assert "backward of op 'mul' returned nan" in msg and "input 0 already held nan" in msg
    assert "op 'log' produced them from finite inputs" in msg and "MARK-origin-log" in msg


def test_origin_is_a_constant_argument():
    x = npg.tensor([1.0, 2.0])
    with detect_anomaly():
        msg = _backward_error(npg.sum(x * np.array([np.inf, 1.0])))
    assert "input 1 already held inf" in msg and "a constant (an argument that is not a Tensor)" in msg


def test_backward_produced_values_are_still_blamed_on_the_backward():
    x = npg.tensor([0.0, 4.0])
    with detect_anomaly():
        msg = _backward_error(npg.sum(npg.sqrt(x)))
    assert "its incoming gradient and its inputs were finite, so this op's backward produced them" in msg


def test_create_graph_names_the_user_line_that_created_the_op():
    """An op recorded by a create_graph backward pass is described by the op it differentiates, and the
    message shows where the user created that op, not the line calling grad()."""
    x = npg.tensor([0.0, 4.0])
    with detect_anomaly():
        y = npg.sum(x ** 1.5)  # MARK-user-pow
        g, = npg.autograd.grad(y, x, create_graph=True)  # MARK-grad-call
        assert np.isfinite(g.data).all()                 # d/dx x^1.5 = 1.5 sqrt(x): finite at 0
        msg = _backward_error(npg.sum(g), x)             # d2/dx2 = 0.75 / sqrt(x): inf at 0
    assert "recorded by the backward of op 'pow'" in msg
    assert "MARK-user-pow" in msg and "MARK-grad-call" not in msg


def test_check_nan_false_turns_the_nan_checks_off_but_keeps_the_creation_stack():
    import torch
    x = npg.tensor([0.0, 1.0], requires_grad=True)
    xt = torch.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly(check_nan=False), torch.autograd.detect_anomaly(check_nan=False):
        npg.sum(npg.sqrt(x) * 0.0).backward()           # 0 * inf: NaN gradient, unchecked as in torch
        (xt.sqrt() * 0.0).sum().backward()
    assert np.isnan(x.grad[0]) and torch.isnan(xt.grad[0])
    with set_detect_anomaly(True, check_nan=False):
        y = npg.log(x)                                  # -inf in forward: not checked either
    assert np.isneginf(y.data[0])
    with detect_anomaly():                              # and the checks are back
        with pytest.raises(AnomalyError):
            npg.log(x)


def test_check_nan_flag_follows_torch_when_anomaly_mode_is_already_on():
    import torch
    for mod, query in ((npg.autograd, npg.autograd), (torch.autograd, torch)):   # (torch's queries: top level)
        with mod.detect_anomaly():
            assert query.is_anomaly_enabled() and query.is_anomaly_check_nan_enabled()
            with mod.set_detect_anomaly(True, check_nan=False):
                assert query.is_anomaly_enabled() and not query.is_anomaly_check_nan_enabled()
            assert query.is_anomaly_check_nan_enabled()
        assert not query.is_anomaly_enabled()
