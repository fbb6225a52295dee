"""The arguments of ``npg.save`` / ``npg.load`` checked as ``torch.save`` / ``torch.load`` take them: the file
(a path or a binary file object) and ``map_location`` (accepted when it places everything on the CPU)."""
import io
import os

import numpy as np


def _describe(f):
    """How an error names the file: its path, else the file object's name, else its type."""
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return getattr(f, "name", None) or f"<{type(f).__name__}>"


def _check_file_object(op, f, method):
    """``f`` (not a path) must be a binary file object with ``method`` (read or write)."""
    if not callable(getattr(f, method, None)):
        hint = " (wrap bytes in io.BytesIO)" if isinstance(f, (bytes, bytearray, memoryview)) else ""
        raise TypeError(f"npg.{op}: f must be a path (str or os.PathLike) or a binary file object with "
                        f"{method}(), got {type(f).__name__}{hint}")
    if isinstance(f, io.TextIOBase):
        mode = "rb" if op == "load" else "wb"
        raise TypeError(f"npg.{op}: {_describe(f)} is open in text mode; open it in binary mode ({mode!r})")


def _is_cpu(device):
    return isinstance(device, str) and device in ("cpu", "cpu:0") or type(device).__name__ == "device" and \
        str(device) in ("cpu", "cpu:0")


def _check_map_location(map_location):
    """torch.load's ``map_location``, accepted when it places everything on the CPU (npgrad's only device)."""
    if map_location is None or _is_cpu(map_location):
        return
    if isinstance(map_location, dict):
        bad = [f"{k!r}: {v!r}" for k, v in map_location.items() if not _is_cpu(v)]
        if not bad:
            return
        raise ValueError(f"npg.load: map_location maps {', '.join(bad)}; npgrad runs on the CPU only (map to "
                         f"'cpu', or leave map_location out)")
    if callable(map_location) and not isinstance(map_location, (str, type)):
        probe = np.zeros(0, dtype=np.float32)
        if map_location(probe, "cpu") is probe:
            return
        raise ValueError(f"npg.load: map_location={map_location!r:.80} does not return the storage it is given "
                         f"(as lambda storage, loc: storage); npgrad loads everything on the CPU, its only device")
    if isinstance(map_location, str) or type(map_location).__name__ == "device":
        raise ValueError(f"npg.load: map_location={map_location!r:.80}: npgrad runs on the CPU only "
                         f"(map_location='cpu', or leave it out)")
    raise TypeError(f"npg.load: map_location must be a device ('cpu'), a dict or a function, got "
                    f"{type(map_location).__name__} {map_location!r:.80} (max_bytes is a keyword argument)")


def _starts_with(fh, prefix):
    try:
        fh.seek(0)
        return fh.read(len(prefix)) == prefix
    except (OSError, ValueError, AttributeError):
        return False


def _is_pickle(fh):
    """Whether the file starts as a pickle of protocol 2 to 5 does (torch.save's legacy format, pickle.dump)."""
    try:
        fh.seek(0)
        head = fh.read(2)
    except (OSError, ValueError, AttributeError):
        return False
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5
