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
    y = npg.sum(npg.sqrt(npg.relu(x)))   # sqrt(0): gradient inf
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
