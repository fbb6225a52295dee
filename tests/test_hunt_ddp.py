"""npgrad.distributed against torch.distributed / DistributedDataParallel: the cases under ``mpiexec -n 2``
(tests/mpi_hunt_ddp_checks.py, one launch for the whole file) and DistributedSampler's unshuffled partition
against torch's."""

import pytest
import torch

from npgrad.data import DistributedSampler
from tests.test_distributed import mpi_case_results, needs_mpi

CASES = ["backward_through_module_alone_is_local_and_does_not_hang",
         "parameter_frozen_after_wrapping_gets_no_grad", "product_and_bitwise_reduce_ops",
         "async_result_is_in_place_once_is_completed"]


@pytest.fixture(scope="module")
def results():
    return mpi_case_results("tests.mpi_hunt_ddp_checks", timeout=120)


@needs_mpi
@pytest.mark.parametrize("case", CASES)
def test_under_mpiexec(results, case):
    assert set(results) == set(CASES)
    assert results[case] == "ok", results[case]


@pytest.mark.parametrize("kwargs", [dict(device_ids=[0]), dict(output_device=0), dict(dim=1)])
def test_torch_device_arguments_refused_clearly(kwargs):
    """torch's keywords for GPU modules: None is required for a CPU module (torch raises too), and a device list
    passed positionally where npgrad takes bucket_mb is refused with a message, not a bare TypeError."""
    import npgrad as npg
    from npgrad.distributed import DistributedDataParallel
    with pytest.raises(ValueError, match="DistributedDataParallel"):
        DistributedDataParallel(npg.nn.Linear(2, 2), **kwargs)
    with pytest.raises(ValueError, match="bucket_mb"):
        DistributedDataParallel(npg.nn.Linear(2, 2), [0])


@pytest.mark.parametrize("n, replicas", [(0, 2), (1, 3), (5, 2), (7, 3), (8, 4), (2, 5)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_distributed_sampler_is_torchs(n, replicas, drop_last):
    """Without shuffling the indices are torch's exactly: padding (repeating the start, several times over
    when the dataset is smaller than the padding), drop_last, lengths, every rank."""
    for rank in range(replicas):
        ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                                     drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs), (rank, list(ours), list(theirs))
