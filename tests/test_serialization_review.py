"""Review of npg.save / npg.load against torch.save / torch.load: lazy modules' placeholders, torch's keyword
arguments, and the errors for what is not a file."""
import io

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import nn


def round_trip(obj):
    buf = io.BytesIO()
    npg.save(obj, buf)
    buf.seek(0)
    return npg.load(buf)


def torch_round_trip(obj):
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


# ---------------------------------------------------------------------------------- lazy placeholders
@pytest.mark.parametrize("lazy", ["LazyLinear", "LazyBatchNorm1d"])
def test_uninitialized_lazy_state_dict_round_trips_as_placeholders_as_torch(lazy):
    """torch.save keeps an UninitializedParameter / UninitializedBuffer, so the checkpoint of a lazy module saved
    before its first forward loads into a fresh lazy module that stays lazy and infers its shapes from its first
    input. (npg.save wrote an empty array: the module loaded it as a weight of shape (0,), in_features=0.)"""
    make = getattr(nn, lazy)
    tmake = getattr(torch.nn, lazy)
    args = (3,) if lazy == "LazyLinear" else ()
    sd, tsd = round_trip(make(*args).state_dict()), torch_round_trip(tmake(*args).state_dict())
    assert list(sd) == list(tsd)
    for k in tsd:
        assert nn.parameter.is_lazy(sd[k]) == torch.nn.parameter.is_lazy(tsd[k]), k
        assert type(sd[k]).__name__ == type(tsd[k]).__name__, k
        if not torch.nn.parameter.is_lazy(tsd[k]):
            np.testing.assert_array_equal(np.asarray(sd[k].data), tsd[k].numpy())
    m, tm = make(*args), tmake(*args)
    m.load_state_dict(sd)
    tm.load_state_dict(tsd)
    assert m.has_uninitialized_params() and tm.has_uninitialized_params()
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    assert m(npg.tensor(x)).shape == tuple(tm(torch.tensor(x)).shape) == ((4, 3) if args else (4, 5))
    assert tuple(m.weight.shape) == tuple(tm.weight.shape)


def test_uninitialized_placeholder_keeps_dtype_and_requires_grad():
    p = nn.UninitializedParameter(requires_grad=False, dtype=np.float32)
    b = nn.UninitializedBuffer(dtype=np.float16)
    q, c = round_trip([p, b])
    assert type(q) is nn.UninitializedParameter and type(c) is nn.UninitializedBuffer
    assert q.requires_grad is False and c.requires_grad is False
    q.materialize((2,))
    c.materialize(3)
    assert q.data.dtype == np.float32 and c.data.dtype == np.float16
    p2, = round_trip([nn.UninitializedParameter(dtype=np.dtype(">f4"))])
    p2.materialize(1)
    assert p2.data.dtype == np.float32 and p2.data.dtype.isnative and p2.requires_grad


def test_placeholder_saved_twice_loads_as_one_object_as_torch():
    p = nn.UninitializedParameter()
    q = round_trip({"a": p, "b": [p]})
    tp = torch_round_trip({"a": torch.nn.UninitializedParameter(), "b": None})
    assert type(q["a"]).__name__ == type(tp["a"]).__name__
    assert q["a"] is q["b"][0]


@pytest.mark.parametrize("entry", [
    {"uninitialized": "u0", "parameter": True, "dtype": "|O", "requires_grad": False},
    {"uninitialized": "u0", "parameter": True, "dtype": "[('a', '<f4')]", "requires_grad": False},
    {"uninitialized": "u0", "parameter": True, "dtype": "not a dtype", "requires_grad": False},
    {"uninitialized": "u0", "parameter": True, "dtype": 3, "requires_grad": False},
    {"uninitialized": "u0", "parameter": True, "dtype": "<i8", "requires_grad": True},
    {"uninitialized": "u0", "parameter": "yes", "dtype": "<f4", "requires_grad": True},
    {"uninitialized": 0, "parameter": True, "dtype": "<f4", "requires_grad": True},
    {"uninitialized": "u0", "dtype": "<f4", "requires_grad": True},
    {"uninitialized": "u0", "parameter": True, "dtype": "<f4", "requires_grad": True, "shape": [2]},
])
def test_crafted_placeholder_entries_are_one_clear_value_error(tmp_path, entry):
    import json
    import zipfile
    path = tmp_path / "crafted.npz"
    raw = json.dumps({"format": 1, "root": {"list": [entry]}}).encode()
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(raw, dtype=np.uint8))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__npgrad_structure__.npy", buf.getvalue())
    with pytest.raises(ValueError) as info:
        npg.load(path)
    assert type(info.value) is ValueError and str(path) in str(info.value)


# ---------------------------------------------------------------------------------- torch.load's arguments
def saved_both():
    buf, tbuf = io.BytesIO(), io.BytesIO()
    npg.save({"w": npg.tensor(np.arange(3.0, dtype=np.float32))}, buf)
    torch.save({"w": torch.arange(3.0)}, tbuf)
    buf.seek(0)
    tbuf.seek(0)
    return buf, tbuf


@pytest.mark.parametrize("map_location", ["cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda s, loc: s, None])
@pytest.mark.parametrize("weights_only", [True, False, None])
def test_map_location_and_weights_only_on_the_cpu_are_accepted_as_torch(map_location, weights_only):
    """torch.load(f, map_location=..., weights_only=...) loads onto the CPU with each of these; npgrad runs on the
    CPU only and never unpickles, so they change nothing (npg.load raised TypeError: unexpected keyword)."""
    buf, tbuf = saved_both()
    out = npg.load(buf, map_location=map_location, weights_only=weights_only)
    ref = torch.load(tbuf, map_location=map_location, weights_only=weights_only)
    np.testing.assert_array_equal(out["w"].data, ref["w"].numpy())
    buf.seek(0)
    np.testing.assert_array_equal(npg.load(buf, map_location)["w"].data, ref["w"].numpy())  # positional, as torch


@pytest.mark.parametrize("map_location", ["cuda", "cuda:1", torch.device("meta"), {"cpu": "cuda:0"},
                                          lambda s, loc: None, 3])
def test_map_location_off_the_cpu_is_a_clear_error(map_location):
    buf, _ = saved_both()
    with pytest.raises((ValueError, TypeError), match=r"npg\.load.*map_location"):
        npg.load(buf, map_location=map_location)


def test_weights_only_must_be_a_bool():
    buf, _ = saved_both()
    with pytest.raises(TypeError, match=r"npg\.load.*weights_only"):
        npg.load(buf, weights_only="yes")


# ---------------------------------------------------------------------------------- what is not a file
@pytest.mark.parametrize("f", [None, b"PK\x03\x04", 3, ["a.npz"]])
def test_load_of_what_is_not_a_path_or_file_names_npg_load(f):
    """torch.load(None / bytes / 3) says it needs a seekable file; npg.load raised a bare AttributeError
    ('bytes' object has no attribute 'seek')."""
    with pytest.raises(AttributeError, match="seekable"):
        torch.load(f)
    with pytest.raises(TypeError, match=r"npg\.load.*(path|file)"):
        npg.load(f)


def test_load_of_a_text_mode_or_unseekable_file_says_so(tmp_path):
    path = tmp_path / "c.npz"
    npg.save({"w": npg.ones(2)}, path)
    with open(path, "r") as fh:  # it said "not an .npz (zip) archive", which the file is
        with pytest.raises(TypeError, match=r"npg\.load: .*c\.npz.*text mode"):
            npg.load(fh)

    class Stream(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

        def seekable(self):
            return False

    with pytest.raises(ValueError, match=r"npg\.load: .*not seekable.*BytesIO"):
        npg.load(Stream(path.read_bytes()))
    np.testing.assert_array_equal(npg.load(io.BytesIO(path.read_bytes()))["w"].data, np.ones(2))


@pytest.mark.parametrize("f", [None, 3, b"x.npz"])
def test_save_to_what_is_not_a_path_or_file_names_npg_save(f):
    with pytest.raises(TypeError, match=r"npg\.save.*(path|file)"):
        npg.save({"a": 1}, f)


def test_save_to_a_text_mode_file_says_so(tmp_path):
    with open(tmp_path / "t.npz", "w") as fh:  # it was numpy's "write() argument must be str, not bytes"
        with pytest.raises(TypeError, match=r"npg\.save.*text mode"):
            npg.save({"a": 1}, fh)


def test_save_and_load_with_pathlib_and_open_handles_overwrite(tmp_path):
    path = tmp_path / "ckpt"  # written exactly as given, as torch.save (np.savez would add .npz)
    npg.save({"step": 1}, path)
    npg.save({"step": 2, "w": npg.zeros(3)}, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    with open(path, "rb") as fh:
        assert npg.load(fh)["step"] == 2
    with open(path, "wb") as fh:
        npg.save({"step": 3}, fh)
    assert npg.load(str(path)) == {"step": 3}
