"""Smoke runs of the training examples (a few steps each); the full digits run is marked slow."""
import importlib.util
import io
import os
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

import npgrad as npg

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(autouse=True)
def restore_dtype():
    yield
    npg.set_default_dtype("float64")


def test_train_digits_smoke(tmp_path, capsys):
    digits = load_example("train_digits")
    res = digits.main(["--epochs", "1", "--max-steps", "4", "--no-progress", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "test accuracy" in out and res["steps"] == 4 and 0 <= res["accuracy"] <= 1
    weights, plot = tmp_path / "digits_cnn.npz", tmp_path / "digits_training.png"
    assert weights.exists() and plot.exists() and plot.read_bytes()[:4] == b"\x89PNG"
    model = digits.DigitsCNN(8)
    model.load_state_dict(npg.load(weights))
    model.eval()
    x = np.zeros((2, 1, 8, 8), dtype=np.float32)
    np.testing.assert_allclose(model(npg.tensor(x)).data, res["model"].eval()(npg.tensor(x)).data, rtol=1e-5,
                               atol=1e-7)


def test_train_digits_dp_smoke(capsys):
    dp = load_example("train_digits_dp")
    res = dp.main(["--max-steps", "3"])
    out = capsys.readouterr().out
    assert res["steps"] == 3 and 0 <= res["accuracy"] <= 1 and 0 < res["epsilon"] < np.inf
    assert "privacy: (" in out and "noise multiplier 1.1" in out and "3 steps" in out


def test_dp_accountant_matches_numerical_integration():
    """The closed-form RDP of the subsampled Gaussian against the Renyi divergence integrated numerically:
    E_{z ~ N(0, s^2)} [((1 - q) + q exp((2z - 1) / (2 s^2)))^a]."""
    from scipy import integrate
    dp = load_example("train_digits_dp")
    for q, s, a in ((0.05, 1.1, 3), (0.2, 2.0, 8), (0.01, 0.8, 5)):
        def integrand(z):
            ratio = (1 - q) + q * np.exp((2 * z - 1) / (2 * s * s))
            return np.exp(-z * z / (2 * s * s)) / (s * np.sqrt(2 * np.pi)) * ratio ** a
        A = integrate.quad(integrand, -40 * s, 40 * s, limit=400)[0]
        rdp = np.log(A) / (a - 1)
        eps, order = dp.rdp_epsilon(q, s, 7, 1e-5, orders=(a,))
        assert order == a
        np.testing.assert_allclose(eps, 7 * rdp + np.log(1e5) / (a - 1), rtol=1e-9)


def test_dp_private_gradient_is_the_clipped_sum():
    """Per-sample gradients of the DP model against a loop of ordinary backward passes; without noise and
    with a large bound the private gradient is the summed gradient / L; with a small bound each sample
    contributes at most C."""
    dp = load_example("train_digits_dp")
    npg.random.seed(0)
    model = dp.make_model(8)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 1, 8, 8))
    y = rng.integers(0, 10, 5)
    params = {k: v.detach() for k, v in model.named_parameters()}
    grads = {k: g.data for k, g in dp.per_sample_grads(model, params, npg.tensor(x, requires_grad=False),
                                                          npg.tensor(y)).items()}
    for i in range(5):
        model.zero_grad()
        npg.nn.functional.cross_entropy(model(npg.tensor(x[i:i + 1])), y[i:i + 1]).backward()
        for k, p in model.named_parameters():
            np.testing.assert_allclose(grads[k][i], p.grad.data, rtol=1e-9, atol=1e-12)
    out, norms = dp.private_gradient(grads, 1e9, 0.0, 8, rng)
    for k in grads:
        np.testing.assert_allclose(out[k], grads[k].sum(axis=0) / 8, rtol=1e-12)
    C = 0.5 * norms.min()
    out, _ = dp.private_gradient({k: g[:1] for k, g in grads.items()}, C, 0.0, 1, rng)
    np.testing.assert_allclose(np.sqrt(sum((v ** 2).sum() for v in out.values())), C, rtol=1e-9)


def _write_idx(path, arr):
    code = {np.dtype(np.uint8): 0x08}[arr.dtype]
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.tobytes())


def test_train_digits_reads_mnist_idx_files(tmp_path, capsys):
    rng = np.random.default_rng(0)
    # a tiny fake MNIST: class k is a bright bar in row 2k + 4 of a 28x28 image
    def make(n):
        y = rng.integers(0, 10, n).astype(np.uint8)
        X = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        X[np.arange(n), 2 * y + 4, :] = 255
        return X, y
    Xtr, ytr = make(96)
    Xte, yte = make(40)
    _write_idx(tmp_path / "train-images-idx3-ubyte", Xtr)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", ytr)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", Xte)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", yte)
    digits = load_example("train_digits")
    res = digits.main(["--data", str(tmp_path), "--epochs", "2", "--batch-size", "32", "--no-progress",
                       "--no-save"])
    out = capsys.readouterr().out
    assert "MNIST: 96 training and 40 test images of 28x28" in out
    assert res["steps"] == 6 and 0 <= res["accuracy"] <= 1


def test_train_charlm_smoke(tmp_path, capsys):
    text = tmp_path / "tiny.txt"
    text.write_text("In the beginning was the word, and the word was with the text.\n" * 40, encoding="utf-8")
    charlm = load_example("train_charlm")
    res = charlm.main(["--text", str(text), "--steps", "6", "--eval-every", "3", "--context", "16", "--d-model",
                       "16", "--heads", "2", "--layers", "1", "--batch-size", "4", "--sample-chars", "20",
                       "--no-progress"])
    out = capsys.readouterr().out
    assert "unigram baseline" in out and out.count("--- sample ---") == 2
    assert np.isfinite(res["val_loss"]) and res["baseline"] > 0


def test_train_charlm_lstm_smoke(tmp_path, capsys):
    text = tmp_path / "tiny.txt"
    text.write_text("In the beginning was the word, and the word was with the text.\n" * 40, encoding="utf-8")
    charlm = load_example("train_charlm")
    res = charlm.main(["--model", "lstm", "--text", str(text), "--steps", "4", "--eval-every", "2", "--context", "12",
                       "--d-model", "8", "--hidden", "16", "--batch-size", "4", "--sample-chars", "15",
                       "--no-progress"])
    out = capsys.readouterr().out
    assert "2-layer LSTM" in out and out.count("--- sample ---") == 2
    assert np.isfinite(res["val_loss"]) and res["baseline"] > 0


def test_shipped_text_is_small_and_documented():
    path = os.path.join(EXAMPLES, "data", "kjv.txt")
    assert os.path.getsize(path) < 1_000_000
    doc = open(os.path.join(EXAMPLES, "data", "README.md"), encoding="utf-8").read()
    assert "public domain" in doc
    text = open(path, encoding="utf-8").read()
    documented = re.search(r"(\d+) distinct characters", doc)
    assert documented and int(documented.group(1)) == len(set(text)), "examples/data/README.md's character count"


ALL_EXAMPLES = sorted(f[:-3] for f in os.listdir(EXAMPLES) if f.endswith(".py"))


@pytest.mark.parametrize("name", ALL_EXAMPLES)
def test_every_example_has_help(name):
    """--help prints the usage and exits at once (fit_regression used to ignore it and train)."""
    res = subprocess.run([sys.executable, os.path.join(EXAMPLES, name + ".py"), "--help"], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage:") and "options:" in res.stdout and "--seed" in res.stdout
    assert not re.search(r"^(step|epoch|final|test accuracy)", res.stdout, re.M), res.stdout  # no training


def test_fit_regression_learns_sin():
    res = load_example("fit_regression").main(["--steps", "600", "--print-every", "300"])
    losses = res["losses"]
    assert len(losses) == 601 and losses[-1] < 0.1 * losses[0] and losses[-1] < 0.05


def test_fit_spectrum_recovers_the_modes(tmp_path, capsys):
    """npg.fft and complex autograd in a fit: the refined frequencies beat the periodogram's peaks."""
    res = load_example("fit_spectrum").main(["--steps", "120", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "true  initial   fitted" in out and "plot saved" in out
    losses, true, initial, fitted = res["losses"], res["true"], res["initial"], res["fitted"]
    assert len(losses) == 121 and losses[-1] < 0.5 * losses[0]
    f_err, f_err0 = np.abs(fitted["f"] - true["f"]), np.abs(initial["f"] - true["f"])
    assert np.all(f_err < 0.05) and f_err.sum() < f_err0.sum(), (fitted["f"], initial["f"])
    assert np.all(np.abs(fitted["g"] - true["g"]) < 0.15) and np.all(np.abs(fitted["A"] - true["A"]) < 0.15)
    plot = tmp_path / "fit_spectrum.png"
    assert plot.exists() and plot.read_bytes()[:4] == b"\x89PNG"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_bar_only_on_a_terminal(monkeypatch, capsys, tmp_path, terminal):
    """A log file (stderr not a terminal) gets no tqdm bar, a terminal does."""
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    load_example("train_digits").main(["--epochs", "1", "--max-steps", "3", "--no-save"])
    assert ("epoch 1/1" in err.getvalue()) == terminal, err.getvalue()
    err = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    text = tmp_path / "tiny.txt"
    text.write_text("the word was with the text. " * 40, encoding="utf-8")
    load_example("train_charlm").main(["--text", str(text), "--steps", "2", "--eval-every", "2", "--context", "8",
                                       "--d-model", "8", "--heads", "2", "--layers", "1", "--batch-size", "2",
                                       "--sample-chars", "5"])
    assert ("it/s" in err.getvalue() or "s/it" in err.getvalue()) == terminal, err.getvalue()
    assert "val loss" in capsys.readouterr().out


@pytest.mark.slow
def test_train_digits_full_run_reaches_97_percent_in_a_minute():
    digits = load_example("train_digits")
    res = digits.main(["--no-progress", "--no-save"])
    assert res["accuracy"] >= 0.97
    assert res["seconds"] < 60
