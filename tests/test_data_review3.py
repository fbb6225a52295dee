"""Review of DistributedSampler and the DataLoader's workers against PyTorch (torch's DistributedSampler runs
without a process group when given num_replicas and rank)."""
import numpy as np
import pytest
import torch.utils.data as tud

from npgrad.data import DataLoader, DistributedSampler


@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_unshuffled_indices_and_lengths_are_torchs(drop_last):
    """Every (n, num_replicas, rank): torch's exact indices without shuffle (padding repeats the first ones,
    also when num_replicas > n), torch's len() and total_size with shuffle."""
    for n in (0, 1, 2, 3, 5, 7, 10, 13):
        for replicas in (1, 2, 3, 4, 8):
            for rank in range(replicas):
                kw = dict(num_replicas=replicas, rank=rank, drop_last=drop_last)
                theirs = tud.DistributedSampler(range(n), shuffle=False, **kw)
                ours = DistributedSampler(range(n), shuffle=False, **kw)
                assert list(ours) == list(theirs), (n, replicas, rank)
                shuffled = DistributedSampler(range(n), shuffle=True, seed=5, **kw)
                assert len(shuffled) == len(theirs) == len(list(shuffled)), (n, replicas, rank)
                assert shuffled.total_size == theirs.total_size


@pytest.mark.parametrize("seed, epoch", [(-1, 0), (0, -3), (2**63, 5)])
def test_distributed_sampler_takes_any_integer_seed_and_epoch_as_torch(seed, epoch):
    """torch's generator takes negative seeds (and seed + epoch < 0); npgrad raised NumPy's bare
    'ValueError: expected non-negative integer' from default_rng when iterated."""
    theirs = tud.DistributedSampler(range(7), num_replicas=2, rank=0, seed=seed)
    theirs.set_epoch(epoch)
    assert len(list(theirs)) == 4
    parts = []
    for rank in range(2):
        s = DistributedSampler(range(7), num_replicas=2, rank=rank, seed=seed)
        s.set_epoch(epoch)
        parts.append(list(s))
        assert parts[-1] == list(s)                       # the same order for the same seed and epoch
    flat = parts[0] + parts[1]
    assert len(flat) == 8 and sorted(set(flat)) == list(range(7))
    later = [DistributedSampler(range(7), num_replicas=2, rank=rank, seed=seed) for rank in range(2)]
    for s in later:
        s.set_epoch(epoch + 1)
    assert [list(s) for s in later] != parts                # another epoch, another order


class _Slow:
    """Items that take 3 s each (a worker that cannot meet a DataLoader's timeout)."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        import time
        time.sleep(3.0)
        return np.float64(i)


def test_dataloader_timeout_raises_after_the_timeout_as_torch():
    """torch raises 'DataLoader timed out after 0.5 seconds' about when the timeout expires; npgrad waited up to
    5 s more for the busy workers to finish the batches they had been sent (5.6 s in all)."""
    import time
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="timed out after 0.5 seconds"):
        list(DataLoader(_Slow(), batch_size=1, num_workers=1, timeout=0.5))
    assert time.monotonic() - t0 < 2.5
