"""npgrad.distributed's differentiable collectives (nn.functional), rooted collectives (reduce, gather,
scatter), all_to_all / all_to_all_single, point-to-point messages (send, recv, isend, irecv) and object
collectives, under ``mpiexec -n 3`` (one launch each of tests/mpi_more_checks.py and tests/mpi_diff_checks.py;
three processes, so that all-to-all blocks differ per pair and ``recv`` from any process has a choice)."""
import pytest

import npgrad.distributed as dist
from tests.test_distributed import mpi_case_results, needs_mpi

CASES = ["reduce", "gather_and_scatter", "all_to_all", "send_recv", "objects", "errors_leave_every_process_in_step",
         "groups_and_init_process_group", "zero_redundancy_optimizer", "syncbn_float32_far_from_zero"]
DIFF_CASES = ["all_reduce", "all_gather_and_reduce_scatter", "broadcast_reduce_gather_scatter", "all_to_all",
              "second_order_and_forward_mode", "refusals", "gather_of_an_inf_gives_zeros_elsewhere"]


@pytest.fixture(scope="module")
def results():
    return mpi_case_results("tests.mpi_more_checks", n=3)


@pytest.fixture(scope="module")
def diff_results():
    return mpi_case_results("tests.mpi_diff_checks", n=3)


@needs_mpi
@pytest.mark.parametrize("case", DIFF_CASES)
def test_differentiable_collectives_under_mpiexec(diff_results, case):
    """npgrad.distributed.nn.functional against PyTorch's autograd on the whole computation
    (tests/mpi_diff_checks.py)."""
    assert set(diff_results) == set(DIFF_CASES)
    assert diff_results[case] == "ok", diff_results[case]


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_under_mpiexec(results, case):
    assert set(results) == set(CASES)
    assert results[case] == "ok", results[case]


@pytest.mark.parametrize("fn, args", [(dist.send, ([0.0], 1)), (dist.recv, ([0.0],)), (dist.gather, ([0.0],)),
                                      (dist.all_gather_object, ([None], 1))])
def test_before_init_the_new_calls_name_init(fn, args):
    with pytest.raises(RuntimeError, match="init"):
        fn(*args)
