"""npg.save / npg.load: round trips, plain .npz files, sharing (as torch.save), and crafted files.

Every malformed file must give exactly one ``ValueError`` (not a subclass such as ``UnicodeDecodeError`` or
``JSONDecodeError``) whose message names the file; a file must never make ``load`` decompress more than
``max_bytes``, nor read a member the structure does not refer to.
"""
import io
import json
import os
import struct
import tracemalloc
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch

import npgrad as npg
from npgrad import serialization

META = "__npgrad_structure__.npy"


# ------------------------------------------------------------------------------------------- crafting
def npy(arr):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=True)
    return buf.getvalue()


def structure_bytes(structure):
    raw = structure if isinstance(structure, bytes) else json.dumps(structure).encode("utf-8")
    return npy(np.frombuffer(raw, dtype=np.uint8))


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def crafted(path, root, arrays=None, fmt=1, top=None):
    """An npgrad file with the given structure ``root`` and arrays (name -> ndarray, or raw member bytes)."""
    members = {META: structure_bytes(top if top is not None else {"format": fmt, "root": root})}
    for name, v in (arrays or {}).items():
        members[f"{name}.npy"] = v if isinstance(v, bytes) else npy(v)
    return write_zip(path, members)


def set_declared_size(path, member, size):
    """Patch the uncompressed size the zip's central directory declares for ``member`` (the data stays)."""
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46:pos + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, pos + 24, size)
            path.write_bytes(bytes(data))
            return path
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(f"no member {member}")


def zeros_member(zf, name, nbytes):
    """A member of ``nbytes`` of float64 zeros, deflated as it is written (never whole in memory)."""
    with zf.open(name, "w", force_zip64=True) as fp:
        np.lib.format.write_array_header_1_0(fp, {"descr": "<f8", "fortran_order": False, "shape": (nbytes // 8,)})
        block = bytes(1 << 20)
        for _ in range(nbytes >> 20):
            fp.write(block)


def load_error(path, **kw):
    with pytest.raises(ValueError) as info:
        npg.load(path, **kw)
    assert type(info.value) is ValueError, f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    assert str(path) in message, message
    return message


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------------------------------- round trips
def test_round_trip_keeps_types_dtypes_and_order(tmp_path):
    obj = OrderedDict(w=npg.randn(2, 3), i=npg.tensor(np.arange(4, dtype=np.int32)), b=npg.tensor(True),
                      p=npg.nn.Parameter(npg.ones(2, dtype=np.float32)), frozen=npg.nn.Parameter(npg.ones(1), False),
                      a=np.arange(6).reshape(2, 3).T, s=np.array(["ab", "c"]), n=np.int16(7),
                      t=(1, 2.5, None, "x", True), d={3: "int key", "3": "str key"})
    npg.save(obj, tmp_path / "f.npz")
    out = npg.load(tmp_path / "f.npz")
    assert type(out) is OrderedDict and list(out) == list(obj)
    for k in ("w", "i", "b", "p", "frozen"):
        assert type(out[k]) is type(obj[k]) and out[k].dtype == obj[k].dtype
        assert out[k].requires_grad == obj[k].requires_grad
        np.testing.assert_array_equal(out[k].data, obj[k].data)
    np.testing.assert_array_equal(out["a"], obj["a"])
    np.testing.assert_array_equal(out["s"], obj["s"])
    assert out["n"] == 7 and out["n"].dtype == np.int16 and isinstance(out["n"], np.generic)
    assert out["t"] == obj["t"] and out["d"] == obj["d"]


def test_same_object_saved_twice_loads_as_one_object_as_torch(tmp_path):
    """The oracle is torch.save / torch.load: which positions hold the same object."""
    t, u = npg.randn(3), npg.randn(3)
    a = np.arange(3.0)
    obj = {"x": [t, t, u], "y": {"again": t, "arr": a, "arr2": a, "other": np.arange(3.0)}}
    tt, tu, ta = torch.randn(3), torch.randn(3), torch.arange(3.0)
    tobj = {"x": [tt, tt, tu], "y": {"again": tt, "arr": ta, "arr2": ta, "other": torch.arange(3.0)}}
    npg.save(obj, tmp_path / "n.npz")
    torch.save(tobj, tmp_path / "t.pt")
    out, tout = npg.load(tmp_path / "n.npz"), torch.load(tmp_path / "t.pt")

    def leaves(o):
        return [*o["x"], *o["y"].values()]
    same = [[p is q for q in leaves(out)] for p in leaves(out)]
    tsame = [[p is q for q in leaves(tout)] for p in leaves(tout)]
    assert same == tsame
    out["x"][0].data[0] = 100.0  # one object: a change shows everywhere it was saved
    assert out["y"]["again"].data[0] == 100.0 and out["x"][2].data[0] != 100.0


def test_distinct_tensors_sharing_memory_load_independent(tmp_path):
    """Documented: only the same object is shared on load; views of one array become copies."""
    base = npg.randn(4)
    npg.save([base, npg.tensor(base.data[:2], requires_grad=False)], tmp_path / "v.npz")
    a, b = npg.load(tmp_path / "v.npz")
    np.testing.assert_array_equal(b.data, a.data[:2])
    assert not np.shares_memory(a.data, b.data)


def test_nesting_up_to_the_limit_round_trips(tmp_path):
    obj = 1
    for _ in range(serialization.MAX_DEPTH):
        obj = [obj]
    npg.save(obj, tmp_path / "deep.npz")
    assert npg.load(tmp_path / "deep.npz") == obj


def test_file_objects(tmp_path):
    buf = io.BytesIO()
    npg.save({"a": np.arange(3)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(npg.load(buf)["a"], np.arange(3))
    with open(tmp_path / "f.npz", "wb") as f:
        npg.save([npg.ones(2)], f)
    with open(tmp_path / "f.npz", "rb") as f:
        assert npg.load(f)[0].shape == (2,)


# ------------------------------------------------------------------------------------------- plain .npz
@pytest.mark.parametrize("writer", [np.savez, np.savez_compressed])
def test_plain_npz_loads_as_a_dict_of_arrays(tmp_path, writer):
    sd = {"fc.weight": np.random.default_rng(0).standard_normal((3, 2)).astype(np.float32),
          "fc.bias": np.zeros(3), "steps": np.array(5), "names": np.array(["a", "bc"])}
    writer(tmp_path / "w.npz", **sd)
    out = npg.load(tmp_path / "w.npz")
    expected = dict(np.load(tmp_path / "w.npz"))  # NumPy is the oracle
    assert sorted(out) == sorted(expected)
    for k in expected:
        assert type(out[k]) is np.ndarray and out[k].dtype == expected[k].dtype
        np.testing.assert_array_equal(out[k], expected[k])
    model = npg.nn.Linear(2, 3)
    model.load_state_dict({"weight": out["fc.weight"], "bias": out["fc.bias"]})
    np.testing.assert_array_equal(model.weight.data, sd["fc.weight"].astype(model.weight.dtype))


def test_plain_npz_positional_and_fortran_order(tmp_path):
    a = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    np.savez(tmp_path / "p.npz", a, np.arange(2))
    out = npg.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(out["arr_0"], a)
    np.testing.assert_array_equal(out["arr_1"], np.arange(2))


# ------------------------------------------------------------------------------------------- memory
MEMBER_MB = 64


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    """A ~70 KB file: a small tensor the structure refers to, and 64 MiB of zeros it does not."""
    path = tmp_path_factory.mktemp("big") / "big.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(META, structure_bytes({"format": 1, "root": {"dict": [
            ["w", {"tensor": "a0", "requires_grad": True, "parameter": False}]]}}))
        zf.writestr("a0.npy", npy(np.ones(4)))
        zeros_member(zf, "junk.npy", MEMBER_MB << 20)
    assert os.path.getsize(path) < 1_000_000
    return path


def test_members_the_structure_does_not_refer_to_are_never_read(big_file):
    out = {}
    peak = peak_bytes(lambda: out.update(npg.load(big_file)))
    np.testing.assert_array_equal(out["w"].data, np.ones(4))
    assert peak < 8 << 20, f"loading read the unreferenced member: peak {peak} bytes"


def test_declared_size_over_max_bytes_is_refused_before_decompressing(big_file, tmp_path):
    path = tmp_path / "ref.npz"
    with zipfile.ZipFile(big_file) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(META, structure_bytes({"format": 1, "root": {"array": "junk"}}))
        zf.writestr(src.getinfo("junk.npy"), src.read("junk.npy"))
    errors = []
    peak = peak_bytes(lambda: errors.append(load_error(path, max_bytes=(MEMBER_MB // 2) << 20)))
    assert "max_bytes" in errors[0] and "junk" in errors[0]
    assert peak < 8 << 20, f"the member was decompressed before its size was checked: peak {peak} bytes"
    assert npg.load(path, max_bytes=None).shape == ((MEMBER_MB << 20) // 8,)  # allowed when asked


def test_default_limit_and_total_over_members(tmp_path):
    path = crafted(tmp_path / "lie.npz", {"array": "a0"}, {"a0": np.zeros(2)})
    set_declared_size(path, "a0.npy", 3 << 30)  # a 3 GiB member, declared: refused without reading a byte
    assert "max_bytes" in load_error(path)
    two = crafted(tmp_path / "two.npz", {"list": [{"array": "a0"}, {"array": "a1"}]},
                  {"a0": np.zeros(100), "a1": np.zeros(100)})
    assert len(npg.load(two, max_bytes=2000)) == 2
    assert "max_bytes" in load_error(two, max_bytes=1400)  # each fits, together they do not
    plain = tmp_path / "plain.npz"
    np.savez(plain, a=np.zeros(100), b=np.zeros(100))
    assert "max_bytes" in load_error(plain, max_bytes=1400)


def test_npy_header_larger_than_its_member(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (1 << 28,)})
    path = crafted(tmp_path / "hdr.npz", {"array": "a0"}, {"a0": header.getvalue() + bytes(16)})
    assert "declares shape" in load_error(path)


@pytest.mark.parametrize("bad", [-1, 2.5, "1GB", True])
def test_max_bytes_is_validated(tmp_path, bad):
    np.savez(tmp_path / "p.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="max_bytes"):
        npg.load(tmp_path / "p.npz", max_bytes=bad)


# ------------------------------------------------------------------------------------------- not npz at all
def test_npy_renamed_npz(tmp_path):
    np.save(tmp_path / "x.npy", np.ones(3))
    os.rename(tmp_path / "x.npy", tmp_path / "x.npz")
    assert "np.load" in load_error(tmp_path / "x.npz")


@pytest.mark.parametrize("content", [b"", b"hello world", b"PK\x03\x04" + bytes(40), os.urandom(2000)])
def test_not_a_zip(tmp_path, content):
    (tmp_path / "x.npz").write_bytes(content)
    assert "not an .npz" in load_error(tmp_path / "x.npz")


def test_truncated_and_corrupted_archives(tmp_path):
    npg.save({"w": npg.randn(50)}, tmp_path / "ok.npz")
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    load_error(tmp_path / "cut.npz")
    flipped = bytearray(data)
    at = data.find(b"a0.npy") + 6 + 200  # inside the array's data: the CRC check fails
    flipped[at] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(flipped))
    load_error(tmp_path / "crc.npz")


def test_other_compression_methods_are_refused(tmp_path):
    path = write_zip(tmp_path / "bz.npz", {META: structure_bytes({"format": 1, "root": {"array": "a0"}}),
                                            "a0.npy": npy(np.ones(3))}, zipfile.ZIP_BZIP2)
    assert "compression" in load_error(path)


def test_non_npy_member_in_plain_archive(tmp_path):
    path = write_zip(tmp_path / "p.npz", {"a.npy": npy(np.ones(2)), "notes.txt": b"hi"})
    assert "notes.txt" in load_error(path)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = crafted(tmp_path / "evil.npz", {"array": "a0"}, {"a0": np.array([{"x": 1}], dtype=object)})
    assert "pickle" in load_error(path)
    plain = tmp_path / "plain_evil.npz"
    np.savez(plain, a=np.array([{"x": 1}], dtype=object))
    assert "pickle" in load_error(plain)


def test_bad_npy_header(tmp_path):
    bad = np.lib.format.MAGIC_PREFIX + b"\x01\x00" + struct.pack("<H", 20) + b"{'descr': nonsense}\n"
    assert "a0" in load_error(crafted(tmp_path / "h.npz", {"array": "a0"}, {"a0": bad}))
    v3 = npy(np.ones(2))
    v3 = v3[:6] + b"\x07\x00" + v3[8:]
    assert "a0" in load_error(crafted(tmp_path / "v.npz", {"array": "a0"}, {"a0": v3}))


# ------------------------------------------------------------------------------------------- crafted structures
T = {"tensor": "a0", "requires_grad": True, "parameter": False}
F64 = {"a0": np.ones(2)}
CRAFTED = {
    # name: (root, arrays, words the message must contain)
    "root not an object": (5, {}, "not an object"),
    "no kind": ({}, {}, "exactly one"),
    "two kinds": ({"list": [], "tuple": []}, {}, "exactly one"),
    "unknown key": ({"list": [], "extra": 1}, {}, "unknown keys"),
    "requires_grad string": (T | {"requires_grad": "no"}, F64, "requires_grad"),
    "requires_grad missing": ({"tensor": "a0"}, F64, "requires_grad"),
    "requires_grad int": (T | {"requires_grad": 1}, F64, "requires_grad"),
    "parameter string": (T | {"parameter": "yes"}, F64, "parameter"),
    "requires_grad on ints": (T, {"a0": np.arange(3)}, "only floating"),
    "string tensor": (T | {"requires_grad": False}, {"a0": np.array(["a"])}, "dtype"),
    "member name not a string": (T | {"tensor": 0}, F64, "not a string"),
    "member name a list": ({"array": ["a0"]}, F64, "not a string"),
    "missing member": (T | {"tensor": "zz"}, F64, "'zz'"),
    "structure as a member": ({"array": "__npgrad_structure__"}, {}, "does not have"),
    "two tensors share one member": ({"list": [T, T]}, F64, "two entries"),
    "tensor and array share one member": ({"list": [T, {"array": "a0"}]}, F64, "two entries"),
    "scalar read twice": ({"list": [{"array": "a0", "scalar": True}] * 2}, {"a0": np.array(1.0)}, "two entries"),
    "same before its member": ({"list": [{"same": "a0"}, T]}, F64, "same"),
    "same of nothing": ({"same": "a9"}, F64, "same"),
    "same of a number": ({"same": 3}, F64, "same"),
    "scalar flag on a vector": ({"array": "a0", "scalar": True}, F64, "scalar"),
    "scalar flag a string": ({"array": "a0", "scalar": "yes"}, F64, "scalar"),
    "dict not a list": ({"dict": {"a": 1}}, {}, "not a list"),
    "dict item of three": ({"dict": [["a", {"value": 1}, 3]]}, {}, "[key, value]"),
    "dict key a list": ({"dict": [[["a"], {"value": 1}]]}, {}, "dict key"),
    "dict key a bool": ({"dict": [[True, {"value": 1}]]}, {}, "dict key"),
    "dict key null": ({"dict": [[None, {"value": 1}]]}, {}, "dict key"),
    "duplicate dict key": ({"dict": [["a", {"value": 1}], ["a", {"value": 2}]]}, {}, "twice"),
    "ordered a string": ({"dict": [], "ordered": "no"}, {}, "ordered"),
    "list holds a dict": ({"list": {"a": 1}}, {}, "not a list"),
    "tuple holds a string": ({"tuple": "abc"}, {}, "not a list"),
    "list item not a node": ({"list": [1, 2]}, {}, "not an object"),
    "value a list": ({"value": [1, 2]}, {}, "value entry"),
    "value an object": ({"value": {"a": 1}}, {}, "value entry"),
    "deep nesting": ({"list": []}, {}, "nested"),  # replaced below by 150 levels
}


def _deep(levels):
    node = {"value": 1}
    for _ in range(levels):
        node = {"list": [node]}
    return node


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_structure_gives_one_clear_value_error(tmp_path, name):
    root, arrays, words = CRAFTED[name]
    if name == "deep nesting":
        root = _deep(serialization.MAX_DEPTH + 50)
    message = load_error(crafted(tmp_path / "c.npz", root, arrays))
    assert words in message, message


@pytest.mark.parametrize("top", [
    [1, 2], {"format": 1}, {"root": {"value": 1}}, {"format": 1, "root": {"value": 1}, "x": 0},
    {"format": "1", "root": {"value": 1}}, {"format": True, "root": {"value": 1}},
    {"format": 2, "root": {"value": 1}}, {"format": 1.0, "root": {"value": 1}}])
def test_crafted_top_level(tmp_path, top):
    load_error(crafted(tmp_path / "t.npz", None, top=top))


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00", b"{", b"", b"[" * 100_000 + b"]" * 100_000,
                                 b'{"format": 1, "root": {"value": 1' + b"0" * 5000 + b"}}"],
                         ids=["not utf-8", "truncated", "empty", "100000 deep", "5000-digit int"])
def test_structure_that_is_not_json(tmp_path, raw):
    load_error(write_zip(tmp_path / "j.npz", {META: structure_bytes(raw)}))


def test_structure_member_of_the_wrong_dtype(tmp_path):
    path = write_zip(tmp_path / "d.npz", {META: npy(np.zeros((2, 2)))})
    assert "structure" in load_error(path)


def test_structure_is_limited_to_max_bytes_over_32(tmp_path):
    npg.save({"k" * (2 << 20): 1}, tmp_path / "s.npz")  # 2 MiB of JSON: 64 MiB of max_bytes
    assert len(npg.load(tmp_path / "s.npz", max_bytes=65 << 20)) == 1
    assert "structure member" in load_error(tmp_path / "s.npz", max_bytes=63 << 20)
    npg.save({"k" * 200: 1}, tmp_path / "small.npz")  # up to 1 MiB is always allowed
    assert npg.load(tmp_path / "small.npz", max_bytes=0) == {"k" * 200: 1}


# ------------------------------------------------------------------------------------------- save errors
def test_save_of_a_recursive_container_is_a_clear_error(tmp_path):
    d = {"a": [1]}
    d["a"].append(d)
    with pytest.raises(ValueError, match=r"root\['a'\]\[1\] contains itself"):
        npg.save(d, tmp_path / "r.npz")
    lst = []
    lst.append(lst)
    with pytest.raises(ValueError, match="contains itself"):
        npg.save(lst, tmp_path / "r.npz")
    shared = [1, 2]  # the same list twice is no cycle: it is saved (as two copies)
    npg.save({"a": shared, "b": shared}, tmp_path / "s.npz")
    assert npg.load(tmp_path / "s.npz") == {"a": [1, 2], "b": [1, 2]}


def test_save_of_too_deep_nesting_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="nested more than"):
        npg.save(_deep_list(serialization.MAX_DEPTH + 1), tmp_path / "d.npz")
    with pytest.raises(ValueError, match="nested more than"):
        npg.save(_deep_list(5000), tmp_path / "d.npz")


def _deep_list(levels):
    obj = 1
    for _ in range(levels):
        obj = [obj]
    return obj
