"""The benchmark harness: backends, correctness check, interleaved timing, memory, table.

A workload module (``bench/workloads/<name>.py``) defines one or more :class:`Workload`
objects. A workload makes its inputs once (NumPy arrays from one seeded rng), and each
backend's ``setup(inputs)`` turns them into that library's objects and returns a
:class:`Runner` whose ``step()`` does one forward + backward and returns
``(loss: float, grads: list of NumPy arrays)`` in the reference's layout. ``setup`` raises
:class:`Skip` when the backend is not installed or cannot express the workload.
"""
import gc
import importlib
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field

import numpy as np

try:
    import resource
except ImportError:  # not on Windows
    resource = None

BACKENDS = ("npgrad", "numpy", "torch", "mygrad", "autograd")
NUMPY_BASED = ("npgrad", "numpy", "mygrad", "autograd")   # their arrays are visible to tracemalloc
REFERENCE = "numpy"

# max |out - ref| / max(|ref|) per array (see compare), by dtype
TOLERANCE = {np.dtype(np.float32): 2e-4, np.dtype(np.float64): 1e-9}


class Skip(Exception):
    """A backend cannot run this workload (not installed, or no way to express it)."""


class Disagree(Exception):
    """A backend's loss or gradients differ from the reference."""


@dataclass
class Runner:
    step: object                 # () -> (loss, [grads])
    reset: object = None         # () -> None: drop gradients held on parameters (before a memory measurement)


@dataclass
class Workload:
    name: str
    description: str
    make: object                 # (size: str, rng) -> inputs dict of NumPy arrays / numbers
    backends: dict               # backend name -> setup(inputs) -> Runner
    dtype: object = np.float32
    unit: str = "ms"             # "ms" per step, or "us/op" (time divided by inputs["n_ops"])
    kind: str = "step"           # "step", or "e2e": backends[name](inputs) -> (seconds, losses); not a Runner
    notes: dict = field(default_factory=dict)
    reference: str = REFERENCE   # the backend every other one is checked against
    targets: list = None         # [(backend, versus, max ratio of medians, text)], reported after the table


def require(module):
    """Import ``module`` or raise :class:`Skip` saying it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Skip(f"not installed ({e.name or module})") from None


def require_npgrad(*names):
    """Import ``npgrad.nn.functional`` (or other npgrad modules) and check that ``names`` exist.

    Names are "module:attr" or "attr" (an attribute of npgrad.nn.functional).
    """
    out = []
    for n in names:
        mod, _, attr = n.rpartition(":")
        mod = mod or "npgrad.nn.functional"
        try:
            m = importlib.import_module(mod)
        except ImportError as e:
            raise Skip(f"{mod} not available yet ({e})") from None
        if attr and not hasattr(m, attr):
            raise Skip(f"{mod}.{attr} not available yet")
        out.append(getattr(m, attr) if attr else m)
    return out


# ----------------------------------------------------------------------- correctness
def compare(result, reference, dtype, what):
    """Raise :class:`Disagree` unless ``result`` matches ``reference`` within the dtype's tolerance."""
    tol = TOLERANCE[np.dtype(dtype)]
    loss, grads = result
    rloss, rgrads = reference
    if not np.isfinite(loss) or abs(loss - rloss) > tol * max(abs(rloss), 1e-6):
        raise Disagree(f"{what}: loss {loss!r} vs reference {rloss!r}")
    if len(grads) != len(rgrads):
        raise Disagree(f"{what}: {len(grads)} gradients vs {len(rgrads)} in the reference")
    # an array whose exact gradient is zero (e.g. the key bias under softmax) holds only rounding noise:
    # measure every array against at least 1e-3 of the largest gradient of the workload
    floor = 1e-3 * max((float(np.abs(r).max(initial=0.0)) for r in rgrads), default=0.0)
    for i, (g, r) in enumerate(zip(grads, rgrads)):
        if g is None:
            raise Disagree(f"{what}: gradient {i} is missing")
        g = np.asarray(g)
        if g.shape != r.shape:
            raise Disagree(f"{what}: gradient {i} has shape {g.shape}, reference {r.shape}")
        if g.dtype != r.dtype:
            raise Disagree(f"{what}: gradient {i} has dtype {g.dtype}, reference {r.dtype}")
        scale = max(float(np.abs(r).max(initial=0.0)), floor, 1e-30)
        err = float(np.abs(g.astype(np.float64) - r).max(initial=0.0)) / scale
        if not np.isfinite(err) or err > tol:
            raise Disagree(f"{what}: gradient {i} {r.shape} differs, max|diff|/max|ref| = {err:.2e} > {tol:g}")


# ----------------------------------------------------------------------- measuring
def peak_memory(runner):
    """Peak bytes allocated (tracemalloc) during one step, above what was live before it."""
    if runner.reset is not None:
        runner.reset()
    gc.collect()
    tracemalloc.start()
    try:
        out = runner.step()          # one untimed step under tracing (first-call effects)
        del out
        if runner.reset is not None:
            runner.reset()
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        out = runner.step()
        peak = tracemalloc.get_traced_memory()[1]
        del out
    finally:
        tracemalloc.stop()
    return peak - base


@dataclass
class Row:
    workload: str
    backend: str
    times: list = None           # seconds per step (or per op for "us/op")
    mem: object = None           # bytes or None
    note: str = ""
    status: str = "ok"           # ok, skip, FAIL
    extra: str = ""              # e2e: final loss
    faults: object = None        # median minor page faults per step (fresh memory the kernel had to map)


def run_workload(wl, size, backends, repeats, warmup=3, check=True, memory=True, log=print, settle=1,
                 budget=None, max_repeats=200, clock=time.perf_counter):
    """Set up every backend, check it against the reference, then time interleaved. Returns rows.

    With ``budget`` (seconds), fast workloads get more than ``repeats`` rounds: as many as the warm-up
    rounds say fit in the budget (settle steps included), at most ``max_repeats``. ``clock`` times each step
    (``time.process_time`` for CPU time; end-to-end workloads time themselves with the wall clock).
    """
    rng = np.random.default_rng(0)
    inputs = wl.make(size, rng)
    if wl.kind == "e2e":
        return _run_e2e(wl, inputs, backends, repeats, log)
    # variants: a workload may add backends named "<backend>:<variant>" (another algorithm of that library),
    # run whenever <backend> is
    backends = list(backends) + [k for k in wl.backends if ":" in k and k.split(":")[0] in backends]
    rows = {b: Row(wl.name, b) for b in backends}
    runners = {}
    for b in backends:
        if b not in wl.backends:
            rows[b].status, rows[b].note = "skip", wl.notes.get(b, "not applicable")
            continue
        try:
            runners[b] = wl.backends[b](inputs)
        except Skip as e:
            rows[b].status, rows[b].note = "skip", str(e)
        except Exception as e:  # a crash in setup is a failure of that backend, loudly
            rows[b].status, rows[b].note = "FAIL", f"setup raised {type(e).__name__}: {e}"
            log(f"!! {wl.name}/{b}: {rows[b].note}")
    # correctness against the reference (the hand-written NumPy version unless the workload names another),
    # before any timing
    ref_name = wl.reference
    reference = None
    if ref_name in runners:
        reference = _copy(runners[ref_name].step())
    elif ref_name in wl.backends and ref_name in rows:
        raise RuntimeError(f"{wl.name}: the reference ({ref_name}) did not run: {rows[ref_name].note}")
    elif ref_name in wl.backends:  # not timed, but still the oracle
        reference = _copy(wl.backends[ref_name](inputs).step())
    for b in list(runners):
        try:
            res = runners[b].step()
            if check and reference is not None and b != ref_name:
                compare(res, reference, wl.dtype, f"{wl.name}/{b}")
        except Disagree as e:
            rows[b].status, rows[b].note = "FAIL", str(e)
            log(f"!! DISAGREEMENT {e}")
            del runners[b]
        except Exception as e:
            rows[b].status, rows[b].note = "FAIL", f"step raised {type(e).__name__}: {e}"
            log(f"!! {wl.name}/{b}: {rows[b].note}")
            del runners[b]
    names = list(runners)
    t_warm = time.perf_counter()
    for _ in range(warmup):
        for b in names:
            runners[b].step()
    if budget and warmup and names:
        per_round = (time.perf_counter() - t_warm) / warmup * (1 + settle)
        repeats = max(repeats, min(max_repeats, int(budget / per_round)))
    per = inputs.get("n_ops", 1) if wl.unit == "us/op" else 1
    times = {b: [] for b in names}
    faults = {b: [] for b in names}
    for r in range(repeats):
        k = r % len(names) if names else 0
        for b in names[k:] + names[:k]:  # rotating order: no backend always runs first
            step = runners[b].step
            for _ in range(settle):  # untimed: the previous backend's worker threads go idle meanwhile
                out = step()
                del out
            f0 = _minor_faults()
            t0 = clock()
            out = step()
            t1 = clock()
            del out
            faults[b].append(None if f0 is None else _minor_faults() - f0)
            times[b].append((t1 - t0) / per)
    for b in names:
        rows[b].times = times[b]
        rows[b].faults = statistics.median(faults[b]) if faults[b] and faults[b][0] is not None else None
        if memory and b.split(":")[0] in NUMPY_BASED:
            rows[b].mem = peak_memory(runners[b])
    return [rows[b] for b in backends]


def _run_e2e(wl, inputs, backends, repeats, log):
    """End-to-end runs: ``backends[b](inputs) -> (seconds, losses per step)``. A short untimed run with
    ``dropout=False`` first warms up and checks that every backend gives the losses PyTorch gives."""
    rows = {b: Row(wl.name, b) for b in backends}
    fns = {}
    for b in backends:
        if b in wl.backends:
            fns[b] = wl.backends[b]
        else:
            rows[b].status, rows[b].note = "skip", wl.notes.get(b, "not applicable")
    names = list(fns)
    check = {}
    for b in names:  # untimed: imports, lazy initialisation, first-call caches; and the check
        try:
            check[b] = fns[b](dict(inputs, n_steps=min(3, inputs["n_steps"]), dropout=False))[1]
        except Skip as e:
            rows[b].status, rows[b].note = "skip", str(e)
        except Exception as e:
            rows[b].status, rows[b].note = "FAIL", f"raised {type(e).__name__}: {e}"
            log(f"!! {wl.name}/{b}: {rows[b].note}")
    if "torch" in check:
        tol = TOLERANCE[np.dtype(wl.dtype)]
        for b, losses in check.items():
            for k, (a, t) in enumerate(zip(losses, check["torch"])):
                if abs(a - t) > (tol if k == 0 else 5 * tol) * max(abs(t), 1e-6):
                    rows[b].status = "FAIL"
                    rows[b].note = f"step {k + 1} loss {a:.7g} vs torch {t:.7g} (same weights, batches, no dropout)"
                    log(f"!! DISAGREEMENT {wl.name}/{b}: {rows[b].note}")
                    break
    results = {b: [] for b in names}
    for r in range(repeats):
        k = r % len(names) if names else 0
        for b in names[k:] + names[:k]:
            if rows[b].status != "ok":
                continue
            try:
                results[b].append(fns[b](inputs))
            except Exception as e:
                rows[b].status, rows[b].note = "FAIL", f"raised {type(e).__name__}: {e}"
                log(f"!! {wl.name}/{b}: {rows[b].note}")
    for b in names:
        if rows[b].status == "ok" and results[b]:
            rows[b].times = [sec for sec, _ in results[b]]
            last = [float(np.mean(losses[-10:])) for _, losses in results[b]]
            rows[b].extra = f"final loss {statistics.median(last):.4f} (mean of the last 10 steps)"
    return [rows[b] for b in backends]


def _minor_faults():
    """Minor page faults of this process so far (None where getrusage is unavailable)."""
    if resource is None:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _copy(res):
    loss, grads = res
    return float(loss), [np.array(g, copy=True) for g in grads]


# ----------------------------------------------------------------------- table
def _fmt_time(sec, unit):
    if unit == "us/op":
        return f"{sec * 1e6:.2f} us/op"
    if unit == "s":
        return f"{sec:.2f} s"
    return f"{sec * 1e3:.3f} ms" if sec < 0.1 else f"{sec * 1e3:.1f} ms"


def _fmt_mem(b):
    if b is None:
        return ""
    return f"{b / 2**20:.2f} MiB" if b >= 2**20 else f"{b / 1024:.1f} KiB"


def _target(ratio, target):
    """" (target <= 1.05x: PASS)" beside a ratio, or "" where the workload sets no target for it."""
    if target is None or ratio is None:
        return ""
    return f" (target <= {target:.2f}x: {'PASS' if ratio <= target else 'MISS'})"


def table(rows_by_workload, units, targets=None):
    """Markdown table: median, min, ratios to NumPy and PyTorch (with npgrad's targets and a PASS/MISS
    mark where ``targets[workload]``, a workload's list of ``(backend, versus, limit, text)``, sets one for
    npgrad against numpy or torch), peak extra memory, notes."""
    targets = targets or {}
    head = ["workload", "backend", "median", "min", "/ numpy", "/ torch", "peak mem/step", "faults/step", "note"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for wname, rows in rows_by_workload.items():
        unit = units[wname]
        med = {r.backend: statistics.median(r.times) for r in rows if r.times}
        for r in rows:
            if not r.times:
                lines.append(f"| {wname} | {r.backend} | - | - | - | - | - | - | {r.status}: {r.note} |")
                continue
            m = med[r.backend]
            vs_np = f"{m / med['numpy']:.2f}x" if "numpy" in med else "-"
            vs_t = f"{m / med['torch']:.2f}x" if "torch" in med else "-"
            if r.backend == "npgrad":  # the workload's targets for npgrad against numpy / torch, inline
                tg = {versus: limit for backend, versus, limit, _ in targets.get(wname) or () if backend == "npgrad"}
                vs_np += _target(m / med["numpy"] if "numpy" in med else None, tg.get("numpy"))
                vs_t += _target(m / med["torch"] if "torch" in med else None, tg.get("torch"))
            if r.mem is not None:
                mem = _fmt_mem(r.mem)
            elif r.backend == "torch" and unit != "s":
                mem = "n/a (torch allocator)"
            else:
                mem = "-"
            note = "; ".join(x for x in (r.extra, r.note) if x)
            lines.append(f"| {wname} | {r.backend} | {_fmt_time(m, unit)} | {_fmt_time(min(r.times), unit)} | "
                         f"{vs_np} | {vs_t} | {mem} | {'-' if r.faults is None else f'{r.faults:.0f}'} | {note} |")
    return "\n".join(lines)


def target_lines(rows_by_workload, workloads):
    """One line per target of each workload: the ratio of medians beside its target, met or missed."""
    lines = []
    for wname, rows in rows_by_workload.items():
        med = {r.backend: statistics.median(r.times) for r in rows if r.times}
        for backend, versus, limit, text in workloads[wname].targets or ():
            if backend not in med or versus not in med:
                lines.append(f"{wname}: {text}: not measured ({backend} or {versus} did not run)")
                continue
            ratio = med[backend] / med[versus]
            shown = f"{backend} / {versus} = {ratio:.2f}x"
            if limit < 0.25:  # a "k times faster" target: the inverse reads better
                shown += f" ({versus} takes {1 / ratio:.1f}x {backend}'s time)"
            lines.append(f"{wname}: {shown}  (target: {text}) {'met' if ratio <= limit else 'MISSED'}")
    return lines
