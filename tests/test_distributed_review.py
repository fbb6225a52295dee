"""Adversarial review of npgrad.distributed under ``mpiexec -n 2`` (one launch of
tests/mpi_review_dist_checks.py for the whole file): collectives on arrays that differ between processes,
SyncBatchNorm against torch's BatchNorm on the whole batch, DDP on tied / frozen / sparse / mixed-dtype
parameters."""
import json

import pytest

from tests.test_distributed import needs_mpi, run_mpi

CASES = ["collectives_refuse_arrays_that_differ_between_processes",
         "syncbn_matches_torch_batchnorm_on_the_whole_batch",
         "ddp_tied_frozen_mixed_dtypes_sparse_dict_output",
         "no_sync_is_decided_by_the_forward", "collectives_warn_for_a_tensor_that_requires_grad"]


@pytest.fixture(scope="module")
def results():
    proc = run_mpi(["-m", "tests.mpi_review_dist_checks"])
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULTS ")]
    assert proc.returncode == 0 and lines, f"mpiexec failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(lines[0][len("RESULTS "):])


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_under_mpiexec(results, case):
    assert set(results) == set(CASES)
    assert results[case] == "ok", results[case]
