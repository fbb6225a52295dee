"""Silent wrong answers found in npgrad.data and npgrad.serialization, checked against torch.utils.data and
torch.save / torch.load (the oracles)."""
import numpy as np
import pytest
import torch
import torch.utils.data as TD

import npgrad.data as ND


# ------------------------------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize("indices", [[0.5, 1.7, 3.2], np.array([1.9, 2.9]), [True, False]])
@pytest.mark.parametrize("how", ["sampler", "batch_sampler"])
def test_tensor_dataset_indices_that_are_not_integers_are_not_truncated(indices, how):
    """A TensorDataset is batched by indexing its arrays at once; float indices from a user's sampler were cast
    to int64 there (1.7 -> row 1, True -> row 1) where torch (and npgrad's item-by-item path) raise or index
    item by item. Now both give torch's outcome: the same error type, or the same batch."""
    X = np.arange(10.0)
    kw = dict(sampler=indices, batch_size=2) if how == "sampler" else dict(batch_sampler=[indices])
    try:
        theirs = [b[0].tolist() for b in TD.DataLoader(TD.TensorDataset(torch.tensor(X)), **kw)]
    except Exception as e:   # noqa: BLE001 (the oracle's outcome, whatever it is)
        with pytest.raises(type(e)):
            list(ND.DataLoader(ND.TensorDataset(X), **kw))
    else:
        assert [b[0].data.tolist() for b in ND.DataLoader(ND.TensorDataset(X), **kw)] == theirs


def test_tensor_dataset_integer_indices_from_a_sampler_still_batch_as_torch():
    X, y = np.arange(20.0).reshape(10, 2).astype(np.float32), np.arange(10)
    sampler = np.array([9, 0, 4, 4, -1])
    theirs = [[t.tolist() for t in b] for b in TD.DataLoader(TD.TensorDataset(torch.tensor(X), torch.tensor(y)),
                                                              sampler=sampler, batch_size=2)]
    ours = list(ND.DataLoader(ND.TensorDataset(X, y), sampler=sampler, batch_size=2))
    assert [[t.data.tolist() for t in b] for b in ours] == theirs
    assert ours[0][0].dtype == np.float32 and ours[0][1].dtype == np.int64


# ------------------------------------------------------------------------------------------- save / load
def _versioned(nn_, F):
    """A module of version 2 whose ``_load_from_state_dict`` upgrades version-1 checkpoints (their ``w`` was
    stored halved), the torch idiom that reads the state dict's ``_metadata``."""
    class Versioned(nn_.Module):
        _version = 2

        def __init__(self):
            super().__init__()
            self.w = nn_.Parameter(F(np.array([1.0, 2.0, 3.0])))

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args):
            if (local_metadata.get("version") or 1) < 2:
                state_dict[prefix + "w"] = state_dict[prefix + "w"] * 2
            super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)
    return Versioned


def test_state_dict_metadata_round_trips_as_torch(tmp_path):
    """npg.save dropped a state dict's ``_metadata`` (the modules' versions): a current checkpoint then loaded as
    a version-less one and went through the upgrade of old checkpoints (here: w doubled), where torch.save /
    torch.load keep the metadata and load the weights unchanged."""
    import npgrad as npg
    from npgrad import nn

    tmodel = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2),
                                 _versioned(torch.nn, torch.tensor)())
    torch.save({"model": tmodel.state_dict()}, tmp_path / "t.pt")
    tsd = torch.load(tmp_path / "t.pt")["model"]
    tmodel2 = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2), _versioned(torch.nn, torch.tensor)())
    tmodel2.load_state_dict(tsd)

    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), _versioned(nn, npg.tensor)())
    sd = model.state_dict()
    npg.save({"model": sd}, tmp_path / "n.npz")
    loaded = npg.load(tmp_path / "n.npz")["model"]
    model2 = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), _versioned(nn, npg.tensor)())
    model2.load_state_dict(loaded)
    assert model2[2].w.data.tolist() == tmodel2[2].w.tolist() == [1.0, 2.0, 3.0]
    assert loaded._metadata == dict(tsd._metadata) == dict(sd._metadata)


def test_crafted_metadata_is_a_clear_error(tmp_path):
    """Metadata on a dict that is not ordered, or metadata that is not a dict: one ValueError naming the file."""
    import io
    import json

    import npgrad as npg
    for node in ({"dict": [], "ordered": False, "metadata": {"dict": [], "ordered": True}},
                 {"dict": [], "ordered": True, "metadata": {"list": []}}):
        meta = np.frombuffer(json.dumps({"format": 1, "root": node}).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, __npgrad_structure__=meta)
        buf.seek(0)
        with pytest.raises(ValueError, match="npg.load: .*metadata"):
            npg.load(buf)


@pytest.mark.parametrize("legacy", [False, True])
def test_a_torch_save_file_is_named_as_such(tmp_path, legacy):
    """npg.load never unpickles: a file from torch.save (zip or legacy format) is refused with a ValueError
    that says so, not one about a member that is "not a .npy array" or "not a zip file"."""
    import npgrad as npg
    path = tmp_path / "ckpt.pt"
    torch.save({"w": torch.ones(2)}, path, _use_new_zipfile_serialization=not legacy)
    match = "it is a pickle" if legacy else "it was written by torch.save"
    with pytest.raises(ValueError, match=f"npg.load: .*ckpt.pt: {match}.*never unpickles"):
        npg.load(path)


# ------------------------------------------------------------------------------------------- generator=
def test_random_split_honours_a_generator_of_any_truthiness():
    """random_split took ``generator or <npg.random's>``: fine for a Generator object, but a falsy generator
    (the int 0 a torch user might pass) was silently replaced by the global RNG, so the split was not
    reproducible. Now the generator is checked (a TypeError naming random_split) and a Generator is used as is:
    the same seed gives the same split (torch's property), disjoint and covering."""
    with pytest.raises(TypeError, match="random_split: generator must be a numpy.random.Generator.*int 0"):
        ND.random_split(range(10), [4, 6], generator=0)
    a = ND.random_split(range(10), [4, 6], generator=np.random.default_rng(0))
    b = ND.random_split(range(10), [4, 6], generator=np.random.default_rng(0))
    assert [s.indices for s in a] == [s.indices for s in b]
    assert sorted(a[0].indices + a[1].indices) == list(range(10)) and len(a[0]) == 4


@pytest.mark.parametrize("generator", [42, torch.Generator().manual_seed(0), "seed", np.random.SeedSequence(0),
                                       np.random.RandomState(0)])
@pytest.mark.parametrize("make", [
    lambda g: ND.DataLoader(list(range(6)), batch_size=2, shuffle=True, generator=g),
    lambda g: ND.RandomSampler(range(6), generator=g),
    lambda g: ND.SubsetRandomSampler([0, 2, 4], generator=g),
    lambda g: ND.WeightedRandomSampler([1.0, 2.0], 2, generator=g),
    lambda g: ND.random_split(range(6), [3, 3], generator=g),
], ids=["DataLoader", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler", "random_split"])
def test_a_generator_that_is_not_a_numpy_generator_is_a_clear_error(make, generator):
    """A torch.Generator, an int, ... was taken and failed at the first pass with a bare AttributeError
    ('int' object has no attribute 'permutation'); a RandomState worked without workers only (it has no
    ``integers`` for the workers' seed). Now: a TypeError at construction naming the class and the argument."""
    with pytest.raises(TypeError, match=r"^\w+: generator must be a numpy.random.Generator"):
        make(generator)


def test_save_refuses_a_masked_array_instead_of_dropping_its_mask(tmp_path):
    """A numpy MaskedArray was stored as its data: it loaded as a plain array in which the masked entries were
    valid values (torch.save keeps the whole object). Now a TypeError naming where it is."""
    import npgrad as npg
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(TypeError, match=r"save: cannot store root\['stats'\], a numpy MaskedArray"):
        npg.save({"stats": masked}, tmp_path / "m.npz")
    plain = {"stats": np.ma.getdata(masked), "mask": np.ma.getmaskarray(masked)}
    npg.save(plain, tmp_path / "m.npz")
    back = npg.load(tmp_path / "m.npz")
    assert type(back["stats"]) is np.ndarray and back["mask"].tolist() == [False, True, False]


@pytest.mark.parametrize("lengths", [[3, 7], [0.25, 0.75], [1, 0, 9]])
def test_random_split_takes_a_tensor_or_array_of_lengths_as_torch(lengths):
    """torch.utils.data.random_split accepts a tensor of lengths (or fractions); npgrad raised for one."""
    import npgrad as npg
    want = [len(s) for s in TD.random_split(range(10), torch.tensor(lengths))]
    for given in (npg.tensor(lengths), np.array(lengths)):
        got = [len(s) for s in ND.random_split(range(10), given, seed=0)]
        assert got == want
        parts = ND.random_split(range(10), given, seed=0)
        assert sorted(i for p in parts for i in p) == list(range(10))
