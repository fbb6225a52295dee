"""npgrad.distributed under ``mpiexec -n 2`` (tests/mpi_checks.py, run once for the whole file), and what needs
no MPI: DistributedSampler's partition, the import staying free of mpi4py, errors before init()."""
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import npgrad as npg
from npgrad.data import DataLoader, DistributedSampler, TensorDataset

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mpiexec():
    """The mpiexec next to this Python (a venv's, from the mpich wheel) or on PATH; None if missing."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def _missing_mpi():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed (pip install mpi4py mpich, or the mpi / test extra)"
    if _mpiexec() is None:
        return "no mpiexec found next to the Python interpreter or on PATH (pip install mpich)"
    return None


needs_mpi = pytest.mark.skipif(_missing_mpi() is not None, reason=str(_missing_mpi()))


def run_mpi(args, n=2, timeout=240):
    """``mpiexec -n n python args...`` from the repository root, one BLAS thread per process."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    # a session of its own, so that on a timeout the whole tree (mpiexec, its proxy, the ranks) is killed
    proc = subprocess.Popen([_mpiexec(), "-n", str(n), sys.executable, *args], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"mpiexec timed out after {timeout} s (a hang?):\n{out}\n{err}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def mpi_case_results(module, timeout=240, n=2):
    """Run the checks script ``module`` (e.g. "tests.mpi_checks") under ``mpiexec -n n``; returns the
    ``{case: "ok" or the failure}`` dict rank 0 prints on its ``RESULTS`` line."""
    proc = run_mpi(["-m", module], n=n, timeout=timeout)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert proc.returncode == 0 and lines, f"mpiexec failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[0][len("RESULTS "):])


@pytest.fixture(scope="module")
def mpi_results():
    return mpi_case_results("tests.mpi_checks")


MPI_CASES = ["collectives", "ddp_sgd_plain", "ddp_checkpoint", "ddp_adamw_plain", "ddp_sgd_syncbn", "ddp_adamw_syncbn",
             "no_sync_accumulates", "unused_parameters", "mismatched_models_raise_everywhere",
             "distributed_sampler_defaults", "syncbn_1d_buffers_and_a_given_communicator", "syncbn_jvp"]


@needs_mpi
@pytest.mark.parametrize("case", MPI_CASES)
def test_under_mpiexec(mpi_results, case):
    """Collectives vs NumPy; DDP on 2 x B/2 vs one process on B, every step (SGD, AdamW; digits CNN without
    BatchNorm and with SyncBatchNorm); no_sync; unused parameters; see tests/mpi_checks.py."""
    assert set(mpi_results) == set(MPI_CASES)
    assert mpi_results[case] == "ok", mpi_results[case]


@needs_mpi
def test_main_example_trains_distributed_and_only_rank_0_prints_and_saves(tmp_path):
    proc = run_mpi(["examples/train_digits.py", "--distributed", "--epochs", "2", "--no-progress",
                    "--out-dir", str(tmp_path)], timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert out.count("epoch  2") == 1 and out.count("test accuracy:") == 1, out   # one process prints
    assert "2 processes" in out
    acc = float(out.split("test accuracy:")[1].split("%")[0])
    assert acc > 90, out
    assert sorted(os.listdir(tmp_path)) == ["digits_cnn.npz", "digits_training.png"]
    state = npg.load(tmp_path / "digits_cnn.npz")
    assert "features.0.weight" in state                    # the bare model's keys, not DDP's "module."


def test_import_npgrad_does_not_import_mpi4py():
    code = "import sys, npgrad, npgrad.distributed, npgrad.nn; assert 'mpi4py' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_errors_before_init():
    dist = npg.distributed
    if dist.is_initialized():
        pytest.skip("initialized by another test in this process")
    with pytest.raises(RuntimeError, match="call npgrad.distributed.init"):
        dist.get_rank()
    with pytest.raises(RuntimeError, match="pass num_replicas and rank"):
        DistributedSampler(range(4))
    assert dist.is_main_process()
    bn = npg.nn.SyncBatchNorm(3)            # not initialized: a plain BatchNorm
    ref = npg.nn.BatchNorm1d(3)
    x = npg.randn(5, 3)
    np.testing.assert_allclose(bn(x).data, ref(x).data)


def _parts(n, replicas, **kw):
    samplers = [DistributedSampler(range(n), num_replicas=replicas, rank=r, **kw) for r in range(replicas)]
    return samplers, [list(s) for s in samplers]


@pytest.mark.parametrize("n, replicas", [(12, 3), (10, 4), (3, 4), (7, 2)])
def test_distributed_sampler_partitions_as_torch(n, replicas):
    """Disjoint parts covering the dataset (padded by repeating the first indices to a multiple of
    num_replicas, or cut with drop_last); PyTorch's sizes; the same order for the same seed and epoch,
    another with set_epoch."""
    samplers, parts = _parts(n, replicas, seed=3)
    size = -(-n // replicas)
    assert [len(p) for p in parts] == [size] * replicas and [len(s) for s in samplers] == [size] * replicas
    flat = [i for p in parts for i in p]
    assert sorted(set(flat)) == list(range(n))                         # covering
    if n % replicas == 0:
        assert len(flat) == len(set(flat))                             # disjoint
    else:
        assert len(flat) - len(set(flat)) == replicas * size - n       # only the padding repeats
    interleaved = [parts[r][k] for k in range(size) for r in range(replicas)]
    perm = np.random.default_rng(3).permutation(n).tolist()
    assert interleaved[:n] == perm                                     # rank r takes positions r, r + R, ...
    assert parts == _parts(n, replicas, seed=3)[1]                     # same seed, same epoch: same parts
    assert [list(s) for s in samplers] == parts                        # and every pass over it
    for s in samplers:
        s.set_epoch(1)
    epoch1 = [list(s) for s in samplers]
    assert sorted(set(i for p in epoch1 for i in p)) == list(range(n))
    if n > 3:
        assert epoch1 != parts
    drop = _parts(n, replicas, seed=3, drop_last=True)[1]
    flat = [i for p in drop for i in p]
    assert len(flat) == len(set(flat)) == (n // replicas) * replicas   # drop_last: disjoint, tail dropped
    ordered = _parts(n, replicas, shuffle=False)[1]
    assert ordered[0][:2] == [0, replicas][:len(ordered[0][:2])]


def test_distributed_sampler_in_a_dataloader():
    X = np.arange(20.0).reshape(10, 2)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(TensorDataset(X), num_replicas=2, rank=rank, seed=1)
        loader = DataLoader(TensorDataset(X), batch_size=2, sampler=sampler)
        assert len(loader) == 3
        seen.append(np.concatenate([b[0].data for b in loader]))
    rows = np.concatenate(seen)
    assert sorted(rows[:, 0].tolist()) == X[:, 0].tolist()
    with pytest.raises(ValueError, match="invalid rank"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


@needs_mpi
def test_scaling_benchmark_runs_and_counts_the_gradient_bytes(capsys):
    sys.path.insert(0, ROOT)
    from bench import scaling
    best = scaling.main(["--only", "mlp", "--procs", "1,2", "--steps", "2", "--warmup", "1", "--rounds", "1"])
    ddp = best[("mlp", 2, False)]
    assert ddp["gradient_bytes"] == 4 * (784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10)
    assert ddp["allreduce_bytes_per_step"] == ddp["gradient_bytes"]   # the lower bound, reached
    assert ddp["buckets"] == 2 and best[("mlp", 1, False)]["samples_per_s"] > 0
    assert "| mlp (batch 128/process) | 2 |" in capsys.readouterr().out


@pytest.mark.parametrize("arr", [np.zeros(3, np.float16), np.zeros(3, ">f8"), np.zeros(3, np.complex128),
                                 np.array(["a"])])
def test_collectives_refuse_dtypes_mpi_cannot_reduce(arr):
    from npgrad.distributed._comm import _buffer
    with pytest.raises(TypeError, match="MPI cannot reduce arrays of dtype"):
        _buffer(arr, "all_reduce")
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _buffer(ro, "all_reduce")
