"""``npg.save`` / ``npg.load``: state dicts (and nested dicts, lists, numbers, strings) as ``.npz`` files.

Arrays are stored as ``.npy`` members; the structure around them is JSON in one more member. ``npg.load``
reads the zip archive itself: it never unpickles (an untrusted file cannot run code), reads only the members
the structure refers to, checks every member's declared size against ``max_bytes`` before decompressing
anything, and turns every defect of a malformed file into one ``ValueError`` naming the file and the problem.
A plain ``.npz`` of arrays (``np.savez(path, **state_dict)``) loads as a dict of arrays.

Sharing: one Tensor (or array) object saved in several places loads as one object in those places, as with
``torch.save``. Distinct tensors that share memory (views of one another) load as independent arrays, and a
dict or list saved in several places loads as several equal copies. A lazy module's ``UninitializedParameter``
/ ``UninitializedBuffer`` (no shape yet) is stored as such (its dtype and ``requires_grad``), as ``torch.save``
keeps it, so the checkpoint of a lazy module saved before its first forward loads into one that stays lazy.
A state dict's ``_metadata`` (each module's ``version``, which ``load_state_dict`` passes to
``_load_from_state_dict`` to upgrade old checkpoints) is kept, as ``torch.save`` keeps it.
"""
import json
import os
import zipfile
import zlib

import numpy as np

from ._serialization_args import _check_file_object, _check_map_location, _describe, _is_pickle, _starts_with
from .tensor import Tensor

_META = "__npgrad_structure__"
_FORMAT = 1
MAX_DEPTH = 100             # nesting of dicts / lists / tuples, for save and load alike
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: the most ``load`` decompresses unless told otherwise
_JSON_COST = 32             # bytes of Python objects per byte of JSON, at most (``[]`` -> a list and a pointer)
_MIN_JSON = 1 << 20         # ... but a structure of 1 MiB is always allowed
_CHUNK = 1 << 24


# ----------------------------------------------------------------------------------------------- save
def _is_lazy(t):
    from .nn.parameter import is_lazy
    return is_lazy(t)


class _Encoder:
    def __init__(self):
        self.arrays = {}
        self.seen = {}      # id(Tensor or ndarray) -> member name: the same object saved twice is stored once
        self.keep = []      # the objects in ``seen``, alive until the end, so no id is reused
        self.path = set()   # ids of the containers being encoded: one met again is a cycle

    def member(self, obj, arr):
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr
        self.seen[id(obj)] = name
        self.keep.append(obj)
        return name

    def encode(self, obj, where, depth):
        if isinstance(obj, (Tensor, np.ndarray)) and id(obj) in self.seen:
            return {"same": self.seen[id(obj)]}
        if isinstance(obj, Tensor) and _is_lazy(obj):
            # a lazy module's placeholder (no shape yet): stored as such, as torch.save keeps it, so a lazy
            # module's checkpoint loads into a fresh lazy module that still infers its shapes
            from .nn.parameter import Parameter
            name = f"u{len(self.seen)}"
            self.seen[id(obj)] = name
            self.keep.append(obj)
            return {"uninitialized": name, "parameter": isinstance(obj, Parameter), "dtype": obj.data.dtype.str,
                    "requires_grad": bool(obj._requires_grad)}
        if isinstance(obj, Tensor):
            return {"tensor": self.member(obj, np.asarray(obj.data)), "requires_grad": bool(obj._requires_grad),
                    "parameter": type(obj).__name__ == "Parameter"}
        if isinstance(obj, np.ndarray):
            if isinstance(obj, np.ma.MaskedArray):   # (stored as its data, the mask was silently lost)
                raise TypeError(f"save: cannot store {where}, a numpy MaskedArray: its mask would be lost; save "
                                f"its .data and np.ma.getmaskarray(...) as two arrays")
            if obj.dtype.kind not in "biufcSU":
                raise TypeError(f"save: cannot store {where}, an array of dtype {obj.dtype}, without pickle")
            return {"array": self.member(obj, obj)}
        if isinstance(obj, np.generic):
            arr = np.asarray(obj)
            if arr.dtype.kind not in "biufcSU":
                raise TypeError(f"save: cannot store {where}, a scalar of dtype {arr.dtype}, without pickle")
            name = f"a{len(self.arrays)}"
            self.arrays[name] = arr
            return {"array": name, "scalar": True}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return {"value": obj}
        if not isinstance(obj, (dict, list, tuple)):
            raise TypeError(f"save: cannot store {where}, an object of type {type(obj).__name__} (use Tensors, "
                            f"NumPy arrays, numbers, strings, None, and dicts / lists / tuples of them)")
        if id(obj) in self.path:
            raise ValueError(f"save: {where} contains itself (a recursive {type(obj).__name__}); "
                             f"only trees of containers can be saved")
        if depth >= MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} containers deep")
        self.path.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = []
                for k, v in obj.items():
                    if not isinstance(k, (str, int)) or isinstance(k, bool):
                        raise TypeError(f"save: dict keys must be str or int, got {type(k).__name__} in {where}")
                    items.append([k, self.encode(v, f"{where}[{k!r}]", depth + 1)])
                node = {"dict": items, "ordered": type(obj).__name__ == "OrderedDict"}
                metadata = vars(obj).get("_metadata") if node["ordered"] and hasattr(obj, "__dict__") else None
                if metadata is not None:   # a state dict's versions, which load_state_dict reads (as torch.save)
                    node["metadata"] = self.encode(metadata, f"{where}._metadata", depth + 1)
                return node
            kind = "list" if isinstance(obj, list) else "tuple"
            return {kind: [self.encode(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        finally:
            self.path.discard(id(obj))


def save(obj, f):
    """Save ``obj`` (a state dict, or nested dicts/lists/tuples of Tensors, arrays, numbers, strings, None)
    to ``f`` (a path, written exactly as given, or a binary file object) in ``.npz`` format.

    A Tensor or array object that appears several times is stored once and loads as one object (as with
    ``torch.save``); distinct tensors sharing memory load as independent arrays. A container that contains
    itself, or nesting deeper than ``MAX_DEPTH`` (100), is a ``ValueError``."""
    enc = _Encoder()
    structure = {"format": _FORMAT, "root": enc.encode(obj, "root", 0)}
    meta = np.frombuffer(json.dumps(structure).encode("utf-8"), dtype=np.uint8)
    if not isinstance(f, (str, os.PathLike)):
        _check_file_object("save", f, "write")
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            np.savez(fh, **enc.arrays, **{_META: meta})
    else:
        np.savez(f, **enc.arrays, **{_META: meta})


# ----------------------------------------------------------------------------------------------- load
class _Malformed(Exception):
    """A defect of the file; ``load`` reports it as one ValueError naming the file."""


def _need(cond, problem):
    if not cond:
        raise _Malformed(problem)


class _Reader:
    """Members of an open zip archive read as .npy arrays, each one's size checked before decompressing."""

    def __init__(self, zf, budget):
        self.zf = zf
        self.budget = budget  # bytes left to decompress, or None for no limit
        self.infos = {info.filename: info for info in zf.infolist()}

    def info(self, member):
        info = self.infos.get(member)
        _need(info is not None, f"the structure refers to member {member!r}, which the file does not have")
        _need(info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED),
              f"member {member!r} uses zip compression method {info.compress_type} (only stored and deflated, "
              f"as np.savez and np.savez_compressed write, are read)")
        _need(not info.flag_bits & 0x1, f"member {member!r} is encrypted")
        return info

    def charge(self, member, nbytes):
        if self.budget is None:
            return
        if nbytes > self.budget:
            raise _Malformed(f"member {member!r} declares {nbytes} bytes, more than the {self.budget} bytes left "
                             f"of max_bytes; pass npg.load(..., max_bytes=N) with a larger N (or None) if you "
                             f"trust this file")
        self.budget -= nbytes

    def check_sizes(self, members):
        """Charge every member's declared (uncompressed) size to the budget before reading any of them."""
        for m in members:
            self.charge(m, self.info(m).file_size)

    def array(self, member):
        info = self.info(member)
        try:
            with self.zf.open(info) as fp:
                version = np.lib.format.read_magic(fp)
                _need(version in ((1, 0), (2, 0)), f"member {member!r} is a .npy file of unsupported version "
                                                   f"{version[0]}.{version[1]}")
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = read_header(fp)
                _need(not dtype.hasobject, f"member {member!r} holds Python objects (dtype {dtype}), which "
                                           f"would need pickle: refused")
                count = 1
                for n in shape:
                    count *= n
                nbytes = count * dtype.itemsize
                header = fp.tell()
                _need(header + nbytes == info.file_size,
                      f"member {member!r} declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                      f"{info.file_size - header} bytes of data")
                arr = np.empty(count, dtype=dtype)
                if nbytes:
                    buf = arr.view(np.uint8)
                    pos = 0
                    while pos < nbytes:
                        chunk = fp.read(min(_CHUNK, nbytes - pos))
                        _need(chunk, f"member {member!r} is truncated")
                        buf[pos:pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                        pos += len(chunk)
                _need(fp.read(1) == b"", f"member {member!r} has data after its array")  # and checks the CRC
        except _Malformed:
            raise
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, TypeError, SyntaxError, KeyError,
                OverflowError, IndexError, NotImplementedError) as e:
            # (the .npy header is untrusted text, and the member's local zip header may claim features zipfile
            # does not implement, e.g. strong encryption: any failure is a defect)
            raise _Malformed(f"member {member!r} is not a valid .npy array ({type(e).__name__}: {e})") from e
        return arr.reshape(shape, order="F" if fortran else "C")


class _Decoder:
    """Build the saved object from the validated structure, reading each member when it is reached."""

    LEAVES = {"tensor": {"tensor", "requires_grad", "parameter"}, "array": {"array", "scalar"},
              "uninitialized": {"uninitialized", "parameter", "dtype", "requires_grad"},
              "same": {"same"}, "value": {"value"}, "dict": {"dict", "ordered", "metadata"}, "list": {"list"},
              "tuple": {"tuple"}}

    def __init__(self, reader):
        self.reader = reader
        self.loaded = {}   # member name -> the Tensor or array made from it
        self.taken = set()  # every member read so far: each is read once

    def members(self, node, depth=0):
        """Every member the structure reads, validating its shape on the way (before any data is read)."""
        kind = self.kind(node, depth)
        if kind in ("tensor", "array"):
            name = node[kind]
            _need(isinstance(name, str), f"the {kind} entry {node!r} names member {name!r}, not a string")
            yield name
        elif kind == "dict":
            pairs = node["dict"]
            _need(isinstance(pairs, list), f"a dict entry holds {type(pairs).__name__}, not a list of pairs")
            for pair in pairs:
                _need(isinstance(pair, list) and len(pair) == 2, f"a dict item is {pair!r:.80}, not [key, value]")
                yield from self.members(pair[1], depth + 1)
            if "metadata" in node:
                yield from self.members(node["metadata"], depth + 1)
        elif kind in ("list", "tuple"):
            _need(isinstance(node[kind], list), f"a {kind} entry holds {type(node[kind]).__name__}, not a list")
            for v in node[kind]:
                yield from self.members(v, depth + 1)

    def kind(self, node, depth):
        _need(depth <= MAX_DEPTH, f"the structure is nested more than {MAX_DEPTH} containers deep")
        _need(isinstance(node, dict), f"a structure entry is {type(node).__name__}, not an object")
        kinds = [k for k in self.LEAVES if k in node]
        _need(len(kinds) == 1, f"a structure entry has keys {sorted(node)!r:.200}, not exactly one of "
                               f"{sorted(self.LEAVES)}")
        kind = kinds[0]
        _need(set(node) <= self.LEAVES[kind], f"a {kind} entry has unknown keys {sorted(set(node) - self.LEAVES[kind])}")
        return kind

    @staticmethod
    def flag(node, key, default=None):
        _need(key in node or default is not None, f"{key!r} is missing in {node!r:.200}")
        value = node.get(key, default)
        _need(isinstance(value, bool), f"{key!r} is {value!r:.80} in {node!r:.200}; it must be true or false")
        return value

    def take(self, name, what):
        _need(name != _META and f"{name}.npy" in self.reader.infos, f"the structure refers to member {name!r}, "
                                                                     f"which the file does not have")
        _need(name not in self.taken, f"member {name!r} is read by two entries, so two objects would share one "
                                      f"array (an object saved twice is one entry and 'same' entries)")
        self.taken.add(name)
        return self.reader.array(f"{name}.npy")

    def placeholder(self, node):
        """An UninitializedParameter / UninitializedBuffer (a lazy module's, saved before its first forward)."""
        from .nn.parameter import UninitializedBuffer, UninitializedParameter
        name = node["uninitialized"]
        _need(isinstance(name, str) and name not in self.loaded and name not in self.reader.infos
              and f"{name}.npy" not in self.reader.infos,
              f"an uninitialized entry is named {name!r:.80}, which is not a new name")
        parameter = self.flag(node, "parameter")
        requires_grad = self.flag(node, "requires_grad")
        dtype = node.get("dtype")
        try:
            dtype = np.dtype(dtype) if isinstance(dtype, str) else None
        except (TypeError, ValueError, SyntaxError):
            dtype = None
        _need(dtype is not None and dtype.kind in "biufc",
              f"an uninitialized entry has dtype {node.get('dtype')!r:.80}, not a bool, integer, float or "
              f"complex dtype")
        _need(dtype.kind in "fc" or not requires_grad,
              f"an uninitialized entry of dtype {dtype} has requires_grad true; only floating tensors can "
              f"require gradients")
        cls = UninitializedParameter if parameter else UninitializedBuffer
        out = cls(requires_grad=requires_grad, dtype=dtype.newbyteorder("="))
        self.loaded[name] = out
        return out

    def decode(self, node):
        kind = self.kind(node, 0)
        if kind == "tensor":
            requires_grad = self.flag(node, "requires_grad")
            parameter = self.flag(node, "parameter", False)
            arr = self.take(node["tensor"], "tensor")
            _need(arr.dtype.kind in "biufc", f"tensor member {node['tensor']!r} has dtype {arr.dtype}; tensors "
                                             f"are bool, integer, float or complex")
            _need(arr.dtype.kind in "fc" or not requires_grad,
                  f"tensor member {node['tensor']!r} of dtype {arr.dtype} has requires_grad true; only floating "
                  f"tensors can require gradients")
            if not arr.dtype.isnative:
                arr = arr.astype(arr.dtype.newbyteorder("="))
            if parameter:
                from .nn.parameter import Parameter
                out = Parameter(arr, requires_grad=requires_grad)
            else:
                out = Tensor(arr, requires_grad=requires_grad)
            self.loaded[node["tensor"]] = out
            return out
        if kind == "uninitialized":
            return self.placeholder(node)
        if kind == "array":
            scalar = self.flag(node, "scalar", False)
            arr = self.take(node["array"], "array")
            if scalar:
                _need(arr.ndim == 0, f"member {node['array']!r} is marked scalar but has shape {arr.shape}")
                return arr[()]
            self.loaded[node["array"]] = arr
            return arr
        if kind == "same":
            name = node["same"]
            _need(isinstance(name, str) and name in self.loaded,
                  f"a 'same' entry refers to {name!r:.80}, which is not a tensor or array read before it")
            return self.loaded[name]
        if kind == "value":
            value = node["value"]
            _need(value is None or isinstance(value, (bool, int, float, str)),
                  f"a value entry holds {type(value).__name__}, not a number, string, boolean or null")
            return value
        if kind == "dict":
            ordered = self.flag(node, "ordered", False)
            out = {}
            for k, v in node["dict"]:
                _need(isinstance(k, (str, int)) and not isinstance(k, bool),
                      f"a dict key is {type(k).__name__}, not a string or integer")
                _need(k not in out, f"dict key {k!r:.80} appears twice")
                out[k] = self.decode(v)
            if ordered:
                from collections import OrderedDict
                out = OrderedDict(out)
            if "metadata" in node:
                _need(ordered, "a dict entry that is not ordered has metadata (only a state dict, an OrderedDict, "
                               "carries it)")
                metadata = self.decode(node["metadata"])
                _need(isinstance(metadata, dict), f"a dict's metadata is {type(metadata).__name__}, not a dict")
                out._metadata = metadata
            return out
        items = [self.decode(v) for v in node[kind]]
        return items if kind == "list" else tuple(items)


def _load_zip(zf, max_bytes):
    reader = _Reader(zf, max_bytes)
    if _META + ".npy" not in reader.infos:  # a plain .npz of arrays, as np.savez writes
        names = list(reader.infos)
        pickled = [m for m in names if m == "data.pkl" or m.endswith("/data.pkl")]
        if pickled:
            raise _Malformed(f"it was written by torch.save (a zip of pickled objects, member {pickled[0]!r}); "
                             f"npg.load never unpickles: read it with torch.load and save its arrays "
                             f"(t.numpy()) with npg.save or np.savez")
        for m in names:
            _need(m.endswith(".npy"), f"member {m!r} is not a .npy array (not an .npz written by np.savez "
                                      f"or npg.save)")
        reader.check_sizes(names)
        return {m[:-len(".npy")]: reader.array(m) for m in names}
    size = reader.info(_META + ".npy").file_size
    limit = None if max_bytes is None else max(max_bytes // _JSON_COST, _MIN_JSON)
    _need(limit is None or size <= limit,
          f"the structure member declares {size} bytes, more than {limit} (max_bytes / {_JSON_COST}: the Python "
          f"objects JSON becomes take up to {_JSON_COST} times its size); pass npg.load(..., max_bytes=N) with "
          f"a larger N (or None) if you trust this file")
    raw = reader.array(_META + ".npy")
    _need(raw.dtype == np.uint8 and raw.ndim == 1, f"the structure member is a {raw.dtype} array of shape "
                                                   f"{raw.shape}, not bytes")
    try:
        structure = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise _Malformed(f"the structure member is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from e
    _need(isinstance(structure, dict) and set(structure) == {"format", "root"},
          "the structure is not an object with exactly the keys 'format' and 'root'")
    version = structure["format"]
    _need(type(version) is int and version == _FORMAT, f"unsupported format version {version!r:.80} (this "
                                                       f"npgrad reads version {_FORMAT})")
    decoder = _Decoder(reader)
    members = list(decoder.members(structure["root"]))
    reader.check_sizes(sorted({f"{m}.npy" for m in members if m != _META} & set(reader.infos)))
    return decoder.decode(structure["root"])


def load(f, map_location=None, *, weights_only=None, max_bytes=DEFAULT_MAX_BYTES):
    """Load what ``save`` wrote, or a plain ``.npz`` of arrays (as a dict of arrays; ``np.savez(path, **sd)``).

    ``map_location`` and ``weights_only`` are ``torch.load``'s, accepted so that its calls carry over: npgrad
    loads everything onto the CPU, so ``map_location`` may only say so (``"cpu"``, ``torch.device("cpu")``, a
    dict mapping locations to the CPU, or a function returning the storage it is given, as
    ``lambda storage, loc: storage``); any other device is a ``ValueError``. No pickle is ever read, whatever
    ``weights_only`` says (``True``, ``False`` or ``None``).

    Tensors come back as Tensors (Parameters as Parameters), arrays as arrays; a Tensor or array saved several
    times comes back as one object. Only the members the structure refers to are read; their declared sizes
    together may not exceed ``max_bytes`` (default 1 GiB; ``None`` for no limit), and the JSON structure's
    ``max_bytes / 32`` or 1 MiB, whichever is more (its Python objects take up to 32 times its size). Both are checked
    before anything is decompressed.
    No pickle is ever read, so an untrusted file cannot execute code. A malformed file raises one
    ``ValueError`` naming the file and the problem."""
    if max_bytes is not None and (not isinstance(max_bytes, (int, np.integer)) or isinstance(max_bytes, bool)
                                  or max_bytes < 0):
        raise ValueError(f"load: max_bytes must be a non-negative integer or None, got {max_bytes!r}")
    _check_map_location(map_location)
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"npg.load: weights_only must be True, False or None, got {weights_only!r:.80}")
    name = _describe(f)
    if not isinstance(f, (str, os.PathLike)):
        _check_file_object("load", f, "read")
        seekable = getattr(f, "seekable", None)
        if not hasattr(f, "seek") or (callable(seekable) and not seekable()):
            raise ValueError(f"npg.load: {name}: the file object is not seekable (a zip archive is read from its "
                             f"end); read it into an io.BytesIO first")
    fh = open(f, "rb") if isinstance(f, (str, os.PathLike)) else f
    try:
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as e:
            if _starts_with(fh, np.lib.format.MAGIC_PREFIX):
                problem = "it is a single .npy array (np.save), not an .npz archive; read it with np.load"
            elif _is_pickle(fh):
                problem = ("it is a pickle (as torch.save's legacy format or pickle.dump write), not an .npz "
                           "archive; npg.load never unpickles")
            else:
                problem = f"it is not an .npz (zip) archive ({type(e).__name__}: {e})"
            raise ValueError(f"npg.load: {name}: {problem}") from None
        with zf:
            try:
                return _load_zip(zf, max_bytes)
            except _Malformed as e:
                raise ValueError(f"npg.load: {name}: {e}") from e.__cause__
            except zipfile.BadZipFile as e:
                raise ValueError(f"npg.load: {name}: damaged zip archive ({e})") from e
    finally:
        if fh is not f:
            fh.close()
