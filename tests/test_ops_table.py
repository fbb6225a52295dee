"""One table of op cases, checked two ways.

Each ``Case`` names an npgrad function, the PyTorch function that defines the expected
result, the input shapes, the domain the inputs are drawn from, and keyword arguments passed
to both. Every case runs:

* against PyTorch (values, dtype and gradients) in float32 and float64;
* against central finite differences in float64 (no PyTorch involved).

npgrad follows NumPy's array semantics (``var``/``std`` use ``ddof=0`` by default, ``repeat``
is ``np.repeat``...), so the torch side is written to compute the same thing.
"""
from typing import Callable, NamedTuple

import numpy as np
import pytest

import npgrad as npg
from tests.helpers import assert_close, check_finite_difference, compare_with_torch, torch_or_stand_in

torch = torch_or_stand_in()  # the finite-difference checks run without PyTorch; every other test fails
F = torch.nn.functional


# ------------------------------------------------------------------------- the table
class Case(NamedTuple):
    name: str
    fn: Callable            # npgrad: fn(*tensors, **kwargs)
    tfn: Callable           # torch:  tfn(*tensors, **kwargs)
    shapes: tuple           # one shape per input
    domain: object = "real"  # a domain name, or one per input
    kwargs: dict = {}
    fd: bool = True         # run the finite-difference check (False at kinks/ties)
    warns: bool = False     # NumPy warns on the way (empty means, log(0)): expected, silenced

    @property
    def id(self):
        shapes = ",".join("x".join(map(str, s)) or "0d" for s in self.shapes)
        kw = ",".join(f"{k}={v}" for k, v in self.kwargs.items())
        return f"{self.name}[{shapes}]" + (f"({kw})" if kw else "")


def _ties(rng, shape):
    return rng.integers(0, 3, shape).astype(np.float64)  # many exactly equal values


DOMAINS = {
    "real": lambda rng, s: rng.standard_normal(s),
    "pos": lambda rng, s: rng.uniform(0.5, 2.0, s),
    "neg": lambda rng, s: rng.uniform(-1.5, -0.2, s),
    "unit": lambda rng, s: rng.uniform(-0.9, 0.9, s),
    "away": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(0.3, 1.5, s),  # away from 0
    "big": lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(1.5, 3.0, s),
    "ties": _ties,
}


def make_inputs(case, dtype, seed=0):
    rng = np.random.default_rng(seed)
    domains = case.domain if isinstance(case.domain, tuple) else (case.domain,) * len(case.shapes)
    return [np.asarray(DOMAINS[d](rng, s), dtype=dtype) for d, s in zip(domains, case.shapes)]


CASES = []


def add(name, fn, tfn, shapes_list, domain="real", fd=True, warns=False, **kwargs):
    for shapes in shapes_list:
        CASES.append(Case(name, fn, tfn, tuple(shapes), domain, kwargs, fd, warns))


# ---- shapes
UNARY = [[()], [(5,)], [(2, 3)], [(0, 3)], [(1, 0, 2)]]
BINARY = [[(3,), (3,)], [(), ()], [(), (2, 3)], [(2, 3), ()], [(2, 1), (1, 3)], [(4, 1, 3), (2, 1)],
          [(0, 3), (1, 3)], [(2, 0), (2, 1)], [(1,), (0,)], [(3, 1, 2), (2,)]]

# ---- arithmetic (operators, both tensors)
add("add", lambda a, b: a + b, lambda a, b: a + b, BINARY)
add("sub", lambda a, b: a - b, lambda a, b: a - b, BINARY)
add("mul", lambda a, b: a * b, lambda a, b: a * b, BINARY)
add("div", lambda a, b: a / b, lambda a, b: a / b, BINARY, domain=("real", "away"))
add("pow_tt", lambda a, b: a ** b, lambda a, b: a ** b, BINARY, domain=("pos", "real"))
add("power", npg.power, torch.pow, BINARY, domain=("pos", "real"))
add("maximum", npg.maximum, torch.maximum, BINARY)
add("minimum", npg.minimum, torch.minimum, BINARY)
add("maximum_ties", npg.maximum, torch.maximum, BINARY[:6], domain="ties", fd=False)
add("minimum_ties", npg.minimum, torch.minimum, BINARY[:6], domain="ties", fd=False)
# floor division: piecewise constant, torch.div(rounding_mode="floor") has a zero gradient
# (torch.floor_divide has none at all). remainder: d/da = 1, d/db = -floor(a / b), as torch.
add("floor_divide", lambda a, b: a // b, lambda a, b: torch.div(a, b, rounding_mode="floor"),
    BINARY, domain=("real", "away"))
add("remainder", lambda a, b: a % b, torch.remainder, BINARY, domain=("real", "away"))
add("remainder_fn", npg.remainder, torch.remainder, BINARY[:3], domain=("big", "away"))

# ---- tensor with a scalar (either side)
for label, f in [("x+2", lambda x: x + 2), ("2+x", lambda x: 2 + x), ("x-1.5", lambda x: x - 1.5),
                 ("1-x", lambda x: 1 - x), ("3*x", lambda x: 3 * x), ("x*0.5", lambda x: x * 0.5),
                 ("x/4", lambda x: x / 4), ("x**2", lambda x: x ** 2), ("x**3", lambda x: x ** 3),
                 ("x**0", lambda x: x ** 0), ("-x", lambda x: -x), ("2**x", lambda x: 2 ** x),
                 ("0.5**x", lambda x: 0.5 ** x)]:
    add(label, f, f, UNARY)
for label, f in [("1/x", lambda x: 1 / x), ("x**-1", lambda x: x ** -1), ("2//x", lambda x: 2 // x)]:
    add(label, f, f if label != "2//x" else (lambda x: torch.div(2, x, rounding_mode="floor")),
        UNARY, domain="away")
for label, f, tf in [  # a Python number is weak (NEP 50): the gradient keeps the tensor's dtype
        ("maximum(x,0.3)", lambda x: npg.maximum(x, 0.3), lambda x: torch.clamp_min(x, 0.3)),
        ("minimum(0.2,x)", lambda x: npg.minimum(0.2, x), lambda x: torch.clamp_max(x, 0.2)),
        ("x%1.5", lambda x: x % 1.5, lambda x: x % 1.5)]:
    add(label, f, tf, UNARY)
add("2.5%x", lambda x: 2.5 % x,  # torch has no derivative for scalar % tensor: the same formula, spelled out
    lambda x: 2.5 - torch.div(torch.full_like(x, 2.5), x, rounding_mode="floor") * x, UNARY, domain="away")
add("x**0.5", lambda x: x ** 0.5, lambda x: x ** 0.5, UNARY, domain="pos")
add("x**2.5", lambda x: x ** 2.5, lambda x: x ** 2.5, UNARY, domain="pos")

# ---- unary functions
for name, dom in [("neg", "real"), ("abs", "away"), ("exp", "real"), ("log", "pos"), ("log1p", "unit"),
                  ("expm1", "real"), ("sqrt", "pos"), ("sin", "real"), ("cos", "real"), ("tan", "unit"),
                  ("tanh", "real"), ("sigmoid", "real"), ("relu", "away"), ("sign", "away")]:
    add(name, getattr(npg, name), getattr(torch, name), UNARY, domain=dom)
add("abs_method", lambda x: abs(x), lambda x: abs(x), UNARY, domain="away")
add("exp_method", lambda x: x.exp(), lambda x: x.exp(), UNARY)

# ---- clip (torch.clamp), where, masked_fill
add("clip", npg.clip, lambda x, a_min, a_max: torch.clamp(x, a_min, a_max), UNARY, a_min=-0.5, a_max=0.7)
add("clip", npg.clip, lambda x, a_min, a_max: torch.clamp(x, a_min, a_max), UNARY, a_min=None, a_max=0.3)
add("clip", npg.clip, lambda x, a_min, a_max: torch.clamp(x, a_min, a_max), UNARY, a_min=-0.3, a_max=None)
add("clip_tensor_bounds", npg.clip, lambda x, lo, hi: torch.clamp(x, lo, hi),
    [[(2, 3), (3,), ()], [(4,), (4,), (1,)], [(0, 2), (2,), (2,)]], domain=("real", "neg", "pos"))
add("clip_crossed_bounds", npg.clip, lambda x, lo, hi: torch.clamp(x, lo, hi),  # lo > hi in places
    [[(3, 4), (4,), (3, 1)]], domain=("real", "real", "real"))
add("clip_crossed", npg.clip, lambda x, a_min, a_max: torch.clamp(x, a_min, a_max), [[(5,)]], a_min=0.5, a_max=-0.5)

_R = np.random.default_rng(123)
for cshape, shapes in [((2, 3), [(2, 3), (2, 3)]), ((3,), [(2, 1), ()]), ((2, 1), [(3,), (2, 3)]),
                       ((), [(2,), (2,)]), ((0, 2), [(2,), (1,)])]:
    cond = _R.random(cshape) > 0.5
    add("where", lambda x, y, c=cond: npg.where(c, x, y), lambda x, y, c=cond: torch.where(torch.tensor(c), x, y),
        [shapes])
    add("where_const", lambda x, c=cond: npg.where(c, x, 0.0),
        lambda x, c=cond: torch.where(torch.tensor(c), x, 0.0), [shapes[:1]])
for mshape, xshape in [((2, 3, 4), (2, 3, 4)), ((3, 4), (2, 3, 4)), ((1, 4), (2, 3, 4)), ((), (2, 3)),
                       ((3, 1), (3, 5)), ((0,), (2, 0)), ((), ())]:
    mask = _R.random(mshape) > 0.4
    add("masked_fill", lambda x, m=mask: npg.masked_fill(x, m, 2.5),
        lambda x, m=mask: x.masked_fill(torch.tensor(m), 2.5), [[xshape]])
    add("masked_fill_method", lambda x, m=mask: x.masked_fill(m, -1.0),
        lambda x, m=mask: x.masked_fill(torch.tensor(m), -1.0), [[xshape]])


# ---- reductions
def tdims(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)


def t_prod(x, axis=None, keepdims=False):  # torch.prod takes one int dim: reduce them one by one
    dims = sorted({d % x.ndim for d in tdims(axis, x.ndim)}) if x.ndim else []
    out = x
    for d in reversed(dims):
        out = torch.prod(out, d, keepdim=True)
    if not keepdims:
        out = out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in dims))
    return out


def t_reduce(f):
    """NumPy's axis=() reduces nothing; torch's dim=() reduces everything."""
    return lambda x, axis=None, **kw: x.clone() if axis == () else f(x, axis=axis, **kw)


REDUCE_TORCH = {
    "sum": lambda x, axis=None, keepdims=False: torch.sum(x, dim=tdims(axis, x.ndim), keepdim=keepdims),
    "mean": lambda x, axis=None, keepdims=False: torch.mean(x, dim=tdims(axis, x.ndim), keepdim=keepdims),
    "max": lambda x, axis=None, keepdims=False: torch.amax(x, dim=tdims(axis, x.ndim), keepdim=keepdims),
    "min": lambda x, axis=None, keepdims=False: torch.amin(x, dim=tdims(axis, x.ndim), keepdim=keepdims),
    "prod": t_prod,
    "var": lambda x, axis=None, keepdims=False, ddof=0: torch.var(x, dim=tdims(axis, x.ndim), correction=ddof,
                                                                 keepdim=keepdims),
    "std": lambda x, axis=None, keepdims=False, ddof=0: torch.std(x, dim=tdims(axis, x.ndim), correction=ddof,
                                                                 keepdim=keepdims),
    "logsumexp": lambda x, axis=None, keepdims=False: torch.logsumexp(x, dim=tdims(axis, x.ndim),
                                                                      keepdim=keepdims),
}
REDUCE_SHAPES = [(), (5,), (2, 3, 4), (0, 3), (2, 0, 3)]
AXES = [None, 0, -1, 1, (0, 2), (-1, 0), ()]


def _valid_axis(axis, shape):
    axes = tdims(axis, len(shape))
    if any(not -len(shape) <= a < len(shape) for a in axes):
        return False
    return len({a % len(shape) for a in axes}) == len(axes) if shape else True


def _reduced_size(axis, shape):
    n = 1
    for a in tdims(axis, len(shape)):
        n *= shape[a]
    return n


for name, tfn in REDUCE_TORCH.items():
    for shape in REDUCE_SHAPES:
        for axis in AXES:
            if not _valid_axis(axis, shape) or (axis == () and name in ("var", "std")):
                continue
            n = _reduced_size(axis, shape)
            if name in ("max", "min") and n == 0:
                continue  # no identity: an error (tested below)
            if name in ("var", "std") and (n == 0 or (name == "std" and n == 1)):
                continue  # nan / inf gradient (std of one value has a kink at 0)
            fd = not (n == 0 and name in ("mean", "logsumexp"))  # nan / -inf values: torch compares them
            for keepdims in ((False, True) if axis not in ((), 1) else (False,)):
                dom = "pos" if name == "prod" else "real"
                add(name, getattr(npg, name), t_reduce(tfn), [[shape]], domain=dom, fd=fd, warns=0 in shape, axis=axis,
                    keepdims=keepdims)
    if name in ("max", "min"):
        for shape in [(5,), (3, 4), (2, 3, 4)]:
            for axis in [None, 0, -1, (0, -1)]:
                if _valid_axis(axis, shape):
                    add(name + "_ties", getattr(npg, name), tfn, [[shape]], domain="ties", fd=False, axis=axis)
for name in ("var", "std"):
    for shape, axis in [((5,), None), ((2, 3, 4), 1), ((2, 3, 4), (0, -1)), ((3, 4), -1)]:
        add(name, getattr(npg, name), REDUCE_TORCH[name], [[shape]], axis=axis, ddof=1)
        add(name, getattr(npg, name), REDUCE_TORCH[name], [[shape]], axis=axis, ddof=1, keepdims=True)
add("sum_method", lambda x, axis: x.sum(axis=axis), lambda x, axis: x.sum(dim=axis), [[(2, 3)]], axis=1)
add("mean_method", lambda x, axis: x.mean(axis=axis), lambda x, axis: x.mean(dim=axis), [[(2, 3)]], axis=-1)
add("max_method", lambda x, axis: x.max(axis=axis), lambda x, axis: x.amax(dim=axis), [[(2, 3)]], axis=0)


def t_cum(tfn):
    def f(x, axis=None):
        if axis is None:
            return tfn(x.reshape(-1), 0)
        return tfn(x, axis)
    return f


for name, tfn in [("cumsum", torch.cumsum), ("cumprod", torch.cumprod)]:
    for shape in [(), (5,), (2, 3, 4), (0, 3), (3, 0)]:
        for axis in [None, 0, -1, 1]:
            if axis is not None and not _valid_axis(axis, shape) or (axis is not None and shape == ()):
                continue
            add(name, getattr(npg, name), t_cum(tfn), [[shape]], domain="real", axis=axis)
add("cumprod_zeros", lambda x: npg.cumprod(x * np.array([1.0, 0.0, 1.0, 0.0, 1.0], dtype=x.dtype), axis=0),
    lambda x: torch.cumprod(x * torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0], dtype=x.dtype), 0), [[(5,)]])


# ---- shape ops
def t_reshape_like(np_fn):
    """A torch oracle for a pure shape change, its target shape computed by NumPy."""
    return lambda x, **kw: x.reshape(np_fn(np.empty(tuple(x.shape)), **kw).shape)


add("reshape(-1)", lambda x: x.reshape(-1), lambda x: x.reshape(-1), UNARY)
add("reshape(2,-1)", lambda x: npg.reshape(x, (2, -1)), lambda x: x.reshape(2, -1), [[(2, 3)], [(4, 2, 1)]])
add("reshape(-1,1,3)", lambda x: x.reshape(-1, 1, 3), lambda x: x.reshape(-1, 1, 3), [[(2, 3)], [(0, 3)]])
add("transpose", npg.transpose, lambda x: x.permute(tuple(reversed(range(x.ndim)))), UNARY + [[(2, 3, 4)]])
add("transpose_axes", npg.transpose, lambda x, axes: x.permute(*axes), [[(2, 3, 4)], [(0, 3, 1)]],
    axes=(1, -1, 0))
add("T", lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim)))), [[(2, 3)], [(2, 3, 4)], [()]])
add("swapaxes", lambda x: npg.swapaxes(x, 0, -1), lambda x: torch.swapaxes(x, 0, -1), [[(2, 3, 4)], [(2, 0, 4)]])
add("swapaxes_same", lambda x: x.swapaxes(1, 1), lambda x: torch.swapaxes(x, 1, 1), [[(2, 3)]])
add("moveaxis", npg.moveaxis, torch.movedim, [[(2, 3, 4)], [(0, 3, 1)]], source=0, destination=-1)
add("moveaxis", npg.moveaxis, torch.movedim, [[(2, 3, 4, 5)]], source=(0, -1), destination=(2, 0))
add("ravel", npg.ravel, torch.ravel, UNARY)
add("flatten", npg.flatten, torch.flatten, UNARY + [[(2, 3, 4)]])
add("flatten_dims", npg.flatten, torch.flatten, [[(2, 3, 4, 5)], [(2, 0, 4, 5)], [(2, 3, 0, 5)]],
    start_dim=1, end_dim=-2)
add("flatten_dims", npg.flatten, torch.flatten, [[(0, 3, 4)]], start_dim=1)
add("squeeze", npg.squeeze, torch.squeeze, [[(1, 3, 1)], [()], [(1,)], [(0, 1)]])
add("squeeze_int", npg.squeeze, lambda x, axis: torch.squeeze(x, axis), [[(1, 1, 3)], [(2, 1, 0)]], axis=-2)
add("squeeze_tuple", npg.squeeze, lambda x, axis: torch.squeeze(x, axis), [[(1, 3, 1)]], axis=(0, 2))
for axis in [0, -1, 1, (0, 2), (-1, 0)]:
    add("expand_dims", npg.expand_dims, t_reshape_like(np.expand_dims),
        [[s] for s in [(), (3,), (2, 3), (0, 2)] if _valid_axis(axis, (1,) * (len(s) + len(tdims(axis, 0))))],
        axis=axis)
add("broadcast_to", npg.broadcast_to, lambda x, shape: torch.broadcast_to(x, shape), [[()], [(3,)], [(2, 1)]],
    shape=(4, 2, 3))
add("broadcast_to", npg.broadcast_to, lambda x, shape: torch.broadcast_to(x, shape), [[(1,)], [(3, 1)]],
    shape=(3, 0))
add("concatenate", lambda *xs, axis: npg.concatenate(xs, axis=axis), lambda *xs, axis: torch.cat(xs, axis),
    [[(2, 3), (1, 3), (0, 3)], [(4,), (2,)]], axis=0)
add("concatenate", lambda *xs, axis: npg.concatenate(xs, axis=axis), lambda *xs, axis: torch.cat(xs, axis),
    [[(2, 3), (2, 1), (2, 0)], [(2, 1, 2), (2, 3, 2)]], axis=1)
add("concatenate", lambda *xs, axis: npg.concatenate(xs, axis=axis), lambda *xs, axis: torch.cat(xs, axis),
    [[(2, 3), (2, 2)]], axis=-1)
add("concatenate_none", lambda *xs: npg.concatenate(xs, axis=None),
    lambda *xs: torch.cat([x.reshape(-1) for x in xs]), [[(2, 3), (4,), ()]])
add("concat_const", lambda x: npg.concat([x, np.ones((1, 3))], axis=0),
    lambda x: torch.cat([x, torch.ones((1, 3), dtype=torch.float64)], 0), [[(2, 3)]])
add("stack", lambda *xs, axis: npg.stack(xs, axis=axis), lambda *xs, axis: torch.stack(xs, axis),
    [[(), (), ()], [(2, 3), (2, 3)], [(0, 2), (0, 2)]], axis=0)
add("stack", lambda *xs, axis: npg.stack(xs, axis=axis), lambda *xs, axis: torch.stack(xs, axis),
    [[(2, 3), (2, 3), (2, 3)]], axis=-1)


def _split_join(pieces, cat):
    return cat([p * (i + 1) for i, p in enumerate(pieces)])


for sec, axis, shape in [(3, 1, (2, 6)), (2, -1, (2, 3, 4)), ([1, 3], 0, (5, 2)), ([0, 0, 4], 0, (5,)),
                         ([2, 1], 1, (2, 4)), (1, 0, (0, 3)), ([-1], 0, (4, 2)), ([1, -2, 9], -1, (3, 5))]:
    add("split", lambda x, sec=sec, axis=axis: _split_join(npg.split(x, sec, axis=axis),
                                                           lambda ps: npg.concatenate(ps, axis=axis)),
        lambda x, sec=sec, axis=axis: _split_join(torch.tensor_split(x, sec, dim=axis),
                                                  lambda ps: torch.cat(ps, axis)), [[shape]])
add("split_parts", lambda x: npg.split(x, 2, axis=1)[1], lambda x: torch.tensor_split(x, 2, dim=1)[1], [[(3, 4)]])
for axis in [None, 0, -1, (0, 2)]:
    add("flip", npg.flip, lambda x, axis: torch.flip(x, tdims(axis, x.ndim)),
        [[s] for s in [(5,), (2, 3, 4), (0, 2, 3), ()] if _valid_axis(axis, s)], axis=axis)


def t_pad(x, pad_width, constant_values=0):
    widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    return F.pad(x, tuple(int(v) for pair in widths[::-1] for v in pair), value=constant_values)


add("pad", npg.pad, t_pad, [[(2, 3)], [(0, 2)]], pad_width=((1, 2), (0, 3)))
add("pad", npg.pad, t_pad, [[(2, 3, 4)]], pad_width=1, constant_values=1.5)
add("pad", npg.pad, t_pad, [[(3,)]], pad_width=(2, 0))
add("pad", npg.pad, t_pad, [[()]], pad_width=0)


def t_repeat(x, repeats, axis=None):
    if axis is None:
        x, axis = x.reshape(-1), 0
    r = torch.tensor(repeats) if isinstance(repeats, (list, tuple)) else repeats
    return torch.repeat_interleave(x, r, dim=axis)


add("repeat", npg.repeat, t_repeat, [[(2, 3)], [()], [(0, 2)]], repeats=2)
add("repeat", npg.repeat, t_repeat, [[(2, 3)], [(2, 0)]], repeats=3, axis=0)
add("repeat", npg.repeat, t_repeat, [[(2, 3)], [(0, 3)]], repeats=2, axis=-1)
add("repeat", npg.repeat, t_repeat, [[(2, 3)]], repeats=0, axis=1)
add("repeat_each", npg.repeat, t_repeat, [[(2, 3)], [(0, 3)]], repeats=[1, 0, 2], axis=1)
add("repeat_each", npg.repeat, t_repeat, [[(3,)]], repeats=[2, 2, 1])
add("repeat_each", npg.repeat, t_repeat, [[(3, 2)]], repeats=[0, 0, 0], axis=0)
add("repeat_method", lambda x: x.repeat(2, axis=0), lambda x: torch.repeat_interleave(x, 2, dim=0), [[(2, 3)]])
for reps in [2, (2, 1), (1, 2, 3), (3,), (0, 2)]:
    add("tile", npg.tile, lambda x, reps: torch.tile(x, reps if isinstance(reps, tuple) else (reps,)),
        [[()], [(3,)], [(2, 3)], [(0, 2)]], reps=reps)


# ------------------------------------------------------------------------ the tests
_QUIET = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore:.*degrees of freedom:UserWarning")
PARAMS = [pytest.param(c, id=c.id, marks=[_QUIET] if c.warns else []) for c in CASES]


def _call(fn, case):
    return lambda *xs: fn(*xs, **case.kwargs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", PARAMS)
def test_against_torch(case, dtype):
    arrays = make_inputs(case, dtype)
    compare_with_torch(_call(case.fn, case), _call(case.tfn, case), arrays, what=case.id)


@pytest.mark.parametrize("case", [p for p, c in zip(PARAMS, CASES) if c.fd])
def test_finite_difference(case):
    arrays = make_inputs(case, np.float64, seed=1)
    check_finite_difference(_call(case.fn, case), arrays, what=case.id)


@pytest.mark.parametrize("case", PARAMS)
def test_second_order_against_torch(case):
    """Every VJP is itself differentiable (create_graph=True): Hessian-vector products match torch."""
    arrays = make_inputs(case, np.float64)
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = case.fn(*xs, **case.kwargs), case.tfn(*ts, **case.kwargs)
    if not out.requires_grad:
        assert not tout.requires_grad, f"{case.id}: npgrad's output has no gradient, PyTorch's has"
        return
    rng = np.random.default_rng(3)
    w = rng.standard_normal(out.shape)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    gs = npg.autograd.grad(npg.sum(out * w), xs, create_graph=True, allow_unused=True)
    tgs = torch.autograd.grad((tout * torch.tensor(w)).sum(), ts, create_graph=True, allow_unused=True)
    for g, tg in zip(gs, tgs):
        if tg is not None:
            assert_close(g, tg.detach().numpy(force=True), what=f"{case.id} first-order")
    s = [npg.sum(g * v) for g, v in zip(gs, vs) if g is not None and g.requires_grad]
    ts2 = [(tg * torch.tensor(v)).sum() for tg, v in zip(tgs, vs) if tg is not None and tg.requires_grad]
    hs = npg.autograd.grad(sum(s[1:], s[0]), xs, allow_unused=True) if s else [None] * len(xs)
    ths = torch.autograd.grad(sum(ts2[1:], ts2[0]), ts, allow_unused=True) if ts2 else [None] * len(ts)
    for h, th, a in zip(hs, ths, arrays):
        expected = np.zeros(a.shape) if th is None else th.numpy(force=True)
        assert_close(np.zeros(a.shape) if h is None else h, expected, what=f"{case.id} second-order")


def test_table_covers_every_op():
    names = {c.name.split("_")[0].split("(")[0] for c in CASES}
    required = {"add", "sub", "mul", "div", "pow", "power", "neg", "abs", "exp", "log", "log1p", "expm1", "sqrt",
                "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sign", "maximum", "minimum", "clip", "where",
                "floor", "remainder", "sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "cumsum",
                "cumprod", "reshape", "transpose", "swapaxes", "moveaxis", "ravel", "flatten", "squeeze",
                "expand", "broadcast", "concatenate", "stack", "split", "flip", "pad", "repeat", "tile", "masked"}
    assert required <= names, required - names
    shapes = {s for c in CASES for s in c.shapes}
    assert () in shapes and any(0 in s for s in shapes) and any(1 in s for s in shapes)


# ------------------------------------------------------------------ numerics as PyTorch
def _grads(npg_fn, torch_fn, *arrays):
    xs = [npg.tensor(a) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = npg_fn(*xs), torch_fn(*ts)
    npg.sum(out).backward()
    tout.sum().backward()
    return out, tout, xs, ts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_saturating_functions_finite_for_huge_inputs(name, dtype):
    a = np.array([-800.0, -400.0, -100.0, -20.0, 0.0, 20.0, 100.0, 400.0, 800.0], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow on the way either
        out, tout, xs, ts = _grads(getattr(npg, name), getattr(torch, name), a)
    assert np.isfinite(out.data).all() and np.isfinite(xs[0].grad).all()
    assert_close(out, tout.detach().numpy())
    assert_close(xs[0].grad, ts[0].grad.numpy())


@_QUIET  # 0 ** -0.5 on the way to the base's (inf, as torch) gradient
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_exponent_gradient_finite_at_zero_base(dtype):
    a = np.array([0.0, 0.0, 0.0, 1.0, 2.0, 0.5], dtype=dtype)
    b = np.array([0.0, 2.0, 0.5, 3.0, 0.0, -1.0], dtype=dtype)
    out, tout, xs, ts = _grads(lambda a, b: a ** b, lambda a, b: a ** b, a, b)
    assert np.isfinite(xs[1].grad).all()
    assert_close(out, tout.detach().numpy())
    assert_close(xs[0].grad, ts[0].grad.numpy())
    assert_close(xs[1].grad, ts[1].grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [None, 1, 0])
def test_prod_gradient_with_zeros(axis, dtype):
    a = np.array([[2.0, 0.0, 3.0, 0.5],      # one zero
                  [0.0, 1.5, 0.0, 4.0],      # two zeros
                  [1.0, 2.0, 3.0, 4.0]], dtype=dtype)
    f = (lambda x: npg.prod(x, axis=axis))
    tf = (lambda x: torch.prod(x) if axis is None else torch.prod(x, axis))
    for arr in (a, a[:1], a[1:2]):
        out, tout, xs, ts = _grads(f, tf, arr)
        assert np.isfinite(xs[0].grad).all()
        assert_close(out, tout.detach().numpy())
        assert_close(xs[0].grad, ts[0].grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_large_inputs(dtype):
    a = np.array([[1e4, 1e4 + 1.0, 1e4 - 2.0], [-1e4, -1e4 + 0.5, -1e4 - 3.0]], dtype=dtype)
    for axis in (None, 1, -1, (0, 1)):
        out, tout, xs, ts = _grads(lambda x: npg.logsumexp(x, axis=axis),
                                   lambda x: torch.logsumexp(x, dim=tdims(axis, 2)), a)
        assert np.isfinite(out.data).all() and np.isfinite(xs[0].grad).all()
        assert_close(out, tout.detach().numpy())
        assert_close(xs[0].grad, ts[0].grad.numpy())


@_QUIET  # log(0), inf - inf: the nan gradients are torch's too
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_logsumexp_infinite_inputs(dtype):
    a = np.array([[-np.inf, -np.inf], [-np.inf, 0.0], [np.inf, 1.0]], dtype=dtype)
    out, tout, xs, ts = _grads(lambda x: npg.logsumexp(x, axis=1), lambda x: torch.logsumexp(x, 1), a)
    assert_close(out, tout.detach().numpy())
    assert_close(xs[0].grad, ts[0].grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sqrt_gradient_at_zero_is_inf(dtype):
    a = np.array([0.0, 1.0, 4.0], dtype=dtype)
    with np.errstate(divide="ignore"):
        out, tout, xs, ts = _grads(npg.sqrt, torch.sqrt, a)
    assert xs[0].grad[0] == np.inf
    assert_close(xs[0].grad, ts[0].grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["abs", "relu"])
def test_kink_gradient_at_zero_is_zero(name, dtype):
    a = np.array([-1.0, 0.0, -0.0, 2.0], dtype=dtype)
    out, tout, xs, ts = _grads(getattr(npg, name), getattr(torch, name), a)
    assert xs[0].grad[1] == 0 and xs[0].grad[2] == 0
    assert_close(xs[0].grad, ts[0].grad.numpy())


@pytest.mark.parametrize("name", ["max", "min"])
def test_extreme_of_empty_raises(name):
    with pytest.raises(ValueError, match=name):
        getattr(npg, name)(npg.zeros(0, 3), axis=0)
