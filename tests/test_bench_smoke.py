"""Smoke test of the benchmark suite (bench/): every workload at tiny sizes, one repeat.

Checks that each backend that is installed (and can express the workload) computes the same loss
and gradients as the hand-written NumPy reference; the timings are not looked at.
"""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._harness import BACKENDS, Disagree, compare, run_workload, table  # noqa: E402
from bench.workloads import WORKLOADS  # noqa: E402


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workload_backends_agree(name):
    wl = WORKLOADS[name]
    messages = []
    rows = run_workload(wl, "tiny", list(BACKENDS), repeats=1, warmup=0, log=messages.append)
    failed = [f"{r.backend}: {r.note}" for r in rows if r.status == "FAIL"]
    assert not failed, failed
    ran = [r.backend for r in rows if r.status == "ok"]
    if wl.kind == "step":
        assert wl.reference in ran  # the reference always runs (the hand-written NumPy unless the workload names another)
        assert "npgrad" in ran
        for r in rows:
            if r.status == "ok":
                assert len(r.times) == 1 and r.times[0] > 0
    text = table({name: rows}, {name: wl.unit})
    assert name in text


def test_table_marks_targets():
    """The table prints npgrad's target beside its ratio, with PASS or MISS."""
    from bench._harness import Row
    rows = [Row("w", "npgrad", times=[2.0]), Row("w", "numpy", times=[2.0]), Row("w", "torch", times=[1.0])]
    targets = [("npgrad", "torch", 1.0, "npgrad <= 1x torch"), ("npgrad", "numpy", 1.05, "npgrad <= 1.05x numpy")]
    text = table({"w": rows}, {"w": "ms"}, {"w": targets})
    line = next(x for x in text.splitlines() if "| npgrad |" in x)
    assert "1.00x (target <= 1.05x: PASS)" in line and "2.00x (target <= 1.00x: MISS)" in line


def test_reference_matches_finite_differences():
    """The hand-written NumPy mlp64 gradient against a central difference (the reference itself is checked)."""
    wl = WORKLOADS["mlp64"]
    inp = wl.make("tiny", np.random.default_rng(1))
    step = wl.backends["numpy"](inp).step
    _, grads = step()
    rng = np.random.default_rng(2)
    for i, p in enumerate(inp["params"]):
        u = rng.standard_normal(p.shape)
        eps = 1e-6
        orig = p.copy()
        p[...] = orig + eps * u
        lp = step()[0]
        p[...] = orig - eps * u
        lm = step()[0]
        p[...] = orig
        np.testing.assert_allclose((lp - lm) / (2 * eps), np.sum(grads[i] * u), rtol=1e-6, atol=1e-9)


def test_compare_flags_a_wrong_gradient():
    ref = (1.0, [np.ones(3, np.float32)])
    compare((1.0, [np.ones(3, np.float32)]), ref, np.float32, "same")
    with pytest.raises(Disagree):
        compare((1.0, [np.array([1, 1, 1.01], np.float32)]), ref, np.float32, "off")
    with pytest.raises(Disagree):
        compare((1.0, [np.ones(3, np.float64)]), ref, np.float32, "dtype")
    with pytest.raises(Disagree):
        compare((1.1, [np.ones(3, np.float32)]), ref, np.float32, "loss")


def test_run_cli_quick_subset(capsys):
    from bench import run
    assert run.main(["--only", "overhead", "--repeats", "1", "--warmup", "0", "--no-memory",
                     "--backends", "numpy,npgrad"]) == 0
    out = capsys.readouterr().out
    assert "machine" in out and "| overhead | numpy |" in out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bench/graph_memory.py reads glibc's mallinfo2")
def test_graph_memory_script_runs():
    """bench/graph_memory.py at a tiny size: every installed backend reports a positive size per op."""
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "graph_memory.py"), "--ops", "3000"],
                         capture_output=True, text=True, check=True).stdout
    rows = {line.split("|")[1].strip(): float(line.split("|")[2]) for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| backend")}
    assert {"npgrad", "numpy"} <= set(rows), out
    assert all(v > 0 for v in rows.values()), out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bench/engine_floor.py reads glibc's mallinfo2")
def test_engine_floor_script_runs():
    """bench/engine_floor.py at a tiny size: the two minimal engines pass its gradient check against the
    hand-written NumPy (it raises otherwise) and the split one holds less per op than the tensor-as-node one."""
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "engine_floor.py"), "--ops", "31", "--rounds",
                          "2", "--mem-ops", "3000"], capture_output=True, text=True, check=True).stdout
    rows = {line.split("|")[1].strip(): [float(line.split("|")[i]) for i in (2, 5)] for line in out.splitlines()
            if line.startswith("| ") and not line.startswith("| backend")}
    assert {"numpy", "floor-node", "floor-split", "npgrad", "torch"} <= set(rows), out
    assert all(us > 0 and b > 0 for us, b in rows.values()), out
    assert rows["floor-split"][1] < rows["floor-node"][1], out


def test_op_overhead_script_checks_and_times_every_op(capsys):
    """bench/op_overhead.py: every op's value and gradient pass its check against PyTorch, and each gets a row."""
    from bench import op_overhead
    assert op_overhead.main(["--number", "3", "--repeats", "1"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 19, rows
    assert all(float(cell) > 0 for row in rows[1:] for cell in row.split("|")[2:5]), rows


def test_gemm_bound_script_runs(capsys):
    """bench/gemm_bound.py: one repeat of the mlp GEMMs, a row with both libraries' times."""
    from bench import gemm_bound
    assert gemm_bound.main(["--only", "mlp", "--repeats", "1"]) == 0
    row = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| mlp |"))
    assert row.count("ms") == 2 and row.endswith("x |")
    assert len(gemm_bound.shapes("resnet")) == 3 * 15 - 1 + 3   # 15 convs (the stem has no dx) and a linear


def test_alone_script_runs_each_backend_in_its_own_process(capsys):
    """bench/alone.py: one process per backend, npgrad's with freed memory kept mapped, the others with
    glibc's defaults; a table row per workload with both ratios."""
    from bench import alone
    r = alone.run_one("mlp", "torch", 2, 1, "tiny")
    assert r["backend"] == "torch" and r["seconds"] > 0 and not r["npgrad_imported"]
    alone.main(["--only", "mlp", "--size", "tiny", "--rounds", "1", "--steps", "2", "--threads", "1"])
    row = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| mlp |")]
    assert len(row) == 1 and row[0].count("x |") == 2


def test_torch_scaling_script_runs_ddp_over_gloo(capsys):
    """bench/scaling_torch.py: PyTorch's DDP on the mlp at 1 and 2 processes (gloo) and 2 without communication,
    each configuration's throughput the processes' samples over the slowest one's step."""
    from bench import scaling_torch
    best = scaling_torch.main(["--rounds", "1", "--steps", "2", "--warmup", "1"])
    assert set(best) == {(1, False), (2, False), (2, True)}
    for (procs, _), r in best.items():
        assert r["procs"] == procs and r["step_ms"] > 0
        assert abs(r["samples_per_s"] - procs * scaling_torch.BATCH / (r["step_ms"] / 1e3)) < 1e-6 * r["samples_per_s"]
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| ") and ln.endswith("x |")]
    assert len(rows) == 3
