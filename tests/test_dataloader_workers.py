"""DataLoader(num_workers=K): the same batches as num_workers=0 (the oracle), worker seeding, worker_init_fn
and get_worker_info, persistent workers, shared memory for large arrays, errors surfacing with the worker's
traceback."""
import mmap
import os

import numpy as np
import pytest

import npgrad as npg
from npgrad.data import DataLoader, Dataset, TensorDataset, get_worker_info


def _arrays(b):
    if isinstance(b, npg.Tensor):
        return [b.data]
    if isinstance(b, dict):
        return [v.data for v in b.values()]
    return [t.data for t in b]


def _assert_same(batches_a, batches_b):
    assert len(batches_a) == len(batches_b)
    for a, b in zip(batches_a, batches_b):
        for u, v in zip(_arrays(a), _arrays(b), strict=True):
            assert u.dtype == v.dtype
            np.testing.assert_array_equal(u, v)


class Items(Dataset):
    """A map-style dataset returning dicts (collated item by item)."""

    def __len__(self):
        return 23

    def __getitem__(self, i):
        return {"x": np.full((3, 2), i, np.float32), "y": np.int64(i * 7)}


@pytest.mark.parametrize("kind", ["tensor_dataset_large", "tensor_dataset_small", "items"])
def test_workers_give_the_same_batches_as_the_main_process(kind):
    rng = np.random.default_rng(0)
    if kind == "items":
        ds, kw = Items(), dict(batch_size=4, shuffle=True, seed=5)
    else:
        width = 300 if kind == "tensor_dataset_large" else 3   # 64 x 300 float64 = 150 KiB: shared memory
        ds = TensorDataset(rng.standard_normal((301, width)), rng.integers(0, 10, 301))
        kw = dict(batch_size=64, shuffle=True, seed=5, drop_last=kind == "tensor_dataset_small")
    ref = DataLoader(ds, **kw)
    par = DataLoader(ds, num_workers=2, prefetch_factor=3, pin_memory=True, **kw)
    for _ in range(2):   # two epochs: new permutations, the same in both
        _assert_same(list(ref), list(par))
    assert len(par) == len(ref)


def test_large_batches_arrive_through_shared_memory_small_ones_pickled():
    def mapped(arr):
        while isinstance(arr, (np.ndarray, memoryview)):
            arr = arr.obj if isinstance(arr, memoryview) else arr.base
        return isinstance(arr, mmap.mmap)

    ds = TensorDataset(np.ones((128, 200)), np.arange(128))
    xb, yb = next(iter(DataLoader(ds, batch_size=64, num_workers=1)))
    assert mapped(xb.data) and not mapped(yb.data)     # 100 KiB in shared memory; 512 bytes through the pipe
    xb.data[0, 0] = 5.0                                  # a writable array of the main process's own
    np.testing.assert_array_equal(xb.data[1], np.ones(200))


class WhoAmI(Dataset):
    def __len__(self):
        return 12

    def __getitem__(self, i):
        info = get_worker_info()
        return np.array([info.id, info.num_workers, info.seed, os.getpid(), _INIT.get("value", -1),
                         npg.random.get_generator().integers(1 << 30), len(info.dataset)], np.int64)


_INIT = {}


def _init(worker_id):
    _INIT["value"] = 100 + worker_id


def _run(loader):
    return np.stack([b.data for b in loader])   # (batches, batch_size, 7)


def test_worker_info_seeds_and_worker_init_fn():
    assert get_worker_info() is None
    loader = DataLoader(WhoAmI(), batch_size=2, num_workers=3, seed=11, worker_init_fn=_init)
    a, b = _run(loader), _run(loader)
    ids = a[:, 0, 0]
    np.testing.assert_array_equal(ids, np.arange(6) % 3)            # batch i from worker i % num_workers
    assert (a[..., 1] == 3).all() and (a[..., 6] == 12).all()
    np.testing.assert_array_equal(a[:, 0, 4], 100 + ids)              # worker_init_fn ran in the worker
    seeds = a[:, 0, 2]
    np.testing.assert_array_equal(seeds[ids == 1] - seeds[ids == 0], 1)   # base_seed + worker_id
    assert len(set(a[:, 0, 3])) == 3 and os.getpid() not in a[:, 0, 3]
    assert not np.array_equal(a[..., 2], b[..., 2])                    # a new base seed each epoch...
    np.testing.assert_array_equal(_run(DataLoader(WhoAmI(), batch_size=2, num_workers=3, seed=11,
                                                  worker_init_fn=_init))[..., [0, 2, 5]], a[..., [0, 2, 5]])
    # ...and the same sequence of them (and of the workers' random draws) for the same seed


def test_persistent_workers_live_across_epochs():
    loader = DataLoader(WhoAmI(), batch_size=4, num_workers=2, persistent_workers=True)
    first = set(_run(loader)[:, 0, 3])
    it = iter(loader)
    next(it)                       # an epoch left unfinished: its batches in flight are dropped
    second = set(_run(loader)[:, 0, 3])
    assert first == second and len(first) == 2
    fresh = DataLoader(WhoAmI(), batch_size=4, num_workers=2)
    assert set(_run(fresh)[:, 0, 3]).isdisjoint(set(_run(fresh)[:, 0, 3]))   # new processes each epoch


class Broken(Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, i):
        if i == 7:
            return _fail_deep_inside(i)
        return np.float64(i)


def _fail_deep_inside(i):
    raise ValueError(f"item {i} is corrupt")


def test_a_worker_error_is_raised_in_the_main_process_with_its_traceback():
    loader = DataLoader(Broken(), batch_size=2, num_workers=2)
    got = []
    with pytest.raises(ValueError) as info:
        for b in loader:
            got.append(b.data)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in msg
    assert "Original Traceback" in msg and "_fail_deep_inside" in msg and "item 7 is corrupt" in msg
    assert len(got) == 3    # the batches before the failing one arrived


def _bad_init(worker_id):
    raise KeyError("no config")


class Dies(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        os._exit(3)


def test_worker_init_fn_errors_and_a_dying_worker_are_reported():
    with pytest.raises(KeyError, match="in worker_init_fn"):   # the worker's exception type, as torch
        list(DataLoader(np.ones((4, 2)), batch_size=2, num_workers=1, worker_init_fn=_bad_init))

    with pytest.raises(RuntimeError, match="exited unexpectedly with exit code 3"):
        list(DataLoader(Dies(), batch_size=2, num_workers=1))


@pytest.mark.parametrize("kwargs, match", [
    (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
    (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
    (dict(num_workers=-1), "num_workers option should be non-negative"),
    (dict(num_workers=1, prefetch_factor=0), "prefetch_factor should be a positive integer"),
    (dict(shuffle=True, sampler=[0, 1]), "mutually exclusive"),
])
def test_argument_errors_as_torch(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(np.ones((4, 2)), **kwargs)


def test_spawned_workers_give_the_same_batches():
    """With the "spawn" start method everything a worker needs is pickled (the default on macOS and Windows)."""
    ds = TensorDataset(np.arange(40.0).reshape(20, 2), np.arange(20))
    ref = list(DataLoader(ds, batch_size=6, shuffle=True, seed=2))
    par = list(DataLoader(ds, batch_size=6, shuffle=True, seed=2, num_workers=1, multiprocessing_context="spawn"))
    _assert_same(ref, par)
