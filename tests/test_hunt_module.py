"""Hunt for silent differences between npgrad.nn.Module's machinery and torch.nn.Module 2.13: each scenario is
built twice, once on torch and once on npgrad, with the same structure, and the observable results compared
(names and order, values, dtypes, gradients, hook calls, errors)."""
import copy
import pickle

import numpy as np
import pytest
import torch

import npgrad as ng
from tests.test_module_review2 import _both  # build(torch), build(npgrad); an exception as "ExcType: message"


def _num(t):
    """A tensor (torch or npgrad, or None) as nested lists of float64, rounded, for comparison."""
    if t is None:
        return None
    arr = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.data if isinstance(t, ng.Tensor) else t)
    return np.round(arr.astype(np.float64), 6).tolist()


def _dtypes(values):
    return [str(v.dtype).replace("torch.", "") for v in values]


def _set_values(L, module):
    """Deterministic parameter values, the same on both libraries."""
    for i, p in enumerate(module.parameters()):
        vals = np.linspace(-1, 1, int(np.prod(p.shape))).reshape(tuple(p.shape)) + 0.1 * i
        if L is torch:
            with torch.no_grad():
                p.copy_(torch.from_numpy(vals))
        else:
            p.data[...] = vals


# ------------------------------------------------------------------------------ parametrizations and deepcopy
def test_deepcopy_of_a_parametrized_module_is_independent_as_torch():
    """PyTorch refuses to pickle a parametrized module but deep-copies it; npgrad refused both."""
    def build(L):
        m = L.nn.Linear(3, 2, dtype=L.float64)
        _set_values(L, m)
        L.nn.utils.parametrizations.weight_norm(m)
        L.nn.utils.parametrize.register_parametrization(m, "bias", _Double(L)())
        c = copy.deepcopy(m)
        x = L.tensor(np.ones((1, 3)), requires_grad=False)
        same = _num(c(x)) == _num(m(x))
        with L.no_grad():
            c.parametrizations.weight.original0.mul_(0.0)   # only the copy changes
        c(x).sum().backward()
        return (same, type(c).__name__, list(c.state_dict()), _num(m(x)), _num(c(x)),
                [p.grad is None for p in m.parameters()], [_num(p.grad) for p in c.parameters()],
                c.parametrizations.weight.original0 is m.parametrizations.weight.original0)
    t, n = _both(build)
    assert n == t
    assert t[0] is True and t[-1] is False


def _Double(L):
    class Double(L.nn.Module):
        def forward(self, x):
            return 2 * x
    return Double


# ------------------------------------------------------------------------------------------- load_state_dict
def test_load_state_dict_assign_drops_the_old_gradient_as_torch():
    """assign=True: PyTorch's module then holds new Parameters (no gradient) or the checkpoint's own Parameters
    (their gradient); npgrad kept the old gradient, so the next backward accumulated onto a stale one (of the old
    dtype, float64 on a float32 parameter)."""
    def build(L):
        m = L.nn.Linear(2, 1, dtype=L.float64)
        _set_values(L, m)
        x64 = L.tensor(np.ones((1, 2)), requires_grad=False)
        m(x64).sum().backward()
        sd = {k: v.detach().float() * 2 for k, v in m.state_dict().items()}
        m.load_state_dict(sd, assign=True)
        out = [[p.grad is None for p in m.parameters()], _dtypes(m.parameters())]
        m(L.tensor(np.full((1, 2), 3.0, np.float32), requires_grad=False)).sum().backward()
        out.append([(_num(p.grad), _dtypes([p.grad])) for p in m.parameters()])
        src = L.nn.Linear(2, 1, dtype=L.float64)               # checkpoint of Parameters with their gradients
        _set_values(L, src)
        src(L.tensor(np.full((1, 2), 5.0), requires_grad=False)).sum().backward()
        m.load_state_dict(src.state_dict(keep_vars=True), assign=True)
        out.append([_num(p.grad) for p in m.parameters()])
        return out
    t, n = _both(build)
    assert n == t
    assert t[0] == [True, True] and t[-1] == [[[5.0, 5.0]], [1.0]]


# ---------------------------------------------------------------------------------------------- containers
def test_parameter_dict_fromkeys_keeps_the_keys_order_as_torch():
    """fromkeys went through a plain dict, which update sorts: the keys came back sorted, not in their order."""
    def build(L):
        pd = L.nn.ParameterDict().fromkeys(["b", "c", "a"], L.nn.Parameter(L.zeros(2)))
        return list(pd.keys()), list(pd.state_dict()), [n for n, _ in pd.named_parameters(remove_duplicate=False)]
    t, n = _both(build)
    assert n == t == (["b", "c", "a"], ["b", "c", "a"], ["b", "c", "a"])


def test_dict_containers_update_keeps_orders_and_refuses_bad_pairs_as_torch():
    def build(L):
        md = L.nn.ModuleDict({"z": L.nn.ReLU(), "a": L.nn.Tanh()})          # a mapping: its own order
        md.update([("m", L.nn.ELU()), ["b", L.nn.GELU()], ("z", L.nn.SELU())])
        md2 = L.nn.ModuleDict()
        md2.update(md)                                                      # another ModuleDict
        pd = L.nn.ParameterDict({"z": L.zeros(1), "a": L.zeros(1)})           # a plain dict: sorted
        pd.update([("m", L.zeros(1)), ("b", L.zeros(1))])
        out = [[(k, type(v).__name__) for k, v in md2.items()], list(pd.keys())]
        for bad in ([L.nn.ReLU()], [("a", L.nn.ReLU(), 1)], 3):
            try:
                md.update(bad)
            except Exception as e:
                out.append(type(e).__name__)
        for bad in ([L.zeros(1)], [("a",)], 3):
            try:
                pd.update(bad)
            except Exception as e:
                out.append(type(e).__name__)
        return out
    t, n = _both(build)
    assert n == t
    assert t[2:] == ["TypeError", "ValueError", "TypeError", "ValueError", "ValueError", "TypeError"]


# ------------------------------------------------------------------------------------------- backward hooks
def _two_outputs(L, kind):
    class TwoOut(L.nn.Module):
        def forward(self, a, b):
            if kind == "int":          # a second output that is not differentiable (integer indices)
                return a * b, L.argmax(a * b, dim=1)
            if kind == "detached":
                return a * b, (a + b).detach()
            return a * b, a + b
    return TwoOut()


def test_full_backward_hooks_get_none_for_outputs_without_gradient_as_torch():
    """grad_output holds None for a module output that the loss does not use or that is not differentiable (the
    backward pre-hooks see the same); npgrad gave zeros. grad_input keeps zeros for an input without gradient."""
    for kind, uses in (("plain", (1, 0)), ("plain", (0, 1)), ("plain", (1, 1)), ("int", (1, 0)),
                       ("detached", (1, 0))):
        def build(L):
            m, log = _two_outputs(L, kind), []
            m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", [_num(g) for g in go])))
            m.register_full_backward_hook(
                lambda mod, gi, go: log.append(("full", [_num(g) for g in gi], [_num(g) for g in go])))
            a = L.tensor(np.ones((1, 2)), requires_grad=True)
            b = L.tensor(np.full((1, 2), 3.0), requires_grad=True)
            o1, o2 = m(a, b)
            terms = [(o1 * 2).sum()] * uses[0] + ([(o2 * 5).sum()] if uses[1] and kind == "plain" else [])
            sum(terms[1:], terms[0]).backward()
            return log, _num(a.grad), _num(b.grad)
        t, n = _both(build)
        assert n == t, (kind, uses)
        if uses == (1, 0):
            assert t[0][0] == ("pre", [[[2.0, 2.0]], None])


# ------------------------------------------------------------------------------------------ pickle round trips
_CALLS = []


def _record_forward(module, args, output):
    """A picklable forward hook (module level)."""
    _CALLS.append(type(module).__name__)


@pytest.mark.filterwarnings("ignore:.*weight_norm. is deprecated:FutureWarning")
def test_pickle_of_a_module_with_weight_norm_and_hooks_as_torch():
    """weight_norm keeps the computed weight (a tensor made by ops) as a plain attribute: PyTorch pickles it as a
    leaf, npgrad tried to pickle its graph and failed on a function in it."""
    def build(L):
        m = L.nn.Linear(3, 2, dtype=L.float64)
        _set_values(L, m)
        L.nn.utils.weight_norm(m)
        m.register_forward_hook(_record_forward)
        c = pickle.loads(pickle.dumps(m))
        x = L.tensor(np.ones((1, 3)), requires_grad=False)
        _CALLS.clear()
        same = _num(c(x)) == _num(m(x))
        calls = list(_CALLS)
        c(x).sum().backward()
        return (same, calls, [n for n, _ in c.named_parameters()], [_num(p.grad) for p in c.parameters()],
                [p.grad is None for p in m.parameters()], c.weight_g is m.weight_g)
    t, n = _both(build)
    assert n == t
    assert t[0] is True and t[1] == ["Linear", "Linear"] and t[-1] is False


def test_pickle_and_copy_of_a_tensor_made_by_an_op_give_a_leaf_as_torch():
    def build(L):
        x = L.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = x * 3
        out = []
        for c in (pickle.loads(pickle.dumps(y)), copy.copy(y)):
            out.append((_num(c), c.requires_grad, c.is_leaf, c.grad_fn is None))
        z = pickle.loads(pickle.dumps((x * 2).detach()))
        out.append((z.requires_grad, z.is_leaf))
        return out
    t, n = _both(build)
    assert n == t == [([3.0, 6.0], True, True, True)] * 2 + [(False, True)]


def test_inserting_a_non_module_leaves_the_container_unchanged():
    """insert renumbered the children by clearing them and adding them back, so a non-Module (refused at its
    turn) left the Sequential or ModuleList empty: the error was raised, but the model had lost its layers."""
    def build(L):
        c = L.nn.Sequential(L.nn.ReLU(), L.nn.Tanh())
        try:
            c.insert(0, 3)
        except (TypeError, AssertionError):    # (torch: AssertionError; npgrad: TypeError, as its add_module)
            pass
        return [type(x).__name__ for x in c], list(c._modules)
    t, n = _both(build)
    assert n == t == (["ReLU", "Tanh"], ["0", "1"])
    ml = ng.nn.ModuleList([ng.nn.ReLU(), ng.nn.Tanh()])   # (torch's ModuleList.insert stores the int unchecked)
    with pytest.raises(TypeError, match="ModuleList.insert: int is not a Module subclass"):
        ml.insert(1, 3)
    assert [type(x).__name__ for x in ml] == ["ReLU", "Tanh"] and list(ml._modules) == ["0", "1"]
