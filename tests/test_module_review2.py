"""Adversarial review of nn.Module and the containers against torch 2.13, round 2: each test was a divergence."""
import copy
import pickle

import pytest
import torch

import npgrad as ng


def _both(build):
    """``build(torch)`` and ``build(npgrad)``; an exception becomes ``"ExcType: message"``."""
    out = []
    for L in (torch, ng):
        try:
            out.append(build(L))
        except Exception as e:
            out.append(f"{type(e).__name__}: {e}")
    return out


def test_train_calls_the_childrens_overridden_train_as_torch():
    def build(L):
        class FrozenBN(L.nn.Module):        # a common pattern: keep batch norm in eval mode while training
            def __init__(self):
                super().__init__()
                self.bn = L.nn.BatchNorm1d(2)

            def train(self, mode=True):
                super().train(mode)
                self.bn.eval()
                return self

        m = L.nn.Sequential(L.nn.Linear(2, 2), FrozenBN())
        m.train()
        after_train = [x.training for x in m.modules()]
        m.eval()
        m.train(True)
        return after_train, [x.training for x in m.modules()]
    t, n = _both(build)
    assert n == t == ([True, True, True, False], [True, True, True, False])


def test_parameter_containers_make_tensors_trainable_parameters_as_torch():
    def build(L):
        t = L.zeros(2, requires_grad=False)          # e.g. a detached tensor or one made under no_grad
        pl = L.nn.ParameterList([t])
        pl.append(L.ones(3, requires_grad=False))
        pd = L.nn.ParameterDict({"a": L.zeros(2, requires_grad=False)})
        pd["b"] = L.ones(1, requires_grad=False)
        ps = list(pl) + list(pd.values())
        return [type(p).__name__ for p in ps], [p.requires_grad for p in ps]
    t, n = _both(build)
    assert n == t == (["Parameter"] * 4, [True] * 4)


def test_parameter_containers_refuse_integer_tensors_as_torch():
    for build in (lambda L: L.nn.ParameterList([L.zeros(2, dtype=L.int64)]),
                  lambda L: L.nn.ParameterDict({"a": L.zeros(2, dtype=L.int64)})):
        t, n = _both(build)
        assert "floating point" in t
        assert isinstance(n, str) and "floating" in n and "int64" in n


def test_parameter_list_repr_with_a_none_entry_as_torch():
    t, n = _both(lambda L: repr(L.nn.ParameterList([None, L.nn.Parameter(L.zeros(1))])).split("\n")[:2])
    assert n == t == ["ParameterList(", "    (0): Object of type: NoneType"]


@pytest.mark.parametrize("case", range(9))
def test_register_refuses_a_name_already_taken_as_torch(case):
    def build(L):
        m = L.nn.Linear(2, 2)
        m.foo = 3
        p, t = L.nn.Parameter(L.zeros(2)), L.zeros(2)
        [lambda: m.register_buffer("weight", t),          # a buffer over a parameter: torch refuses
         lambda: m.register_parameter("foo", p),           # over a plain attribute
         lambda: m.add_module("bias", L.nn.ReLU()),        # a module over a parameter
         lambda: m.register_parameter("forward", p),       # over a method
         lambda: setattr(m, "forward", p),
         lambda: setattr(m, "a.b", p),
         lambda: L.nn.ModuleDict({"training": L.nn.ReLU()}),
         lambda: m.register_buffer(3, t),
         lambda: m.add_module("", L.nn.ReLU())][case]()
        return sorted(m.state_dict()), m.training
    t, n = _both(build)
    assert isinstance(t, str)
    assert n == t.replace("Tensor", "").replace("torch.", "")


def test_register_again_under_the_same_name_still_works_as_torch():
    def build(L):
        m = L.nn.Linear(2, 2)
        m.register_buffer("b", L.zeros(1))
        m.register_buffer("b", L.ones(2), persistent=False)
        m.register_parameter("weight", L.nn.Parameter(L.zeros(1)))
        m.add_module("c", L.nn.ReLU())
        m.add_module("c", L.nn.Tanh())
        m.foo = 1
        m.foo = L.nn.Parameter(L.zeros(1))      # setattr drops the plain attribute first
        return list(m.state_dict()), [k for k, _ in m.named_buffers()], repr(m.c)
    t, n = _both(build)
    assert n == t


_SEEN = []


def _record_module_pre_hook(module, state_dict, prefix, *args):
    _SEEN.append(module)


def test_load_pre_hook_follows_the_module_through_deepcopy_and_pickle_as_torch():
    def build(L):
        m = L.nn.Linear(1, 1)
        m.register_load_state_dict_pre_hook(_record_module_pre_hook)
        c, p = copy.deepcopy(m), pickle.loads(pickle.dumps(m))
        _SEEN.clear()
        for x in (c, p, m):
            x.load_state_dict(m.state_dict())
        return [s is x for s, x in zip(_SEEN, (c, p, m))]
    t, n = _both(build)
    assert n == t == [True, True, True]


def test_parameter_dict_from_a_plain_dict_sorts_the_keys_as_torch():
    def build(L):
        from collections import OrderedDict
        P = lambda: L.nn.Parameter(L.zeros(1))    # noqa: E731
        a = L.nn.ParameterDict({"b": P(), "a": P(), "c": P()})           # a plain dict: sorted (torch)
        a.update({"z": P(), "y": P()})
        b = L.nn.ParameterDict(OrderedDict([("b", P()), ("a", P())]))   # OrderedDict, pairs: kept in order
        b.update([("z", P()), ("y", P())])
        return list(a.keys()), [k for k, _ in a.named_parameters()], list(b.keys())
    t, n = _both(build)
    assert n == t


def test_parameter_dict_in_place_and_reflected_or_as_torch():
    def build(L):
        pd = L.nn.ParameterDict({"a": L.nn.Parameter(L.zeros(1))})
        same = pd
        pd |= {"b": L.nn.Parameter(L.zeros(1))}
        r = {"c": L.nn.Parameter(L.zeros(1))} | pd
        return pd is same, list(pd.keys()), type(r).__name__, list(r.keys())
    t, n = _both(build)
    assert n == t


@pytest.mark.parametrize("version", [None, 1])
def test_batchnorm_loads_a_state_dict_without_num_batches_tracked_as_torch(version):
    """A plain dict (no ``_metadata``, e.g. ``{k: v.numpy() ...}``) or a version-1 checkpoint: torch keeps the
    module's own ``num_batches_tracked`` instead of reporting it missing."""
    def build(L):
        m = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.BatchNorm1d(2), L.nn.InstanceNorm1d(2, track_running_stats=True))
        m[1].num_batches_tracked += 7
        sd = m.state_dict()
        meta = sd._metadata
        sd = {k: v.clone() for k, v in sd.items() if not k.endswith("num_batches_tracked")}
        if version is not None:
            sd = type(m.state_dict())(sd)
            sd._metadata = meta
            sd._metadata["1"]["version"] = sd._metadata["2"]["version"] = version
        return repr(m.load_state_dict(sd)), int(m[1].num_batches_tracked), int(m[2].num_batches_tracked)
    t, n = _both(build)
    assert n == t == ("<All keys matched successfully>", 7, 0)


def test_batchnorm_version_2_state_dict_without_num_batches_tracked_is_missing_as_torch():
    def build(L):
        m = L.nn.BatchNorm1d(2)
        sd = m.state_dict()
        del sd["num_batches_tracked"]
        return repr(m.load_state_dict(sd, strict=False))
    t, n = _both(build)
    assert n == t


def test_private_state_dict_hook_may_return_a_new_dict_as_torch():
    def build(L):
        m = L.nn.Sequential(L.nn.Linear(1, 1))
        h = m[0]._register_state_dict_hook(lambda mod, sd, prefix, meta: None)   # None: the dict stays
        m._register_state_dict_hook(lambda mod, sd, prefix, meta: {k.upper(): v for k, v in sd.items()})
        keys = list(m.state_dict())
        h.remove()
        m.register_state_dict_post_hook(lambda mod, sd, prefix, meta: {})        # the public one must return None
        try:
            m.state_dict()
        except RuntimeError as e:
            return keys, str(e)
    t, n = _both(build)
    assert n == t == (["0.WEIGHT", "0.BIAS"], "state_dict post-hook must return None")


def test_slicing_a_container_subclass_keeps_the_subclass_as_torch():
    def build(L):
        class MySeq(L.nn.Sequential):
            pass

        class MyList(L.nn.ModuleList):
            pass

        class MyParams(L.nn.ParameterList):
            pass

        s = MySeq(L.nn.ReLU(), L.nn.Tanh(), L.nn.ELU())
        ml = MyList([L.nn.ReLU(), L.nn.Tanh()])
        pl = MyParams([L.nn.Parameter(L.zeros(1)), L.nn.Parameter(L.zeros(2))])
        return [type(x).__name__ for x in (s[1:], ml[:1], pl[::-1])], repr(s[1:])
    t, n = _both(build)
    assert n == t


def test_get_parameter_and_get_buffer_errors_as_torch():
    def build(L):
        m = L.nn.Sequential(L.nn.Linear(1, 1, bias=False), L.nn.BatchNorm1d(1, affine=False))
        out = []
        for get, target in [("get_parameter", "0.foo"), ("get_parameter", "0"), ("get_parameter", "0.bias"),
                            ("get_parameter", "1.running_mean"), ("get_buffer", "0.weight"),
                            ("get_buffer", "0.foo"), ("get_buffer", "1.weight")]:
            try:
                getattr(m, get)(target)
                out.append("no error")
            except AttributeError as e:
                out.append(str(e))
        return out, m._get_name()
    t, n = _both(build)
    assert n == t


def test_dir_leaves_out_numbered_children_as_torch():
    def build(L):
        s = L.nn.Sequential(L.nn.Linear(1, 1))
        d = dir(s)
        return "0" in d, "forward" in d, "training" in d, "weight" in dir(s[0]), d == sorted(d)
    t, n = _both(build)
    assert n == t


def test_deepcopy_of_a_parameter_leaves_its_gradient_behind_as_torch():
    """torch's Parameter.__deepcopy__ copies the data, not ``.grad``: a copied model's next backward must give
    the new gradient alone, not the new one added to the original's stale one."""
    def build(L):
        m = L.nn.Linear(2, 1)
        x = L.tensor([[1.0, 2.0]], dtype=m.weight.dtype)
        m(x).sum().backward()
        c = copy.deepcopy(m)
        had = c.weight.grad is not None
        c(x * 3).sum().backward()
        return had, c.weight.grad.tolist(), m.weight.grad.tolist()
    t, n = _both(build)
    assert n == t == (False, [[3.0, 6.0]], [[1.0, 2.0]])


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_a_complex_parameter_trains_as_torch(dtype):
    """nn.Parameter takes complex data, as torch's does (npgrad refused it: "only floating tensors"); a module
    holding one trains with Adam along torch's trajectory (PyTorch's complex-gradient convention)."""
    import numpy as np
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    w0 = (rng.standard_normal(3) + 1j * rng.standard_normal(3)).astype(dtype)
    x = (rng.standard_normal((4, 3)) + 1j * rng.standard_normal((4, 3))).astype(dtype)
    m = ng.nn.Module()
    m.w = ng.nn.Parameter(ng.tensor(w0.copy()))
    assert [p is m.w for p in m.parameters()] == [True] and m.w.requires_grad and m.w.dtype == dtype
    tw = torch.nn.Parameter(torch.tensor(w0.copy()))
    opt, topt = ng.optim.Adam(m.parameters(), lr=0.1), torch.optim.Adam([tw], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        ng.sum(ng.abs(ng.tensor(x, requires_grad=False) @ m.w - 1) ** 2).backward()
        opt.step()
        topt.zero_grad()
        (torch.abs(torch.tensor(x) @ tw - 1) ** 2).sum().backward()
        topt.step()
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    np.testing.assert_allclose(m.w.data, tw.detach().numpy(), rtol=tol, atol=tol)
    with pytest.raises(TypeError, match="Parameter: only floating and complex"):
        ng.nn.Parameter(ng.tensor(np.arange(3)))
