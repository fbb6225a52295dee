"""Adversarial review of nn.Module machinery against PyTorch: each test was a silent divergence."""
import pytest
import torch

import npgrad as ng


def _both(build):
    return build(torch), build(ng)


def test_sequential_add_iadd_mul_rmul_imul_pop_match_torch():
    def build(L):
        a, b = L.nn.Sequential(L.nn.ReLU(), L.nn.Tanh()), L.nn.Sequential(L.nn.ELU())
        out = [repr(a + b), repr(2 * a), repr(a * 3)]
        c = L.nn.Sequential(L.nn.ReLU())
        c += b
        c *= 2
        out.append(repr(c))
        d = L.nn.Sequential(L.nn.ReLU(), L.nn.Tanh(), L.nn.Sigmoid())
        out += [repr(d.pop(1)), repr(d.pop(-1)), repr(d)]
        return out
    t, n = _both(build)
    assert n == t
    seq = ng.nn.Sequential(ng.nn.ReLU())
    assert (seq * 2)[0] is (seq * 2)[1]          # the same modules, as PyTorch
    for bad, err in [(lambda s: s * 0, ValueError), (lambda s: s * 1.5, TypeError),
                     (lambda s: s + [ng.nn.ReLU()], ValueError)]:
        with pytest.raises(err):
            bad(seq)


def test_modulelist_add_and_pop_match_torch():
    def build(L):
        a = L.nn.ModuleList([L.nn.ReLU(), L.nn.Tanh()])
        b = a + L.nn.ModuleList([L.nn.ELU()])
        c = a + [L.nn.SELU()]
        return type(b).__name__, repr(b), repr(c), repr(a.pop(0)), repr(a)
    t, n = _both(build)
    assert n == t


def test_modulelist_repr_collapses_repeated_modules_as_torch():
    def build(L):
        inner = L.nn.ModuleList([L.nn.ReLU(), L.nn.ReLU()])
        ml = L.nn.ModuleList([L.nn.ReLU(), L.nn.ReLU(), L.nn.Linear(1, 2), L.nn.Linear(1, 2), L.nn.Linear(1, 2),
                              L.nn.Tanh(), inner])
        return repr(ml), repr(L.nn.ModuleList()), repr(L.nn.Sequential(L.nn.ReLU(), L.nn.ReLU()))
    t, n = _both(build)
    assert n == t


def test_parametrization_list_repr_collapses_as_torch():
    def build(L):
        class Dbl(L.nn.Module):
            def forward(self, X):
                return X * 2
        m = L.nn.Linear(2, 2)
        for _ in range(3):
            L.nn.utils.parametrize.register_parametrization(m, "weight", Dbl())
        return repr(m)
    t, n = _both(build)
    assert n == t


def test_parameter_list_and_dict_repr_indent_as_torch():
    def build(L):
        pl = L.nn.ParameterList([L.nn.Parameter(L.ones(2)), L.nn.Parameter(L.ones(3, 1))])
        pd = L.nn.ParameterDict({"b": L.nn.Parameter(L.ones(2))})
        return [line.split(": Parameter")[0] for r in (repr(pl), repr(pd)) for line in r.split("\n")]
    t, n = _both(build)      # the dtype names differ (float32 / torch.FloatTensor vs float64): compare the layout
    assert n == t


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "Hardswish", "Hardsigmoid", "ReLU6", "ELU", "SiLU", "Mish"])
@pytest.mark.parametrize("inplace", [False, True])
def test_activation_repr_with_inplace_as_torch(name, inplace):
    t, n = _both(lambda L: repr(getattr(L.nn, name)(inplace=inplace)))
    assert n == t
