"""npgrad.data against torch.utils.data 2.13 (the oracle), round 2: worker seeding of NumPy's global random
state, the base Sampler's missing length, argument errors (TensorDataset, multiprocessing_context) and
StackDataset's batched reads."""
import numpy as np
import pytest
import torch
import torch.utils.data as TD
from torch.utils.data._utils.worker import _generate_state

import npgrad.data as ND


# ------------------------------------------------------------------ NumPy's global random state in workers
class _NumpyAugment:
    """Each sample draws from NumPy's global random state (the usual NumPy augmentation)."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        info = self._info()
        return np.array([info.id, info.seed, np.random.randint(1 << 30)], np.int64)


class NpgAugment(_NumpyAugment, ND.Dataset):
    _info = staticmethod(ND.get_worker_info)


class TorchAugment(_NumpyAugment, TD.Dataset):
    _info = staticmethod(TD.get_worker_info)


def _expected_draws(rows, per_worker):
    """What NumPy's global state gives in worker ``id`` once seeded as torch seeds it: from
    ``_generate_state(base_seed, id)`` (base_seed = seed - id), ``per_worker`` draws in a row."""
    out = {}
    for wid, seed, _ in rows:
        if wid not in out:
            np.random.seed(_generate_state(int(seed) - int(wid), int(wid)))
            out[wid] = [np.random.randint(1 << 30) for _ in range(per_worker)]
    return out


@pytest.mark.parametrize("make, loader", [(NpgAugment, ND.DataLoader), (TorchAugment, TD.DataLoader)],
                         ids=["npgrad", "torch"])
def test_workers_seed_numpys_global_random_state_as_torch(make, loader):
    state = np.random.get_state()
    try:
        np.random.seed(0)   # the parent's state: with fork, every worker would inherit it
        rows = np.concatenate([np.asarray(b).reshape(-1, 3) for b in loader(make(), batch_size=1, num_workers=2)])
        want = _expected_draws(rows, 3)
        for wid in (0, 1):   # batch i from worker i % 2: each worker's draws are its own seeded sequence
            assert rows[rows[:, 0] == wid, 2].tolist() == want[wid], (wid, rows)
        assert rows[rows[:, 0] == 0, 2].tolist() != rows[rows[:, 0] == 1, 2].tolist()
    finally:
        np.random.set_state(state)


# ------------------------------------------------------------------ a sampler without a length
def _evens(base):
    class Evens(base):
        """A user's sampler that defines only __iter__ (as torch allows: Sampler has no __len__)."""

        def __iter__(self):
            return iter([0, 2, 4])
    return Evens()


def _len_error(obj):
    with pytest.raises(Exception) as info:
        len(obj)
    return type(info.value), str(info.value)


def test_a_sampler_without_len_has_no_len_as_torch():
    a, b = ND.TensorDataset(np.arange(6.0)), TD.TensorDataset(torch.arange(6.0))
    ours, theirs = _evens(ND.Sampler), _evens(TD.Sampler)
    assert _len_error(ours) == _len_error(theirs) == (TypeError, "object of type 'Evens' has no len()")
    for kw in (dict(batch_size=2), dict(batch_size=None)):   # what tqdm and others catch: TypeError
        ours_loader, theirs_loader = ND.DataLoader(a, sampler=ours, **kw), TD.DataLoader(b, sampler=theirs, **kw)
        assert _len_error(ours_loader) == _len_error(theirs_loader)
        assert [np.asarray(x[0]).tolist() for x in ours_loader] == [x[0].tolist() for x in theirs_loader]
    assert _len_error(ND.BatchSampler(ours, 2, False)) == _len_error(TD.BatchSampler(theirs, 2, False))


# ------------------------------------------------------------------ argument errors
@pytest.mark.parametrize("shapes", [[()], [(), (3,)], [(3,), ()]])
def test_tensor_dataset_of_a_0d_array_is_a_clear_error(shapes):
    with pytest.raises(IndexError):   # torch: "Dimension specified as 0 but tensor has no dimensions"
        TD.TensorDataset(*[torch.zeros(s) for s in shapes])
    with pytest.raises(ValueError, match=r"TensorDataset: .*\[\(\), \(3,\)\]|TensorDataset: .*\[\(3,\), \(\)\]|"
                                         r"TensorDataset: .*\[\(\)\]"):
        ND.TensorDataset(*[np.zeros(s) for s in shapes])


def _errors_match(make_ours, make_theirs):
    with pytest.raises(Exception) as theirs:
        make_theirs()
    with pytest.raises(Exception) as ours:
        make_ours()
    assert (type(ours.value), str(ours.value)) == (type(theirs.value), str(theirs.value))


@pytest.mark.parametrize("kwargs", [dict(multiprocessing_context="spawn"),
                                    dict(multiprocessing_context="bogus", num_workers=1),
                                    dict(multiprocessing_context=3, num_workers=1)],
                         ids=["without_workers", "unknown_method", "not_a_context"])
def test_multiprocessing_context_is_checked_at_construction_as_torch(kwargs):
    a, b = ND.TensorDataset(np.arange(4.0)), TD.TensorDataset(torch.arange(4.0))
    _errors_match(lambda: ND.DataLoader(a, **kwargs), lambda: TD.DataLoader(b, **kwargs))
    ours, theirs = ND.DataLoader(a), TD.DataLoader(b)   # the setter checks too, as torch's
    _errors_match(lambda: setattr(ours, "multiprocessing_context", "spawn"),
                  lambda: setattr(theirs, "multiprocessing_context", "spawn"))


def test_multiprocessing_context_string_becomes_a_context_as_torch():
    import multiprocessing
    ours = ND.DataLoader(np.arange(4.0), num_workers=1, multiprocessing_context="fork")
    theirs = TD.DataLoader(torch.arange(4.0), num_workers=1, multiprocessing_context="fork")
    assert isinstance(theirs.multiprocessing_context, multiprocessing.context.BaseContext)
    assert isinstance(ours.multiprocessing_context, multiprocessing.context.BaseContext)
    assert ours.multiprocessing_context.get_start_method() == theirs.multiprocessing_context.get_start_method()
    ctx = multiprocessing.get_context("fork")
    assert ND.DataLoader(np.arange(4.0), num_workers=1, multiprocessing_context=ctx).multiprocessing_context is ctx
    assert ND.DataLoader(np.arange(4.0), num_workers=1).multiprocessing_context is None


# ------------------------------------------------------------------ StackDataset's batched reads
class _BatchedOnly:
    """A dataset read a batch at a time (``__getitems__``; ``__getitem__`` refuses), as torch lets a
    StackDataset's parts be; ``short`` returns one item too few (torch's error)."""

    def __init__(self, short=False):
        self.short = short

    def __len__(self):
        return 5

    def __getitem__(self, i):
        raise RuntimeError("read me in batches")

    def __getitems__(self, indices):
        out = [np.array([10.0 * i, 1.0]) for i in indices]
        return out[:-1] if self.short else out


class NpgBatched(_BatchedOnly, ND.Dataset):
    pass


class TorchBatched(_BatchedOnly, TD.Dataset):
    pass


def _plain(batch):
    if isinstance(batch, dict):
        return {k: _plain(v) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [_plain(v) for v in batch]
    return np.asarray(batch).tolist()


@pytest.mark.parametrize("as_dict", [False, True])
def test_stack_dataset_reads_its_parts_in_batches_as_torch(as_dict):
    x = np.arange(5.0)

    def build(mod, batched):
        parts = [batched(), mod.Subset(batched(), [4, 3, 2, 1, 0]), mod.TensorDataset(torch.from_numpy(x))
                 if mod is TD else mod.TensorDataset(x)]
        return mod.StackDataset(**dict(zip("abc", parts))) if as_dict else mod.StackDataset(*parts)

    ours, theirs = build(ND, NpgBatched), build(TD, TorchBatched)
    assert _plain(ours.__getitems__([1, 4])) == _plain(theirs.__getitems__([1, 4]))
    got = [_plain(b) for b in ND.DataLoader(ours, batch_size=2)]
    assert got == [_plain(b) for b in TD.DataLoader(theirs, batch_size=2)] and len(got) == 3
    _errors_match(lambda: ND.StackDataset(NpgBatched(short=True)).__getitems__([0, 1]),
                  lambda: TD.StackDataset(TorchBatched(short=True)).__getitems__([0, 1]))


# ------------------------------------------------------------------ collating samples that require grad
def test_default_collate_keeps_the_graph_of_samples_that_require_grad_as_torch():
    import npgrad as npg
    x = np.random.default_rng(0).standard_normal((3, 2, 2)).astype(np.float32)
    w = np.arange(8.0, dtype=np.float32).reshape(2, 2, 2)
    tx = torch.tensor(x, requires_grad=True)
    tb = TD.default_collate([tx[2], tx[0] * 3])
    (tb * torch.from_numpy(w)).sum().backward()
    px = npg.tensor(x, requires_grad=True)
    pb = ND.default_collate([px[2], px[0] * 3])
    assert pb.requires_grad and tb.requires_grad and pb.dtype == np.float32
    np.testing.assert_allclose(pb.data, tb.detach().numpy())
    (pb * npg.tensor(w)).sum().backward()
    np.testing.assert_allclose(px.grad, tx.grad.numpy())
    with npg.no_grad():   # (torch under no_grad: a batch without a graph)
        assert not ND.default_collate([px[0], px[1]]).requires_grad
    _errors_match(lambda: ND.default_collate([px[0], px[0, 0]]), lambda: TD.default_collate([tx[0], tx[0, 0]]))


def test_tensor_dataset_of_a_tensor_that_requires_grad_keeps_the_graph_as_torch():
    import npgrad as npg
    x = np.arange(12.0).reshape(4, 3)
    y = np.arange(4)
    tx = torch.tensor(x, requires_grad=True)
    px = npg.tensor(x, requires_grad=True)
    w = np.linspace(-1, 1, 6).reshape(2, 3)
    for (tb, ty), (pb, py) in zip(TD.DataLoader(TD.TensorDataset(tx, torch.from_numpy(y)), batch_size=2),
                                  ND.DataLoader(ND.TensorDataset(px, y), batch_size=2)):
        assert pb.requires_grad and tb.requires_grad and not py.requires_grad
        (tb * torch.from_numpy(w) * ty[:, None]).sum().backward()
        (pb * npg.tensor(w) * py[:, None]).sum().backward()
    np.testing.assert_allclose(px.grad, tx.grad.numpy())
    ds = ND.TensorDataset(px, y)
    assert ds[1][0].requires_grad and not ds[1][1].requires_grad
    np.testing.assert_array_equal(ds[1][0].data, x[1])
