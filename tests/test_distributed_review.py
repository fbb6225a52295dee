"""Adversarial review of npgrad.distributed under ``mpiexec -n 2`` (one launch of
tests/mpi_review_dist_checks.py for the whole file): collectives on arrays that differ between processes,
SyncBatchNorm against torch's BatchNorm on the whole batch, DDP on tied / frozen / sparse / mixed-dtype
parameters."""

import pytest

from tests.test_distributed import mpi_case_results, needs_mpi

CASES = ["collectives_refuse_arrays_that_differ_between_processes",
         "syncbn_matches_torch_batchnorm_on_the_whole_batch",
         "ddp_tied_frozen_mixed_dtypes_sparse_dict_output",
         "no_sync_is_decided_by_the_forward", "collectives_warn_for_a_tensor_that_requires_grad"]


@pytest.fixture(scope="module")
def results():
    return mpi_case_results("tests.mpi_review_dist_checks")


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_under_mpiexec(results, case):
    assert set(results) == set(CASES)
    assert results[case] == "ok", results[case]
