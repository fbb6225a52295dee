"""``@batching_rule(kind)``: an op's declaration of its ``vmap`` batching rule (the rules: ``_vmap_rules.py``)."""
import functools
import importlib

_tm = importlib.import_module(".tensor", __package__)  # the module (the vmap flag; npgrad.tensor is a function)


def batching_rule(kind):
    """Declare an op's batching rule: under ``npg.func.vmap`` a call with a batched argument runs by the rule
    named ``kind`` (``npgrad/_vmap_rules.py``, one vectorized call over the batch), and an op declared with
    ``"loop"`` runs per sample (with a warning). Outside vmap the op runs as written."""
    def declare(fn):
        @functools.wraps(fn)
        def op(*args, **kwargs):
            if _tm._VMAP:
                r = _tm._vmap_call(kind, op, args, kwargs)
                if r is not NotImplemented:
                    return r
            return fn(*args, **kwargs)
        return op
    return declare
