"""npgrad.data (TensorDataset, DataLoader, random_split, read_idx) and npg.save / npg.load."""
import gzip
import io
import struct
from collections import OrderedDict

import numpy as np
import pytest

import npgrad as npg
from npgrad.data import DataLoader, Dataset, TensorDataset, random_split, read_idx


def test_tensor_dataset_and_loader_batches():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    ds = TensorDataset(X, npg.tensor(y))
    assert len(ds) == 10
    xi, yi = ds[3]
    np.testing.assert_array_equal(xi.data, X[3])
    assert yi.item() == 3
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(isinstance(b[0], npg.Tensor) and not b[0].requires_grad for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[0].shape[0] for b in dl] == [4, 4]
    with pytest.raises(ValueError, match="size mismatch"):
        TensorDataset(X, y[:5])


def test_shuffle_is_seeded_and_covers_everything():
    ds = TensorDataset(np.arange(100))
    a = [b[0].data for b in DataLoader(ds, batch_size=32, shuffle=True, seed=3)]
    b = [b[0].data for b in DataLoader(ds, batch_size=32, shuffle=True, seed=3)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert sorted(np.concatenate(a).tolist()) == list(range(100))
    assert not np.array_equal(np.concatenate(a), np.arange(100))
    loader = DataLoader(ds, batch_size=100, shuffle=True, seed=3)
    e1, e2 = next(iter(loader))[0].data, next(iter(loader))[0].data
    assert not np.array_equal(e1, e2)  # a new permutation each epoch
    gen_a = [x[0].data for x in DataLoader(ds, 50, shuffle=True, generator=np.random.default_rng(7))]
    gen_b = [x[0].data for x in DataLoader(ds, 50, shuffle=True, generator=np.random.default_rng(7))]
    np.testing.assert_array_equal(np.concatenate(gen_a), np.concatenate(gen_b))
    npg.random.seed(1)
    g1 = next(iter(DataLoader(ds, 100, shuffle=True)))[0].data
    npg.random.seed(1)
    g2 = next(iter(DataLoader(ds, 100, shuffle=True)))[0].data
    np.testing.assert_array_equal(g1, g2)


def test_plain_array_and_generic_dataset():
    batches = list(DataLoader(np.ones((5, 3)), batch_size=2))
    assert isinstance(batches[0], npg.Tensor) and batches[-1].shape == (1, 3)

    class Squares(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float64), i % 2

    xb, yb = next(iter(DataLoader(Squares(), batch_size=4)))
    np.testing.assert_array_equal(xb.data[:, 1], [0, 1, 4, 9])
    np.testing.assert_array_equal(yb.data, [0, 1, 0, 1])
    with pytest.raises(ValueError):
        DataLoader(Squares(), batch_size=0)


@pytest.mark.parametrize("batch_size", [2.5, 2.0, True, False, 0, -1, "2", np.float64(2.0), np.bool_(True)])
def test_batch_size_must_be_a_positive_integer_as_torch(batch_size):
    from torch.utils.data import DataLoader as TorchLoader, TensorDataset as TorchDataset
    import torch
    torch_bs = batch_size.item() if isinstance(batch_size, np.generic) else batch_size
    with pytest.raises(ValueError):   # (None means no batching: tests/test_data_torch_parity.py)
        TorchLoader(TorchDataset(torch.arange(10)), batch_size=torch_bs)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(TensorDataset(np.arange(10)), batch_size=batch_size)


@pytest.mark.parametrize("drop_last", [1, "yes", None])
def test_drop_last_must_be_a_bool_as_torch(drop_last):
    from torch.utils.data import DataLoader as TorchLoader, TensorDataset as TorchDataset
    import torch
    with pytest.raises(ValueError):
        TorchLoader(TorchDataset(torch.arange(10)), batch_size=2, drop_last=drop_last)
    with pytest.raises(ValueError, match="drop_last"):
        DataLoader(TensorDataset(np.arange(10)), batch_size=2, drop_last=drop_last)


def test_numpy_integer_batch_size_is_accepted():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=np.int64(4))
    assert [len(b[0]) for b in loader] == [4, 4, 2] and type(loader.batch_size) is int


def test_random_split():
    ds = TensorDataset(np.arange(10))
    a, b = random_split(ds, [0.8, 0.2], seed=0)
    assert len(a) == 8 and len(b) == 2
    seen = sorted(int(a[i][0].item()) for i in range(8)) + sorted(int(b[i][0].item()) for i in range(2))
    assert sorted(seen) == list(range(10))


def _idx_bytes(arr, code):
    return struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + \
        arr.astype(arr.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                                        (np.float32, 0x0D), (np.float64, 0x0E)])
def test_read_idx(tmp_path, dtype, code):
    arr = (np.arange(2 * 3 * 4) - (0 if dtype == np.uint8 else 7)).astype(dtype).reshape(2, 3, 4)
    path = tmp_path / "x-idx3"
    path.write_bytes(_idx_bytes(arr, code))
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)
    gz = tmp_path / "x-idx3.gz"
    gz.write_bytes(gzip.compress(_idx_bytes(arr, code)))
    np.testing.assert_array_equal(read_idx(gz), arr)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(_idx_bytes(np.zeros((3, 3), np.uint8), 0x08)[:-2])
    with pytest.raises(ValueError, match="expected"):
        read_idx(short)


# ----------------------------------------------------------------------- save / load
def test_save_load_nested_structures(tmp_path):
    obj = {
        "model": OrderedDict(w=npg.randn(2, 3), b=npg.zeros(3, requires_grad=False), n=npg.tensor(5)),
        "param": npg.nn.Parameter(npg.ones(2)),
        "optim": {"state": {0: {"step": 3.0, "exp_avg": np.ones((2, 3), np.float32)}},
                  "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "name": None,
                                    "nesterov": False}]},
        "epoch": 7, "scalar": np.float32(2.5), "text": "héllo", "empty": [], "nan": float("nan"),
    }
    path = tmp_path / "ckpt"  # no extension: written exactly there
    npg.save(obj, path)
    assert path.exists() and not (tmp_path / "ckpt.npz").exists()
    out = npg.load(path)
    assert isinstance(out["model"], OrderedDict) and list(out["model"]) == ["w", "b", "n"]
    np.testing.assert_array_equal(out["model"]["w"].data, obj["model"]["w"].data)
    assert out["model"]["w"].requires_grad and not out["model"]["b"].requires_grad
    assert out["model"]["n"].dtype == np.int64
    assert isinstance(out["param"], npg.nn.Parameter)
    st = out["optim"]["state"][0]
    assert st["step"] == 3.0 and st["exp_avg"].dtype == np.float32
    g = out["optim"]["param_groups"][0]
    assert g["betas"] == (0.9, 0.999) and g["params"] == [0, 1] and g["name"] is None and g["nesterov"] is False
    assert out["epoch"] == 7 and out["scalar"] == np.float32(2.5) and out["text"] == "héllo" and out["empty"] == []
    assert np.isnan(out["nan"])
    buf = io.BytesIO()
    npg.save({"a": np.arange(3)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(npg.load(buf)["a"], np.arange(3))


def test_save_refuses_what_it_cannot_store_without_pickle(tmp_path):
    with pytest.raises(TypeError):
        npg.save({"f": lambda: 1}, tmp_path / "x.npz")
    with pytest.raises(TypeError):
        npg.save({"o": np.array([object()], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError):
        npg.save({(1, 2): 3}, tmp_path / "x.npz")


def test_load_never_unpickles(tmp_path):
    evil = tmp_path / "evil.npz"
    np.savez(evil, __npgrad_structure__=np.frombuffer(b'{"format": 1, "root": {"array": "a0"}}', np.uint8),
             a0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        npg.load(evil)
    plain = tmp_path / "plain.npz"  # a plain .npz of arrays is a dict of arrays (tests/test_serialization.py)
    np.savez(plain, x=np.ones(2))
    np.testing.assert_array_equal(npg.load(plain)["x"], np.ones(2))


# --------------------------------------------------------------- default_collate against PyTorch's
# (found by comparing the two on these batches: strings became a Tensor of strings, a namedtuple batch
# raised TypeError, tuples came back as tuples where PyTorch gives lists)
def _collate_cases():
    import collections
    P = collections.namedtuple("P", "a b")
    return {
        "floats": [1.5, 2.5], "ints": [1, 2], "bools": [True, False], "np_scalars": [np.float32(1), np.float32(2)],
        "arrays": [np.ones(2, np.float32), np.zeros(2, np.float32)], "tuples": [(1, 2.0), (3, 4.0)],
        "dicts": [{"x": np.ones(2), "y": 1}, {"x": np.zeros(2), "y": 2}], "strings": ["a", "b"],
        "namedtuples": [P(1, 2.0), P(3, 4.0)], "nested": [{"a": (np.ones(1), [1, 2])}, {"a": (np.zeros(1), [3, 4])}],
        "lists": [[1, 2], [3, 4]], "0d_arrays": [np.array(1.0), np.array(2.0)], "uint8": [np.ones(2, np.uint8)] * 2,
    }


def _canonical(x):
    import torch
    if isinstance(x, (torch.Tensor, npg.Tensor)):
        arr = x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x.data)
        return ("tensor", str(arr.dtype), arr.tolist())
    if isinstance(x, dict):
        return ("dict", {k: _canonical(v) for k, v in x.items()})
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, [_canonical(v) for v in x])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_canonical(v) for v in x])
    return ("value", type(x).__name__, x)


@pytest.mark.parametrize("name", sorted(_collate_cases()))
def test_default_collate_matches_torch(name):
    from torch.utils.data import default_collate as torch_collate
    batch = _collate_cases()[name]
    assert _canonical(npg.data.default_collate(batch)) == _canonical(torch_collate(batch))


def test_default_collate_errors_like_torch():
    with pytest.raises(RuntimeError, match="equal size"):
        npg.data.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate"):
        npg.data.default_collate([np.array(["a"]), np.array(["b"])])
