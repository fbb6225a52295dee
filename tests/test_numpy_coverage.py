"""NumPy's coverage, kept explicit: every public callable of ``numpy``, ``numpy.linalg`` and ``numpy.fft`` that
dispatches on Tensors (a function overridable through ``__array_function__``, or a ``np.ufunc``, which reaches
``__array_ufunc__``) is either registered in ``npgrad.ops._dispatch.FUNCTIONS`` / ``UFUNCS`` or listed below in
UNSUPPORTED with its reason. A new NumPy release, or a registration dropped by mistake, then fails here
instead of reaching a user as a TypeError; and a name registered later must leave UNSUPPORTED."""
import re

import numpy as np
import pytest

import npgrad as npg
from npgrad.ops import _dispatch

UNSUPPORTED_BY_REASON = {
    # datetime64 / business-day functions: a tensor holds bool, integer, float or complex data only
    "datetime": {"busday_count", "busday_offset", "is_busday", "datetime_as_string", "isnat"},
}
UNSUPPORTED = set().union(*UNSUPPORTED_BY_REASON.values())
NEWER_THAN_2_0 = {"matvec", "vecmat"}  # (NumPy 2.2; npgrad needs NumPy >= 2.0)

MODULES = {"": np, "linalg.": np.linalg, "fft.": np.fft}


def _dispatches(obj):
    return isinstance(obj, np.ufunc) or (callable(obj) and (
        isinstance(obj, type(np.sum)) or hasattr(obj, "_implementation")))


def _dispatching():
    """``{"name" or "linalg.name" / "fft.name": the NumPy callable}``: every public one that dispatches."""
    return {prefix + name: getattr(mod, name) for prefix, mod in MODULES.items() for name in dir(mod)
            if not name.startswith("_") and _dispatches(getattr(mod, name))}


def _registered(obj):
    return obj in (_dispatch.UFUNCS if isinstance(obj, np.ufunc) else _dispatch.FUNCTIONS)


def _lookup(name):
    prefix, _, short = name.rpartition(".")
    return getattr(MODULES[prefix + "." if prefix else ""], short, None)


def test_the_enumeration_finds_functions_and_ufuncs():  # (a broken enumeration would make the next test vacuous)
    found = _dispatching()
    assert len(found) > 300
    for name in ("sum", "concatenate", "where", "add", "isnat", "linalg.eig", "linalg.solve", "fft.fft"):
        assert name in found, name
    assert isinstance(found["isnat"], np.ufunc) and not _registered(found["isnat"]) and _registered(found["add"])


def test_every_dispatching_numpy_callable_is_registered_or_listed():
    missing = sorted(name for name, obj in _dispatching().items() if not _registered(obj) and name not in UNSUPPORTED)
    assert not missing, (f"NumPy callables that dispatch on Tensors but npgrad neither registers nor lists in "
                         f"UNSUPPORTED: {missing}")


def test_unsupported_names_are_real_and_unregistered():
    for name in sorted(UNSUPPORTED):
        obj = _lookup(name)
        if obj is None:
            assert name in NEWER_THAN_2_0, f"UNSUPPORTED names {name!r}, which this NumPy does not have"
            continue
        assert _dispatches(obj), f"{name} does not dispatch on Tensors: drop it from UNSUPPORTED"
        assert not _registered(obj), f"{name} is registered now: remove it from UNSUPPORTED"
    assert len(UNSUPPORTED) == sum(map(len, UNSUPPORTED_BY_REASON.values()))  # no name under two reasons


def _call_on_tensors(fn, t):
    """Call ``fn`` with 1, 2, 3... tensor arguments until one call gets past NumPy's argument checks."""
    if isinstance(fn, np.ufunc):
        return fn(*[t] * fn.nin)
    for k in range(1, 5):
        try:
            fn(*[t] * k)
        except TypeError as e:
            if "npgrad does not implement" in str(e):
                raise
    raise AssertionError(f"no call of {fn} with 1 to 4 tensors reached npgrad")


@pytest.mark.parametrize("name", sorted(n for n in UNSUPPORTED if _lookup(n) is not None))
def test_unsupported_calls_raise_a_type_error_naming_the_function(name):
    t = npg.tensor(np.eye(2) + 1.0)
    with pytest.raises(TypeError, match=re.escape(f"npgrad does not implement numpy.{name} for Tensors")):
        _call_on_tensors(_lookup(name), t)
