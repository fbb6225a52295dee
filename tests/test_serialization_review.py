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
