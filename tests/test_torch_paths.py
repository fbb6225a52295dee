"""torch's module paths a port imports: npgrad.utils.data (torch.utils.data), npgrad.testing (torch.testing's
assert_close / make_tensor) and npgrad.nn.attention (SDPBackend, sdpa_kernel, bias), checked against torch."""

import numpy as np
import pytest
import torch
import torch.utils.data

import npgrad as npg


# --------------------------------------------------------------------------- npgrad.utils.data
def test_utils_data_is_npgrad_data():
    import npgrad.utils.data as D
    from npgrad.utils.data import DataLoader, TensorDataset, random_split  # noqa: F401  (torch's import line)
    for name in D.__all__:
        assert getattr(D, name) is getattr(npg.data, name)
    assert npg.utils.data is D
    missing = sorted(n for n in torch.utils.data.__all__ if not hasattr(D, n))
    # only torch's (deprecated) DataPipe machinery and its private / validation helpers are left out
    assert missing == ["DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe", "_DatasetKind",
                       "argument_validation", "functional_datapipe", "guaranteed_datapipes_determinism",
                       "non_deterministic", "runtime_validation", "runtime_validation_disabled"]


def test_utils_data_port_runs_as_torch():
    import npgrad.utils.data as D
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    for lib, mk in ((torch.utils.data, torch.as_tensor), (D, npg.asarray)):
        ds = lib.TensorDataset(mk(X), mk(y))
        a, b = lib.random_split(ds, [0.7, 0.3])
        assert (len(a), len(b)) == (7, 3)
        batches = list(lib.DataLoader(ds, batch_size=4, shuffle=False))
        assert [tuple(xb.shape) for xb, _ in batches] == [(4, 2), (4, 2), (2, 2)]
        np.testing.assert_array_equal(np.asarray(batches[1][0]), X[4:8])


def test_samplers_structure_vs_torch():
    import npgrad.utils.data as D
    ds = list(range(7))
    for lib in (torch.utils.data, D):
        assert list(lib.SequentialSampler(ds)) == list(range(7))
        assert sorted(lib.RandomSampler(ds)) == list(range(7))
        r = list(lib.RandomSampler(ds, num_samples=17))      # whole permutations, then part of one
        assert len(r) == 17 and sorted(r[:14]) == sorted(2 * list(range(7)))
        r = list(lib.RandomSampler(ds, replacement=True, num_samples=50))
        assert len(r) == 50 and set(r) <= set(range(7))
        assert sorted(lib.SubsetRandomSampler([3, 5, 9])) == [3, 5, 9]
        assert list(lib.BatchSampler(lib.SequentialSampler(ds), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
        assert len(lib.BatchSampler(lib.SequentialSampler(ds), 3, True)) == 2
        w = lib.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 4, replacement=False)
        assert sorted(list(w)[:2]) == [1, 3] and sorted(w) == [0, 1, 2, 3]
        with pytest.raises(ValueError):
            lib.BatchSampler(ds, 0, False)
    torch.manual_seed(0)
    npg.manual_seed(0)
    counts = {}
    for name, lib in (("torch", torch.utils.data), ("npg", D)):
        draws = list(lib.WeightedRandomSampler([1.0, 2.0, 7.0], 20000, replacement=True))
        counts[name] = np.bincount(draws, minlength=3) / 20000
    np.testing.assert_allclose(counts["npg"], [0.1, 0.2, 0.7], atol=0.015)
    np.testing.assert_allclose(counts["npg"], counts["torch"], atol=0.02)


def test_iterable_chain_stack_datasets_vs_torch():
    import npgrad.utils.data as D

    def make(lib):
        class Stream(lib.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

            def __len__(self):
                return self.n
        return Stream

    out = {}
    for name, lib in (("torch", torch.utils.data), ("npg", D)):
        S = make(lib)
        chain = lib.ChainDataset([S(2), S(3)])
        stack = lib.StackDataset(list("abc"), [1, 2, 3])
        named = lib.StackDataset(x=[1, 2], y=[3, 4])
        concat = lib.ConcatDataset([[1, 2], [3]])
        out[name] = (list(chain), len(chain), stack[1], named[0], concat[-1], len(concat),
                     [np.asarray(b).tolist() for b in lib.DataLoader(S(5), batch_size=2)],
                     lib.default_convert((1, np.float64(2.0)))[0], lib.get_worker_info())
    assert out["torch"] == out["npg"]
