"""Adversarial review of npgrad.data, serialization and npgrad.distributed against torch.utils.data / torch:
each test is a divergence that was found and fixed (the oracle is PyTorch's behaviour)."""
import itertools
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.utils.data as TD

import npgrad as npg
import npgrad.data as ND


def _values(batches):
    return [[np.asarray(getattr(b, "data", b)).tolist() for b in batch] for batch in batches]


def test_tensor_dataset_subclass_getitem_is_used():
    """A TensorDataset subclass that overrides __getitem__ (a transform) must go through it, as in torch."""
    class Ours(ND.TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y + 10

    class Theirs(TD.TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y + 10

    X, Y = np.arange(10.).reshape(5, 2), np.arange(5)
    theirs = _values(TD.DataLoader(Theirs(torch.tensor(X), torch.tensor(Y)), batch_size=2))
    for workers in (0, 2):
        ours = _values(ND.DataLoader(Ours(X, Y), batch_size=2, num_workers=workers))
        assert ours == theirs


class _OrderedItems(ND.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return OrderedDict(x=np.full(3, i), y=i)


class _TorchOrderedItems(TD.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return OrderedDict(x=np.full(3, i), y=i)


class _Tagged(list):
    pass


def _tagged_collate(items):
    out = _Tagged([ND.default_collate(items)])
    out.tag = "kept"
    return out


def test_worker_batches_keep_mapping_and_list_types():
    """Batches that come back from worker processes keep their container types (torch pickles them whole)."""
    theirs = next(iter(TD.DataLoader(_TorchOrderedItems(), batch_size=2, num_workers=2)))
    ours = next(iter(ND.DataLoader(_OrderedItems(), batch_size=2, num_workers=2)))
    assert type(ours) is type(theirs) is OrderedDict
    assert list(ours) == list(theirs)
    assert ours["x"].data.tolist() == theirs["x"].tolist()
    tagged = next(iter(ND.DataLoader(_OrderedItems(), batch_size=2, num_workers=2, collate_fn=_tagged_collate)))
    assert type(tagged) is _Tagged and tagged.tag == "kept"
    assert tagged[0]["y"].data.tolist() == [0, 1]


def test_collate_of_unequal_shapes_raises_torchs_runtime_error():
    batch = [np.zeros(2), np.zeros(2), np.zeros(3)]
    with pytest.raises(RuntimeError) as theirs:
        TD.default_collate(batch)
    with pytest.raises(RuntimeError) as ours:
        ND.default_collate(batch)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("n, lengths", [(1, [1.0]), (1, [0.5, 0.5]), (2, [0.5, 0.5]), (10, [0.33, 0.33, 0.34]),
                                        (7, [0.2] * 5), (4, [1, 0]), (3, [1])])
def test_random_split_fractions_as_torch(n, lengths):
    """PyTorch reads lengths summing to 1 as fractions even when they also sum to len(dataset) (n = 1)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = TD.random_split(range(n), lengths)
        ours = ND.random_split(list(range(n)), lengths)
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(n))


def test_random_split_bad_lengths_raise():
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1") as theirs:
        TD.random_split(range(1), [1.5, -0.5])
    with pytest.raises(ValueError, match=str(theirs.value)):
        ND.random_split(list(range(1)), [1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        TD.random_split(range(1), [0.5, 0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        ND.random_split(list(range(1)), [0.5, 0.5])
    # torch slices with a negative length and returns overlapping garbage: npgrad refuses
    with pytest.raises(ValueError, match="length at index 0 is -1"):
        ND.random_split(list(range(3)), [-1, 4])
    with pytest.raises(ValueError, match="length at index 0 is 2.0"):
        ND.random_split(list(range(3)), [2.0, 1.0])


class _Endless:
    """A sampler with no end (e.g. for step-based training): 0, 1, 2, ... modulo 4."""

    def __iter__(self):
        return (i % 4 for i in itertools.count())


def test_endless_sampler_with_workers():
    """With worker processes the sampler is read as batches are sent (torch), not drawn whole first (a hang)."""
    theirs = TD.DataLoader(_TorchOrderedItems(), batch_size=3, sampler=_Endless(), num_workers=2)
    theirs = [b["y"].tolist() for b in itertools.islice(theirs, 5)]
    for workers in (0, 2):
        ours = ND.DataLoader(_OrderedItems(), batch_size=3, sampler=_Endless(), num_workers=workers)
        assert [b["y"].data.tolist() for b in itertools.islice(ours, 5)] == theirs


def test_worker_iterator_len_and_persistent_rerun_after_partial_pass():
    ours = ND.DataLoader(_OrderedItems(), batch_size=3, num_workers=2, persistent_workers=True)
    theirs = TD.DataLoader(_TorchOrderedItems(), batch_size=3, num_workers=2, persistent_workers=True)
    assert len(iter(ours)) == len(iter(theirs)) == 2
    it = iter(ours)
    next(it)
    del it
    for _ in range(2):
        assert [b["y"].data.tolist() for b in ours] == [b["y"].tolist() for b in theirs]


MPI_REVIEW_CASES = ["bool_reductions", "mean_of_integers_refused_before_communicating", "zero_d_and_non_contiguous",
                    "all_gather_refuses_a_dtype_mismatch", "ddp_broadcasts_buffers_before_each_training_forward",
                    "broadcast_from_a_read_only_array"]


def test_collectives_under_mpiexec():
    """One mpiexec -n 2 launch (tests/mpi_review_checks.py): bool reductions as torch.distributed's (or /
    and), a mean of integers refused before communicating, 0-d and strided arrays, all_gather dtype checks."""
    from tests.test_distributed import mpi_case_results
    results = mpi_case_results("tests.mpi_review_checks")
    assert results == {case: "ok" for case in MPI_REVIEW_CASES}


class _MissingKey(ND.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"a": i}["label"]


class _TorchMissingKey(TD.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {"a": i}["label"]


def test_worker_key_error_stays_a_key_error_with_a_readable_message():
    with pytest.raises(Exception) as theirs:
        list(TD.DataLoader(_TorchMissingKey(), batch_size=2, num_workers=1))
    with pytest.raises(Exception) as ours:
        list(ND.DataLoader(_MissingKey(), batch_size=2, num_workers=1))
    assert type(ours.value) is type(theirs.value) is KeyError
    for info in (theirs, ours):
        msg = str(info.value)
        assert msg.startswith("Caught KeyError in DataLoader worker process 0.\nOriginal Traceback")
        assert "KeyError: 'label'" in msg and "\\n" not in msg


@pytest.mark.parametrize("batch", [[np.datetime64(1, "D")] * 2, [np.zeros(2), np.array(["a", "b"])],
                                   [np.array([1, 2]), np.array([1, 2], dtype="m8[s]")],
                                   [np.zeros(1, dtype=[("x", "f8")])] * 2])
def test_collate_refuses_non_numeric_samples_anywhere_in_the_batch(batch):
    with pytest.raises(TypeError):
        TD.default_collate(batch)
    with pytest.raises(TypeError, match="default_collate"):
        ND.default_collate(batch)


@pytest.mark.parametrize("sample", [np.datetime64(1, "D"), np.array([1, 2], dtype="m8[s]")])
def test_convert_refuses_datetimes(sample):
    with pytest.raises(TypeError):
        TD.default_convert(sample)
    with pytest.raises(TypeError, match="default_convert"):
        ND.default_convert(sample)



def _patched_central_directory(path, offset, value):
    """``path`` with byte ``offset`` of every central-directory entry of its zip archive set to ``value``."""
    raw = bytearray(path.read_bytes())
    pos = raw.find(b"PK\x01\x02")
    assert pos >= 0
    while pos >= 0:
        raw[pos + offset] = value(raw[pos + offset])
        pos = raw.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("offset, value, problem", [
    (8, lambda b: b | 0x40, "not a valid .npy array"),    # flag bit 6, strong encryption: zipfile.open raises
    (6, lambda b: 0xFF, "not an .npz"),                   # version needed to extract 25.5: zipfile.ZipFile raises
])
def test_load_reports_zip_features_zipfile_does_not_implement_as_value_error(tmp_path, offset, value, problem):
    """zipfile raises NotImplementedError for some header fields; npg.load let it through instead of its
    one ValueError naming the file."""
    path = tmp_path / "ckpt.npz"
    npg.save({"w": npg.tensor(np.arange(6.0).reshape(2, 3)), "step": 3}, path)
    _patched_central_directory(path, offset, value)
    with pytest.raises(ValueError, match=f"ckpt.npz.*{problem}"):
        npg.load(path)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float8_e4m3fn, torch.float16])
def test_load_state_dict_takes_torch_tensors_without_a_numpy_dtype(dtype):
    """A bfloat16 (or float8) PyTorch checkpoint loads into a float model as torch's load_state_dict does (an
    exact widening); it raised torch's "unsupported ScalarType" TypeError."""
    import npgrad.nn as nn
    torch_model = torch.nn.Linear(3, 2).to(dtype)
    theirs = torch.nn.Linear(3, 2).double()
    theirs.load_state_dict(torch_model.state_dict())
    ours = nn.Linear(3, 2)
    ours.load_state_dict(torch_model.state_dict())
    assert ours.weight.data.dtype == np.float64
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.data, theirs.bias.detach().numpy())
