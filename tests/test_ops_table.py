"""One table of op cases, checked two ways.

Each ``Case`` names an npgrad function, the PyTorch function that defines the expected
result, the input shapes, the domain the inputs are drawn from, and keyword arguments passed
to both. Every case runs:

* against PyTorch (values, dtype and gradients) in float32 and float64;
* against central finite differences in float64 (no PyTorch involved).

npgrad follows NumPy's array semantics (``var``/``std`` use ``ddof=0`` by default, ``repeat``
is ``np.repeat``...), so the torch side is written to compute the same thing.
"""
import math
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
    "gt1": lambda rng, s: rng.uniform(1.2, 3.0, s),
    "nans": lambda rng, s: np.where(np.arange(int(np.prod(s))).reshape(s) % 5 == 1, np.nan, rng.standard_normal(s)),
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

# ---- more ufuncs (issue 13): hyperbolic, inverse trig, exp2/cbrt/sinc, angles, rounding, nan_to_num
for name, tname, dom in [("sinh", "sinh", "real"), ("cosh", "cosh", "real"), ("arcsin", "asin", "unit"),
                         ("arccos", "acos", "unit"), ("arctan", "atan", "real"), ("arcsinh", "asinh", "real"),
                         ("arccosh", "acosh", "gt1"), ("arctanh", "atanh", "unit"), ("exp2", "exp2", "real"),
                         ("sinc", "sinc", "away"), ("deg2rad", "deg2rad", "real"), ("rad2deg", "rad2deg", "real"),
                         ("radians", "deg2rad", "real"), ("degrees", "rad2deg", "real"), ("trunc", "trunc", "big"),
                         ("fix", "fix", "big"), ("rint", "round", "big"), ("floor", "floor", "big"),
                         ("ceil", "ceil", "big"), ("round", "round", "big")]:
    add(name, getattr(npg, name), getattr(torch, tname), UNARY, domain=dom)
add("cbrt", npg.cbrt, lambda x: torch.sign(x) * x.abs() ** (1 / 3), UNARY, domain="away")
add("round_decimals", npg.round, lambda x, decimals: torch.round(x, decimals=decimals), UNARY, domain="big",
    decimals=1)
add("round_np", lambda x: np.round(x, 2), lambda x: torch.round(x, decimals=2), UNARY[:3], domain="big")
add("round_method", lambda x: x.round(1), lambda x: torch.round(x, decimals=1), UNARY[:3], domain="big")
add("nan_to_num", npg.nan_to_num, torch.nan_to_num, UNARY)
add("fabs", npg.fabs, torch.abs, UNARY, domain="away")
for name, dom in [("log2", "pos"), ("log10", "pos"), ("reciprocal", "away"), ("square", "real")]:
    add(name, getattr(npg, name), getattr(torch, name), UNARY, domain=dom)
add("float_power", npg.float_power, lambda a, b: torch.float_power(a, b), BINARY[:6], domain=("pos", "real"))
add("positive", npg.positive, torch.positive, UNARY)
add("sinh_method", lambda x: x.sinh(), lambda x: x.sinh(), UNARY[:3])
add("np.arcsinh", np.arcsinh, torch.asinh, UNARY[:3])
for name, tname, dom in [("arctan2", "atan2", ("real", "away")), ("hypot", "hypot", "away"),
                         ("logaddexp", "logaddexp", "real"), ("logaddexp2", "logaddexp2", "real"),
                         ("fmax", "fmax", "real"), ("fmin", "fmin", "real"), ("fmod", "fmod", ("big", "away")),
                         ("copysign", "copysign", ("away", "away"))]:
    add(name, getattr(npg, name), getattr(torch, tname), BINARY, domain=dom)
add("nextafter", npg.nextafter, torch.nextafter, BINARY, domain=("real", "real"))
add("nextafter_method", lambda a, b: a.nextafter(b), lambda a, b: a.nextafter(b), BINARY[:3], domain=("real", "real"))
add("fmax_ties", npg.fmax, torch.fmax, BINARY[:6], domain="ties", fd=False)
add("fmin_ties", npg.fmin, torch.fmin, BINARY[:6], domain="ties", fd=False)
add("np.logaddexp", np.logaddexp, torch.logaddexp, BINARY[:3])


def t_heaviside(x, v):  # torch.heaviside has no derivative: the same function from torch.where
    return torch.where(x == 0, v, (x > 0).to(x.dtype))


add("heaviside", npg.heaviside, t_heaviside, BINARY, domain=("away", "real"))
add("heaviside_ties", npg.heaviside, t_heaviside, BINARY[:6], domain=("ties", "real"), fd=False)

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
    # in place (a "masked_fill" node whose values are the written tensor's memory: shape.py, _masked_fill_into)
    add("masked_fill_", lambda x, m=mask: (x * 1.0).masked_fill_(npg.tensor(m), -1.0),
        lambda x, m=mask: (x * 1.0).masked_fill_(torch.tensor(m), -1.0), [[xshape]])
# in-place one-argument methods computed into the tensor's memory (elementwise.py: unary's into)
for name, dom in [("tanh_", "real"), ("sigmoid_", "real"), ("exp_", "real"), ("sqrt_", "pos"),
                  ("reciprocal_", "away"), ("neg_", "real")]:
    add(name, lambda x, n=name: getattr(x * 1.0, n)(), lambda x, n=name: getattr(x * 1.0, n)(), UNARY, domain=dom)


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


add("copy", npg.copy, lambda x: x.clone(), UNARY)
add("clone", lambda x: x.clone(), lambda x: x.clone(), UNARY)
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


# ---- np.linalg (npg.linalg; full coverage, degenerate points and errors: tests/test_linalg.py)
LA, TLA = npg.linalg, torch.linalg
DOMAINS["wellcond"] = lambda rng, s: rng.standard_normal(s) + 3 * np.eye(*s[-2:])  # far from singular
SQUARE = [[(3, 3)], [(2, 3, 3)], [(0, 2, 2)]]
add("det", LA.det, TLA.det, SQUARE, domain="wellcond")
add("slogdet", lambda a: LA.slogdet(a)[1], lambda a: TLA.slogdet(a)[1], SQUARE, domain="wellcond")
add("inv", LA.inv, TLA.inv, SQUARE, domain="wellcond")
add("solve", LA.solve, TLA.solve, [[(3, 3), (3, 2)], [(2, 3, 3), (1, 3, 4)]], domain=("wellcond", "real"))
add("cholesky", lambda a: LA.cholesky(a @ a.swapaxes(-1, -2)), lambda a: TLA.cholesky(a @ a.mT), SQUARE,
    domain="wellcond")
add("eigvalsh", lambda a: LA.eigvalsh(a + a.swapaxes(-1, -2)), lambda a: TLA.eigvalsh(a + a.mT), SQUARE)
add("svdvals", LA.svdvals, TLA.svdvals, [[(3, 3)], [(2, 4, 3)], [(2, 5)]], domain="wellcond")
add("pinv", LA.pinv, TLA.pinv, [[(3, 3)], [(2, 3, 3)]], domain="wellcond")
add("matrix_power", lambda a: LA.matrix_power(a, 3), lambda a: TLA.matrix_power(a, 3), SQUARE)
add("matrix_power_neg", lambda a: LA.matrix_power(a, -2), lambda a: TLA.matrix_power(a, -2), SQUARE,
    domain="wellcond")
for ord in [2, 1, np.inf, 3]:
    add("vector_norm", lambda x, o=ord: LA.vector_norm(x, ord=o, axis=-1),
        lambda x, o=ord: TLA.vector_norm(x, o, dim=-1), [[(5,)], [(2, 3)], [(0, 3)]], domain="away")
for ord in ["fro", "nuc", 2, 1]:
    add("matrix_norm", lambda x, o=ord: LA.matrix_norm(x, ord=o), lambda x, o=ord: TLA.matrix_norm(x, o),
        [[(3, 3)], [(2, 3, 4)]], domain="wellcond")
add("norm", LA.norm, lambda x: TLA.vector_norm(x), [[(5,)], [(2, 3, 4)], [()]], domain="away")


# scipy.linalg's in npg.linalg (direct tests: tests/test_linalg_scipy.py)
def _t_tri(a, b, upper=True, trans=0, unit=False):
    a = a if trans == 0 else a.mT
    x = TLA.solve_triangular(a, b[..., None] if b.ndim == 1 else b, upper=upper, unitriangular=unit)
    return x[..., 0] if b.ndim == 1 else x


def _t_lu_solve(a, b, adjoint=False):
    x = TLA.lu_solve(*TLA.lu_factor(a), b[..., None] if b.ndim == 1 else b, adjoint=adjoint)
    return x[..., 0] if b.ndim == 1 else x


add("solve_triangular", LA.solve_triangular, _t_tri, [[(3, 3), (3, 2)], [(2, 3, 3), (3,)]], domain=("wellcond", "real"))
add("solve_triangular_lower_T_unit", lambda a, b: LA.solve_triangular(a, b, trans="T", lower=True, unit_diagonal=True),
    lambda a, b: _t_tri(a, b, True, 1, True), [[(2, 3, 3), (1, 3, 4)]], domain=("wellcond", "real"))
add("cho_solve", lambda a, b: LA.cho_solve(LA.cho_factor(a @ a.swapaxes(-1, -2)), b),
    lambda a, b: torch.cholesky_solve(b, TLA.cholesky(a @ a.mT, upper=True), upper=True),
    [[(3, 3), (3, 2)], [(2, 3, 3), (3, 1)]], domain=("wellcond", "real"))
add("cho_solve_lower", lambda a, b: LA.cho_solve(LA.cho_factor(a @ a.swapaxes(-1, -2), lower=True), b),
    lambda a, b: torch.cholesky_solve(b[:, None], TLA.cholesky(a @ a.mT))[:, 0], [[(3, 3), (3,)]],
    domain=("wellcond", "real"))
add("expm", LA.expm, TLA.matrix_exp, SQUARE + [[(2, 4, 4)]])
add("matrix_exp_scaled", lambda a: LA.matrix_exp(4 * a), lambda a: TLA.matrix_exp(4 * a), [[(3, 3)]])
add("lu_factor", lambda a: LA.lu_factor(a)[0], lambda a: TLA.lu_factor(a)[0], [[(3, 3)], [(2, 3, 5)], [(4, 2)]])
add("lu_L", lambda a: LA.lu(a)[1], lambda a: TLA.lu(a)[1], [[(3, 3)], [(2, 3, 4)], [(4, 2)]])
add("lu_U", lambda a: LA.lu(a)[2], lambda a: TLA.lu(a)[2], [[(3, 3)], [(2, 3, 4)], [(4, 2)]])
add("lu_solve", lambda a, b: LA.lu_solve(LA.lu_factor(a), b), _t_lu_solve, [[(3, 3), (3, 2)], [(2, 3, 3), (3,)]],
    domain=("wellcond", "real"))
add("lu_solve_C", lambda a, b: LA.lu_solve(LA.lu_factor(a), b, trans=2), lambda a, b: _t_lu_solve(a, b, True),
    [[(2, 3, 3), (2, 3, 2)]], domain=("wellcond", "real"))
add("block_diag", lambda *xs: LA.block_diag(*xs), torch.block_diag, [[(2, 3), (1,), (), (3, 1)], [(2, 2)]])


def _t_sylvester(a, b, q):
    """torch: A X + X B = Q by the Kronecker system (column-major vec), batched (torch has no Sylvester solver)."""
    n, m = a.shape[-1], b.shape[-1]
    batch = torch.broadcast_shapes(a.shape[:-2], b.shape[:-2], q.shape[:-2])
    dt = q.dtype
    K = (torch.einsum("jl,...ik->...jilk", torch.eye(m, dtype=dt), a)
         + torch.einsum("...lj,ik->...jilk", b, torch.eye(n, dtype=dt)))
    K = K.reshape(K.shape[:-4] + (m * n, m * n)).expand(batch + (m * n, m * n))
    rhs = q.mT.reshape(q.shape[:-2] + (m * n, 1)).expand(batch + (m * n, 1))
    return torch.linalg.solve(K, rhs).reshape(batch + (m, n)).mT


def _t_discrete_lyapunov(a, q):
    """torch: A X A^H - X + Q = 0 by the Kronecker system (row-major vec), batched."""
    n = a.shape[-1]
    batch = torch.broadcast_shapes(a.shape[:-2], q.shape[:-2])
    kron = torch.einsum("...ik,...jl->...ijkl", a, a.conj()).reshape(a.shape[:-2] + (n * n, n * n))
    lhs = (torch.eye(n * n, dtype=a.dtype) - kron).expand(batch + (n * n, n * n))
    x = torch.linalg.solve(lhs, q.reshape(q.shape[:-2] + (n * n, 1)).expand(batch + (n * n, 1)))
    return x.reshape(batch + (n, n))


add("solve_sylvester", LA.solve_sylvester, _t_sylvester, [[(3, 3), (2, 2), (3, 2)], [(2, 3, 3), (2, 2), (1, 3, 2)]],
    domain=("wellcond", "wellcond", "real"))
add("solve_continuous_lyapunov", LA.solve_continuous_lyapunov, lambda a, q: _t_sylvester(a, a.mH, q),
    [[(3, 3), (3, 3)], [(2, 3, 3), (3, 3)]], domain=("wellcond", "real"))


def _t_sqrtm(a):
    """torch: the principal square root by the Denman-Beavers iteration (quadratically convergent for the
    "wellcond" matrices, eigenvalues in the right half plane; differentiable through the iteration)."""
    y, z = a, torch.eye(a.shape[-1], dtype=a.dtype).expand(a.shape)
    for _ in range(25):
        y, z = (y + TLA.inv(z)) / 2, (z + TLA.inv(y)) / 2
    return y


def _t_expm_i(a):
    return TLA.matrix_exp(a * 1j)


add("sqrtm", LA.sqrtm, _t_sqrtm, SQUARE, domain="wellcond")
add("sqrtm_spd", lambda a: LA.sqrtm(a @ a.swapaxes(-1, -2) + np.eye(3, dtype=a.dtype)),
    lambda a: _t_sqrtm(a @ a.mT + torch.eye(3, dtype=a.dtype)), [[(3, 3)], [(2, 3, 3)]])
add("sinm", LA.sinm, lambda a: _t_expm_i(a).imag, SQUARE)
add("cosm", LA.cosm, lambda a: _t_expm_i(a).real, SQUARE)
add("tanm", lambda a: LA.tanm(0.3 * a), lambda a: TLA.solve(_t_expm_i(0.3 * a).real, _t_expm_i(0.3 * a).imag),
    SQUARE)
add("sinhm", LA.sinhm, lambda a: (TLA.matrix_exp(a) - TLA.matrix_exp(-a)) / 2, SQUARE)
add("coshm", LA.coshm, lambda a: (TLA.matrix_exp(a) + TLA.matrix_exp(-a)) / 2, SQUARE)
add("tanhm", lambda a: LA.tanhm(0.3 * a), lambda a: TLA.solve(TLA.matrix_exp(0.3 * a) + TLA.matrix_exp(-0.3 * a),
                                                              TLA.matrix_exp(0.3 * a) - TLA.matrix_exp(-0.3 * a)),
    SQUARE)
for _m in ["direct", "bilinear"]:
    add(f"solve_discrete_lyapunov_{_m}", lambda a, q, m=_m: LA.solve_discrete_lyapunov(a * 0.2, q, method=m),
        lambda a, q: _t_discrete_lyapunov(a.double() * 0.2, q.double()),   # float64 for float32, as SciPy
        [[(3, 3), (3, 3)], [(2, 3, 3), (3, 3)]])

# ---- array helpers (issue 13): stacking, splitting, rolling, triangles/diagonals, differences, pad modes
def _seq(fn):
    return lambda *xs, **kw: fn(list(xs), **kw)


def _joined(pieces, cat):  # split results: weight each piece differently, join them again
    return cat([p * (i + 1) for i, p in enumerate(pieces)])


for name, tname, shapes in [("vstack", "vstack", [[(3,), (3,)], [(2, 3), (1, 3)], [(), ()], [(0, 2), (2,)]]),
                            ("hstack", "hstack", [[(3,), (2,)], [(2, 3), (2, 1)], [(), ()], [(0,), (2,)]]),
                            ("dstack", "dstack", [[(3,), (3,)], [(2, 3), (2, 3)], [(2, 3, 1), (2, 3, 2)]]),
                            ("column_stack", "column_stack", [[(3,), (3,)], [(3, 2), (3,)], [(0,), (0, 2)]]),
                            ("row_stack", "vstack", [[(3,), (3,)]])]:
    add(name, _seq(getattr(npg, name)), _seq(getattr(torch, tname)), shapes)
add("append", npg.append, lambda a, b: torch.cat([a.reshape(-1), b.reshape(-1)]), [[(2, 3), (4,)], [(), (0,)]])
add("append_axis", npg.append, lambda a, b, axis: torch.cat([a, b], axis), [[(2, 3), (2, 1)]], axis=1)
for fn, tfn, arg, shape, axis in [(npg.array_split, torch.tensor_split, 3, (7, 2), 0),
                                  (npg.array_split, torch.tensor_split, 4, (2, 3), 1),
                                  (npg.array_split, torch.tensor_split, [1, 5], (6,), 0),
                                  (npg.array_split, torch.tensor_split, 2, (0, 3), 0)]:
    add("array_split", lambda x, fn=fn, arg=arg, axis=axis: _joined(fn(x, arg, axis=axis),
                                                                    lambda ps: npg.concatenate(ps, axis)),
        lambda x, tfn=tfn, arg=arg, axis=axis: _joined(tfn(x, arg, axis), lambda ps: torch.cat(ps, axis)), [[shape]])
for name, shape, axis in [("hsplit", (2, 4), 1), ("hsplit", (4,), 0), ("vsplit", (4, 3), 0), ("dsplit", (1, 2, 4), 2)]:
    add(name, lambda x, name=name, axis=axis: _joined(getattr(npg, name)(x, 2), lambda ps: npg.concatenate(ps, axis)),
        lambda x, name=name, axis=axis: _joined(getattr(torch, name)(x, 2), lambda ps: torch.cat(ps, axis)), [[shape]])
for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    add(name, getattr(npg, name), getattr(torch, name), [[()], [(3,)], [(2, 3)], [(2, 3, 4)], [(0, 2)]])
add("atleast_2d_many", lambda a, b: (lambda r: r[0] + r[1] * 2.0)(npg.atleast_2d(a, b)),
    lambda a, b: (lambda r: r[0] + r[1] * 2.0)(torch.atleast_2d(a, b)),
    [[(), (3,)]])
for shift, axis, shapes in [(2, None, [[(5,)], [(2, 3)], [()], [(0, 2)]]), (-1, 1, [[(2, 3)], [(2, 0)]]),
                            ((1, 2), (0, 1), [[(3, 4)]]), (7, -1, [[(2, 3)]]), ((1, 1), (0, 0), [[(4, 2)]])]:
    add("roll", npg.roll, lambda x, shift, axis: torch.roll(x, shift, axis), shapes, shift=shift, axis=axis)


def t_rollaxis(x, axis, start=0):  # the permutation np.rollaxis makes, read off distinct axis sizes
    probe = np.rollaxis(np.empty(tuple(range(2, x.ndim + 2))), axis, start).shape
    return x.permute([n - 2 for n in probe])


for axis, start in [(2, 0), (0, 3), (-1, 1), (1, 1)]:
    add("rollaxis", npg.rollaxis, t_rollaxis, [[(2, 3, 4)]], axis=axis, start=start)
for k, axes in [(1, (0, 1)), (2, (0, 1)), (3, (1, 0)), (-1, (0, 2)), (4, (0, 1))]:
    add("rot90", npg.rot90, lambda x, k, axes: torch.rot90(x, k, axes),
        [[(2, 3)], [(2, 3, 4)]] if max(axes) < 2 else [[(2, 3, 4)]], k=k, axes=axes)
add("fliplr", npg.fliplr, torch.fliplr, [[(2, 3)], [(2, 3, 4)], [(0, 2)]])
add("flipud", npg.flipud, torch.flipud, [[(3,)], [(2, 3)], [(0,)]])
for k in (0, 1, -2):
    add("tril", npg.tril, lambda x, k: torch.tril(x, k), [[(3, 3)], [(2, 4)], [(2, 3, 4)], [(0, 2)]], k=k)
    add("triu", npg.triu, lambda x, k: torch.triu(x, k), [[(3, 3)], [(4, 2)], [(2, 3, 4)], [(2, 0)]], k=k)
for offset, a1, a2, shapes in [(0, 0, 1, [[(3, 3)], [(2, 4)], [(0, 3)]]), (1, 0, 1, [[(3, 4)], [(2, 1)]]),
                               (-1, 0, 1, [[(3, 4)]]), (0, -1, 0, [[(2, 3, 4)]]), (1, 2, 1, [[(2, 3, 4)]])]:
    add("diagonal", npg.diagonal, lambda x, offset, axis1, axis2: torch.diagonal(x, offset, axis1, axis2), shapes,
        offset=offset, axis1=a1, axis2=a2)
    add("trace", npg.trace, lambda x, offset, axis1, axis2: torch.diagonal(x, offset, axis1, axis2).sum(-1), shapes,
        offset=offset, axis1=a1, axis2=a2)
add("diagonal_method", lambda x: x.diagonal(1), lambda x: x.diagonal(1), [[(3, 4)]])
for k in (0, 2, -1):
    add("diag", npg.diag, lambda x, k: torch.diag(x, k), [[(3,)], [(3, 4)], [(0,)], [(1,)]], k=k)
    add("diagflat", npg.diagflat, lambda x, k: torch.diagflat(x, k), [[(2, 2)], [()], [(3,)]], k=k)
for n, axis in [(1, -1), (2, 0), (3, 1), (0, 0)]:
    add("diff", npg.diff, lambda x, n, axis: torch.diff(x, n, axis), [[(5, 4)], [(4, 6)], [(4, 0)]], n=n, axis=axis)
add("diff_prepend", lambda x, p, a: npg.diff(x, axis=0, prepend=p, append=a),
    lambda x, p, a: torch.diff(x, dim=0, prepend=p, append=a), [[(3, 2), (1, 2), (2, 2)]])
add("diff_scalar_prepend", lambda x: npg.diff(x, prepend=0.5), lambda x: torch.diff(x, prepend=x.new_full((1,), 0.5)),
    [[(4,)]])
add("ediff1d", npg.ediff1d, lambda x: torch.diff(x.reshape(-1)), [[(2, 3)], [(1,)], [()]])
add("ediff1d_ends", lambda x, b, e: npg.ediff1d(x, to_end=e, to_begin=b),
    lambda x, b, e: torch.cat([b.reshape(-1), torch.diff(x.reshape(-1)), e.reshape(-1)]), [[(4,), (2,), ()]])


def _stacked(res):
    return npg.stack(res) if isinstance(res, tuple) else res


def _tstacked(res):
    return torch.stack(res) if len(res) > 1 else res[0]


for kw, tkw, shapes in [({}, {}, [[(5,)], [(3, 4)]]), ({"edge_order": 2}, {"edge_order": 2}, [[(5,)], [(3, 4)]]),
                        ({"axis": 1}, {"dim": 1}, [[(3, 4)]]),
                        ({"axis": -1, "edge_order": 2}, {"dim": -1, "edge_order": 2}, [[(2, 3, 4)]])]:
    add("gradient", lambda x, kw=kw: _stacked(npg.gradient(x, **kw)),
        lambda x, tkw=tkw: _tstacked(torch.gradient(x, **tkw)), shapes)
    add("gradient_spacing", lambda x, kw=kw: _stacked(npg.gradient(x, 0.5, **kw)),
        lambda x, tkw=tkw: _tstacked(torch.gradient(x, spacing=0.5, **tkw)), shapes)
_COORDS = np.array([0.0, 0.3, 1.0, 1.2, 2.0])
for eo in (1, 2):
    add("gradient_coords", lambda x, eo=eo: npg.gradient(x, _COORDS.astype(x.dtype), edge_order=eo),
        lambda x, eo=eo: torch.gradient(x, spacing=(torch.tensor(_COORDS, dtype=x.dtype),), edge_order=eo)[0],
        [[(5,)]])
    add("gradient_tensor_coords", lambda x, c, eo=eo: npg.gradient(x, npg.cumsum(c), edge_order=eo),
        lambda x, c, eo=eo: torch.gradient(x, spacing=(torch.cumsum(c, 0),), edge_order=eo)[0],
        [[(5,), (5,)]], domain=("real", "pos"))
add("kron", npg.kron, torch.kron, [[(2, 3), (3, 2)], [(3,), (2,)], [(), (2,)], [(2, 2), (3,)], [(2, 1, 2), (3, 2)],
                                  [(0, 2), (2, 2)]])
add("cross", npg.cross, lambda a, b: torch.linalg.cross(*torch.broadcast_tensors(a, b)),
    [[(3,), (3,)], [(4, 3), (3,)], [(2, 1, 3), (4, 3)], [(0, 3), (3,)]])
add("cross_axis", npg.cross, lambda a, b, axis: torch.linalg.cross(a, b, dim=axis), [[(3, 4), (3, 4)]], axis=0)
add("cross_2d", npg.cross, lambda a, b: a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0], [[(4, 2), (2,)]])
_C1, _C2 = _R.random((2, 3)) > 0.5, _R.random((3,)) > 0.3
add("select", lambda a, b: npg.select([_C1, _C2], [a, b], default=-1.0),
    lambda a, b: torch.where(torch.tensor(_C1), a, torch.where(torch.tensor(_C2), b, -1.0)), [[(2, 3), ()],
                                                                                               [(3,), (2, 3)]])
add("copy", npg.copy, torch.clone, UNARY)
add("copy_method", lambda x: x.copy(), torch.clone, [[(2, 3)]])
add("einsum_sublist", lambda a, b: npg.einsum(a, [0, 1], b, [1, 2], [0, 2]),
    lambda a, b: torch.einsum(a, [0, 1], b, [1, 2], [0, 2]), [[(2, 3), (3, 4)]])
add("einsum_sublist", lambda a, b: npg.einsum(a, [Ellipsis, 0], b, [0]),
    lambda a, b: torch.einsum(a, [Ellipsis, 0], b, [0]), [[(2, 3), (3,)]])
add("np.einsum_sublist", lambda a: np.einsum(a, [0, 0]), lambda a: torch.einsum(a, [0, 0]), [[(3, 3)]])


def t_linear(np_fn):
    """A torch oracle for an affine NumPy function of one array: its Jacobian, read off basis vectors."""
    def f(x, **kw):
        shape = tuple(x.shape)
        zero = np.asarray(np_fn(np.zeros(shape), **kw), dtype=np.float64)
        cols = [np.asarray(np_fn(e.reshape(shape), **kw), dtype=np.float64).ravel() - zero.ravel()
                for e in np.eye(int(np.prod(shape)))]
        jac = torch.tensor(np.stack(cols, axis=1) if cols else np.zeros((zero.size, 0)), dtype=x.dtype)
        return (jac @ x.reshape(-1) + torch.tensor(zero.ravel(), dtype=x.dtype)).reshape(zero.shape)
    return f


_T_PAD = t_linear(np.pad)
for mode, kw, widths in [("edge", {}, [1, ((2, 0), (1, 3))]), ("wrap", {}, [2, ((5, 1), (0, 4))]),
                         ("reflect", {}, [1, ((2, 5), (3, 0))]), ("symmetric", {}, [2, ((4, 1), (0, 7))]),
                         ("reflect", {"reflect_type": "odd"}, [((3, 5), (1, 2))]),
                         ("symmetric", {"reflect_type": "odd"}, [((7, 2), (2, 1))]),
                         ("linear_ramp", {}, [2, ((3, 1), (0, 2))]),
                         ("linear_ramp", {"end_values": ((1.5, -1.0), (0.5, 2.0))}, [((2, 1), (1, 3))]),
                         ("mean", {}, [2]), ("mean", {"stat_length": ((1, 2), (3, 2))}, [((2, 1), (1, 3))])]:
    for pw in widths:
        add("pad_" + mode, npg.pad, _T_PAD, [[(2, 3)], [(3, 4)]], pad_width=pw, mode=mode, **kw)
add("pad_reflect", npg.pad, _T_PAD, [[(3,)], [(1, 2)], [()]], pad_width=1, mode="reflect")
add("pad_edge", npg.pad, _T_PAD, [[(0, 2)]], pad_width=((0, 0), (1, 1)), mode="edge")
add("pad_np", lambda x: np.pad(x, 2, mode="wrap"), lambda x: _T_PAD(x, pad_width=2, mode="wrap"), [[(3, 2)]])


def t_pad_stat(x, pad_width, mode, stat_length=None):
    widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    lengths = np.broadcast_to(np.asarray(stat_length if stat_length is not None else max(x.shape)), (x.ndim, 2))
    fn = {"maximum": torch.amax, "minimum": torch.amin,
          "median": lambda v, dim, keepdim: torch.quantile(v, 0.5, dim, keepdim=keepdim)}[mode]
    for ax, ((b, a), (lb, la)) in enumerate(zip(widths, lengths)):
        n = x.shape[ax]
        left = fn(x.narrow(ax, 0, min(lb, n)), dim=ax, keepdim=True)
        right = fn(x.narrow(ax, n - min(la, n), min(la, n)), dim=ax, keepdim=True)
        shape = list(x.shape)
        x = torch.cat([left.expand(*shape[:ax], int(b), *shape[ax + 1:]), x,
                       right.expand(*shape[:ax], int(a), *shape[ax + 1:])], ax)
    return x


for mode in ("maximum", "minimum", "median"):
    add("pad_" + mode, npg.pad, t_pad_stat, [[(2, 3)], [(4, 3)], [(5,)]], pad_width=2, mode=mode)
    add("pad_" + mode, npg.pad, t_pad_stat, [[(4, 5)]], pad_width=((1, 2), (3, 1)), mode=mode, stat_length=2)


# ---- the rest of NumPy's array functions (surface-arrays): grids, choose / compress / delete / insert, resize,
# sort_complex, piecewise, apply_along_axis, trapezoid, unwrap, ldexp / frexp / modf / divmod, i0, astype.
# (In-place copyto / put / ... and trim_zeros, whose shape depends on the data: tests/test_numpy_arrays.py.)
def t_affine(np_fn):
    """A torch oracle for a NumPy function affine in all its array inputs together (selections, insertions,
    grids): ``c + sum_i J_i x_i``, each Jacobian read off NumPy's results on basis vectors; NumPy's dtype."""
    def f(*xs, **kw):
        shapes = [tuple(x.shape) for x in xs]
        dts = [np.dtype(str(x.dtype).replace("torch.", "")) for x in xs]
        zeros = [np.zeros(s, d) for s, d in zip(shapes, dts)]
        c = np.asarray(np_fn(*zeros, **kw))
        out = torch.tensor(c.astype(np.float64).ravel())
        for i, s in enumerate(shapes):
            cols = []
            for e in np.eye(int(np.prod(s))):
                args = list(zeros)
                args[i] = e.reshape(s).astype(dts[i])
                cols.append(np.asarray(np_fn(*args, **kw), dtype=np.float64).ravel() - c.ravel())
            jac = torch.tensor(np.stack(cols, axis=1) if cols else np.zeros((c.size, 0)))
            out = out + jac @ xs[i].reshape(-1).to(torch.float64)
        return out.reshape(c.shape).to(getattr(torch, str(c.dtype)))
    return f


def _flat(outs, cat=npg.concatenate, ravel=npg.ravel):
    return cat([ravel(o) for o in outs])


def _np_flat(outs):
    return np.concatenate([np.ravel(o) for o in outs])


for kw in ({}, {"indexing": "ij"}, {"sparse": True}, {"copy": False}, {"sparse": True, "indexing": "ij"}):
    add("meshgrid", lambda *xs, kw=kw: _flat(npg.meshgrid(*xs, **kw)),
        t_affine(lambda *xs, kw=kw: _np_flat(np.meshgrid(*xs, **kw))),
        [[(3,), (2,)], [(2,), (0,)], [(3,), (2,), (4,)], [(2, 2), ()], [(4,)]])
add("meshgrid_torch", lambda a, b: npg.stack(npg.meshgrid(a, b)),
    lambda a, b: torch.stack(torch.meshgrid(a, b, indexing="xy")), [[(3,), (2,)], [(1,), (4,)]])
add("np.meshgrid", lambda a, b: npg.stack(np.meshgrid(a, b, indexing="ij")),
    lambda a, b: torch.stack(torch.meshgrid(a, b, indexing="ij")), [[(3,), (2,)]])
add("broadcast_arrays", lambda *xs: npg.stack(npg.broadcast_arrays(*xs)),
    lambda *xs: torch.stack(torch.broadcast_tensors(*xs)), BINARY[:9] + [[(2, 1, 3), (4, 1), ()]])
add("np.broadcast_arrays", lambda a, b: npg.stack(np.broadcast_arrays(a, b)),
    lambda a, b: torch.stack(torch.broadcast_tensors(a, b)), [[(3, 1), (4,)]])
for layout, shapes in [(lambda a, b, c, d: [[a, b], [c, d]],
                        [[(2, 2), (2, 3), (1, 2), (1, 3)], [(2,), (2,), (2,), (2,)], [(0, 2), (0, 1), (2, 2), (2, 1)]]),
                       (lambda a, b: [a, b], [[(2,), (3,)], [(), (2,)], [(2, 2), (2, 1)]]),
                       (lambda a, b: [[[a]], [[b]]], [[(2, 3), (2, 3)], [(), ()]]),
                       (lambda a: a, [[(2, 3)], [()]]),
                       (lambda a, b: [[a, 1.5], [b, np.zeros((2, 1))]], [[(1, 2), (2, 2)]])]:
    add("block", lambda *xs, lay=layout: npg.block(lay(*xs)), t_affine(lambda *xs, lay=layout: np.block(lay(*xs))),
        shapes)
add("np.block", lambda a, b: np.block([[a], [b]]), lambda a, b: torch.cat([a, b]), [[(1, 3), (2, 3)]])

_IDX = np.array([[0, 2, 1], [1, 0, 2]])
_IDX_OUT = np.array([[0, 4, -1], [3, -2, 1]])  # outside [0, 3): wrap / clip
for mode, idx, shapes in [("raise", _IDX, [[(2, 3), (2, 3), (2, 3)], [(3,), (1, 3), ()], [(2, 1), (3,), (2, 3)]]),
                          ("wrap", _IDX_OUT, [[(2, 3), (3,), ()]]), ("clip", _IDX_OUT, [[(2, 3), (2, 3), (1,)]])]:
    add("choose", lambda *cs, i=idx, mode=mode: npg.choose(i, list(cs), mode=mode),
        t_affine(lambda *cs, i=idx, mode=mode: np.choose(i, cs, mode=mode)), shapes)
add("choose_stacked", lambda c: npg.choose(_IDX, c), t_affine(lambda c: np.choose(_IDX, c)), [[(3, 2, 3)], [(3, 3)]])
add("choose_one", lambda c: npg.choose(np.zeros((2, 2), int), [c]), t_affine(lambda c: np.choose(np.zeros((2, 2), int),
                                                                                                 [c])), [[(2,)]])
add("choose_method", lambda a, b: npg.tensor(_IDX % 2).choose([a, b]),
    lambda a, b: torch.where(torch.tensor(_IDX % 2 == 0), a, b), [[(2, 3), (3,)]])
add("np.choose", lambda a, b: np.choose(_IDX % 2, [a, b]), lambda a, b: torch.where(torch.tensor(_IDX % 2 == 0), a, b),
    [[(3,), (2, 1)]])
for cond, axis, shapes in [([0, 1, 1], 0, [[(3, 2)], [(3,)]]), ([1, 0], -1, [[(2, 2)], [(0, 2)]]),
                           ([True, False, True, True], None, [[(2, 3)], [(4,)]]), ([0, 0], 1, [[(3, 4)]]),
                           ([1], None, [[()]])]:
    add("compress", lambda x, cond=cond, axis=axis: npg.compress(cond, x, axis=axis),
        t_affine(lambda x, cond=cond, axis=axis: np.compress(cond, x, axis=axis)), shapes)
add("compress_method", lambda x: x.compress([1, 0, 1], axis=1),
    lambda x: x[:, [0, 2]], [[(2, 3)]])
for cond, shapes in [(np.array([[1, 0, 2], [0, 0, 1]]), [[(2, 3)]]), ([1, 0, 1], [[(2, 2)], [(3,)]]), (1, [[()]])]:
    add("extract", lambda x, cond=cond: npg.extract(cond, x), t_affine(lambda x, cond=cond: np.extract(cond, x)),
        shapes)
for obj, axis, shapes in [(1, None, [[(2, 3)], [(4,)]]), (-1, 0, [[(3, 2)]]), ([0, 2, 2, -1], 1, [[(2, 4)]]),
                          (slice(None, None, 2), -1, [[(2, 5)], [(3, 0)]]), ([True, False, True], 0, [[(3, 2)]]),
                          ([], 0, [[(2,)]]), (0, None, [[()]])]:
    add("delete", lambda x, obj=obj, axis=axis: npg.delete(x, obj, axis=axis),
        t_affine(lambda x, obj=obj, axis=axis: np.delete(x, obj, axis=axis)), shapes)
for obj, axis, shapes in [(1, None, [[(2, 3), ()], [(4,), (2,)]]), (-1, 0, [[(3, 2), (2,)], [(3, 2), (1, 1)]]),
                          (1, 1, [[(2, 3), (2,)], [(2, 3), ()], [(2, 3), (2, 1, 1)]]),
                          ([1], 1, [[(2, 3), (3,)], [(2, 3), (2, 1)]]), ([1, 1, -1, 0], 1, [[(2, 3), (4,)],
                                                                                         [(2, 3), ()]]),
                          (slice(0, 3), None, [[(3,), (3,)]]), (np.array([True, False, True]), 0, [[(3,), ()]]),
                          ([], 0, [[(2, 2), ()]]), (0, 0, [[(0, 2), (2,)]]), ([2, 0], 0, [[(2,), (1, 2)]])]:
    add("insert", lambda x, v, obj=obj, axis=axis: npg.insert(x, obj, v, axis=axis),
        t_affine(lambda x, v, obj=obj, axis=axis: np.insert(x, obj, v, axis=axis)), shapes)
add("np.insert", lambda x, v: np.insert(x, 2, v), t_affine(lambda x, v: np.insert(x, 2, v)), [[(3,), ()]])
for new_shape, shapes in [((2, 5), [[(3,)], [(2, 2)], [()]]), (7, [[(2, 3)]]), ((0, 3), [[(4,)]]), ((), [[(3,)]]),
                          ((2, 2), [[(2, 2)], [(0,)]]), ((3, 1), [[(4, 2)]])]:
    add("resize", lambda x, s=new_shape: npg.resize(x, s), t_affine(lambda x, s=new_shape: np.resize(x, s)), shapes)
add("np.resize", lambda x: np.resize(x, (3, 3)), t_affine(lambda x: np.resize(x, (3, 3))), [[(2,)]])
add("sort_complex", lambda x: npg.view_as_real(npg.sort_complex(x)),
    lambda x: torch.view_as_real(torch.sort(x, stable=True).values.to(torch.complex128)),
    [[(5,)], [(3, 4)], [(2, 0)]])
add("np.sort_complex", lambda x: npg.view_as_real(np.sort_complex(x)),
    lambda x: torch.view_as_real(torch.sort(x, stable=True).values.to(torch.complex128)), [[(4,)]])

_PC1, _PC2 = _R.random((3, 4)) > 0.5, _R.random((3, 4)) > 0.6
for conds, funcs, tfuncs, extra in [
        ([_PC1, _PC2], [lambda v: v ** 2, npg.sin], [lambda v: v ** 2, torch.sin], ()),
        ([_PC1], [lambda v: v * 3, lambda v: npg.exp(v) - 1], [lambda v: v * 3, lambda v: torch.exp(v) - 1], ()),
        ([_PC1, _PC2], [0.5, lambda v: -v, 2.0], [0.5, lambda v: -v, 2.0], ()),
        ([_PC2], [lambda v, s: v * s, lambda v, s: v + s], [lambda v, s: v * s, lambda v, s: v + s], (0.5,))]:
    def t_piecewise(x, conds=conds, tfuncs=tfuncs, extra=extra):  # later conditions win; the rest is 0
        cs = [torch.tensor(c) for c in conds]
        if len(tfuncs) == len(cs) + 1:
            cs.append(~torch.stack(cs).any(0))
        y = torch.zeros_like(x)
        for c, f in zip(cs, tfuncs):
            y = torch.where(c, f(x, *extra) if callable(f) else torch.tensor(f, dtype=x.dtype), y)
        return y
    add("piecewise", lambda x, conds=conds, funcs=funcs, extra=extra: npg.piecewise(x, conds, funcs, *extra),
        t_piecewise, [[(3, 4)]])
add("piecewise", lambda x: npg.piecewise(x, [True], [lambda v: v * 2]), lambda x: x * 2, [[()]])
_PC3 = np.array([True, False, False, True, True])
add("np.piecewise", lambda x: np.piecewise(x, [_PC3], [lambda v: v ** 3, lambda v: -v]),
    lambda x: torch.where(torch.tensor(_PC3), x ** 3, -x), [[(5,)]])
for axis, f, tf, shapes in [(1, lambda v: npg.sum(v ** 2), lambda x: (x ** 2).sum(1), [[(3, 4)]]),
                            (0, npg.cumsum, lambda x: torch.cumsum(x, 0), [[(3, 4)], [(2,)]]),
                            (-1, lambda v: npg.outer(v, v), lambda x: torch.einsum("...i,...j->...ij", x, x),
                             [[(2, 3, 2)]]),
                            (0, lambda v: npg.outer(v, v), lambda x: torch.einsum("ij,kj->ikj", x, x), [[(3, 2)]]),
                            (1, lambda v: v[::2] * 2, lambda x: x[:, ::2] * 2, [[(2, 5, 1)]])]:
    add("apply_along_axis", lambda x, f=f, axis=axis: npg.apply_along_axis(f, axis, x), lambda x, tf=tf: tf(x), shapes)
add("np.apply_along_axis", lambda x: np.apply_along_axis(npg.max, 0, x), lambda x: x.amax(0), [[(4, 3)]])
add("trapezoid", npg.trapezoid, torch.trapezoid, [[(5,)], [(3, 4)], [(2, 1)]])
add("trapezoid", npg.trapezoid, lambda y: ((y[..., 1:] + y[..., :-1]) / 2).sum(-1),  # (torch's is cut from the
    [[(3, 0)]])                                                                      # graph for an empty axis)
add("trapezoid", npg.trapezoid, lambda y, dx, axis: torch.trapezoid(y, dx=dx, dim=axis), [[(4, 3)], [(4,)]], dx=0.5,
    axis=0)
add("trapezoid_x", lambda y, x: npg.trapezoid(y, x), lambda y, x: torch.trapezoid(y, x), [[(5,), (5,)], [(3, 4), (4,)],
                                                                                        [(3, 4), (3, 4)]])
add("trapezoid_x", lambda y, x: npg.trapezoid(y, x, axis=0), lambda y, x: torch.trapezoid(y, x, dim=0),
    [[(3, 2), (3,)], [(3, 2), (3, 2)]])
add("np.trapezoid", lambda y: np.trapezoid(y, dx=2.0), lambda y: torch.trapezoid(y, dx=2.0), [[(2, 3)]])


def t_unwrap(x, scale=4.0, **kw):  # the correction NumPy's unwrap adds is piecewise constant: gradient 1
    y = x * scale
    if not y.numel():  # (torch's forward-mode fallback cannot take an empty Jacobian)
        return y
    yd = y.detach().numpy()
    return y + torch.tensor(np.unwrap(yd, **kw) - yd)


for kw, shapes in [({}, [[(7,)], [(3, 5)], [(1,)], [(0,)]]), ({"axis": 0}, [[(6, 2)]]), ({"discont": 4.0}, [[(8,)]]),
                   ({"period": 5.0}, [[(3, 6)]]), ({"period": 3.0, "discont": 1.0, "axis": -2}, [[(6, 3)]])]:
    add("unwrap", lambda x, kw=kw: npg.unwrap(x * 4.0, **kw), lambda x, kw=kw: t_unwrap(x, **kw), shapes)
add("np.unwrap", lambda x: np.unwrap(x * 4.0), t_unwrap, [[(5,)]])
_EXP = np.array([[3, -2, 0, 1], [-5, 2, 7, -1]])
for shape, e in [((2, 4), _EXP), ((4,), _EXP[1]), ((2, 1), _EXP), ((), 3), ((0, 4), _EXP[0])]:
    add("ldexp", lambda x, e=e: npg.ldexp(x, e),  # (torch.ldexp's gradient is wrong for negative exponents)
        lambda x, e=e: x * torch.pow(2.0, torch.tensor(e, dtype=x.dtype)), [[shape]])
add("np.ldexp", lambda x: np.ldexp(x, _EXP[0]), lambda x: x * torch.pow(2.0, torch.tensor(_EXP[0], dtype=x.dtype)),
    [[(4,)]])
add("frexp", lambda x: (lambda m, e: m + e.astype(x.dtype))(*npg.frexp(x * 5)),
    lambda x: (lambda m, e: m + e.to(x.dtype))(*torch.frexp(x * 5)), UNARY)
add("np.frexp", lambda x: np.frexp(x)[0], lambda x: torch.frexp(x)[0], [[(2, 3)]])
add("modf", lambda x: (lambda f, i: f + 3 * i)(*npg.modf(x * 4)),
    lambda x: torch.frac(x * 4) + 3 * torch.trunc(x * 4), UNARY)
add("np.modf", lambda x: np.modf(x * 3)[0], lambda x: torch.frac(x * 3), [[(5,)]])
add("divmod", lambda a, b: npg.stack(npg.divmod(a, b)),
    lambda a, b: torch.stack(torch.broadcast_tensors(torch.div(a, b, rounding_mode="floor"), torch.remainder(a, b))),
    BINARY, domain=("big", "away"))
add("np.divmod", lambda a, b: np.divmod(a, b)[1], torch.remainder, [[(3,), (3,)]], domain=("big", "away"))
add("divmod_builtin", lambda a: divmod(a, 0.75)[1], lambda a: torch.remainder(a, 0.75), [[(4,)]], domain="big")
add("i0", npg.i0, torch.special.i0, UNARY)
add("np.i0", np.i0, torch.special.i0, [[(3,)]])
for dt in ("float32", "float64"):
    add("astype", lambda x, dt=dt: npg.astype(x, dt), lambda x, dt=dt: x.to(getattr(torch, dt)), UNARY[:3],
        fd=dt == "float64")  # (float32 rounds off what finite differences measure)
    add("np.astype", lambda x, dt=dt: np.astype(x, dt, copy=False), lambda x, dt=dt: x.to(getattr(torch, dt)),
        [[(2, 3)]], fd=dt == "float64")


# ---- sorting and selection (issue 13)
def t_sort(x, axis=-1, descending=False):
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.sort(x, dim=axis, descending=descending, stable=True).values


for axis in (-1, 0, None, 1):
    shapes = [[s] for s in [(5,), (3, 4), (2, 3, 4), (0, 3), (3, 0)] if axis is None or _valid_axis(axis, s)]
    add("sort", npg.sort, t_sort, shapes, axis=axis)
    add("sort_ties", npg.sort, t_sort, shapes, domain="ties", fd=False, axis=axis)
add("sort_descending", lambda x, descending: npg.sort(x, descending=descending).values, t_sort, [[(6,)], [(3, 5)]], domain="ties", fd=False, descending=True)
add("sort_np", lambda x: np.sort(x, axis=0), lambda x: t_sort(x, 0), [[(4, 3)]])
add("sort_method", lambda x: x.sort(), t_sort, [[(2, 5)]])


def t_partition(x, kth, axis=-1):  # the permutation np.argpartition picks, applied in torch
    idx = np.argpartition(x.detach().numpy(), kth, axis=axis)
    return torch.take_along_dim(x, torch.tensor(idx), axis)


add("partition", npg.partition, t_partition, [[(7,)], [(3, 6)]], kth=2)
add("partition", npg.partition, t_partition, [[(5, 4)]], kth=(0, 3), axis=0)
for k, dim, largest, shapes in [(2, -1, True, [[(5,)], [(3, 4)], [(2, 3, 4)]]), (1, 0, False, [[(3, 4)], [(3,)]]),
                                (3, 1, True, [[(2, 3, 4)]]), (0, -1, True, [[(3, 2)]]), (2, -1, True, [[(0, 3)]]),
                                (1, -1, True, [[()]])]:
    add("topk", lambda x, **kw: npg.topk(x, **kw)[0], lambda x, k, dim, largest: torch.topk(x, k, dim, largest)[0],
        shapes, k=k, dim=dim, largest=largest)
add("topk_method", lambda x: x.topk(2)[0], lambda x: x.topk(2)[0], [[(4,)]])
for k, dim, keepdim, shapes in [(1, -1, False, [[(5,)], [(3, 4)]]), (3, 0, True, [[(4, 2)], [(3,)]]),
                                (2, 1, False, [[(2, 3, 4)]]), (1, 0, False, [[()]])]:
    add("kthvalue", lambda x, **kw: npg.kthvalue(x, **kw)[0],
        lambda x, k, dim, keepdim: torch.kthvalue(x, k, dim, keepdim)[0], shapes, k=k, dim=dim, keepdim=keepdim)


def t_quantile(x, q, axis=None, keepdims=False, method="linear", fn=torch.quantile):
    if axis is not None and x.ndim == 0:
        axis = None
    qs = np.asarray(q)  # torch takes q 0-d or 1-D: flatten it, then give the result q's dims
    out = fn(x, torch.tensor(qs.reshape(-1) if qs.ndim > 1 else qs, dtype=x.dtype), dim=axis, keepdim=keepdims,
             interpolation=method)
    return out.reshape(qs.shape + tuple(out.shape[1:])) if qs.ndim > 1 else out


def t_nanquantile(x, q, axis=None, keepdims=False):
    return t_quantile(x, q, axis, keepdims, fn=torch.nanquantile)


for q in (0.5, 0.3, [0.0, 0.25, 1.0], [[0.1, 0.9]]):
    for axis, keepdims, shapes in [(None, False, [[(7,)], [(3, 4)], [()]]), (0, False, [[(4, 3)], [(5,)]]),
                                   (-1, True, [[(2, 3, 4)]]), (1, False, [[(3, 2)]])]:
        add("quantile", npg.quantile, t_quantile, shapes, q=q, axis=axis, keepdims=keepdims)
        add("nanquantile", npg.nanquantile, t_nanquantile, shapes[:2], domain="nans", q=q, axis=axis, keepdims=keepdims)
for method in ("lower", "higher", "nearest", "midpoint"):
    add("quantile_" + method, npg.quantile, t_quantile, [[(7,)], [(3, 4)]], q=[0.2, 0.5, 0.75], axis=-1, method=method)
add("quantile_ties", npg.quantile, t_quantile, [[(8,)]], domain="ties", fd=False, q=[0.3, 0.5])
add("percentile", lambda x: npg.percentile(x, [30, 50], axis=0), lambda x: t_quantile(x, [0.3, 0.5], axis=0),
    [[(5, 3)]])
add("percentile_np", lambda x: np.percentile(x, 90), lambda x: t_quantile(x, 0.9), [[(5, 3)]])
for axis, keepdims, shapes in [(None, False, [[(7,)], [(4, 3)], [()]]), (0, False, [[(6, 3)], [(5,)]]),
                               (-1, True, [[(2, 3, 4)]])]:
    add("median", npg.median, lambda x, **kw: t_quantile(x, 0.5, **kw), shapes, axis=axis, keepdims=keepdims)
    add("nanmedian", npg.nanmedian, lambda x, **kw: t_nanquantile(x, 0.5, **kw), shapes[:2], domain="nans",
        axis=axis, keepdims=keepdims)
add("median_odd", lambda x: np.median(x, axis=1), lambda x: torch.median(x, 1).values, [[(3, 5)]])
add("median_tuple_axis", lambda x: npg.median(x, axis=(0, 2)),
    lambda x: t_quantile(x.permute(1, 0, 2).reshape(3, -1), 0.5, axis=1), [[(2, 3, 4)]])


# ---- statistics (issue 13)
def t_average(x, w=None, axis=None):
    if w is None:
        return x.mean() if axis is None else x.mean(axis)
    if w.shape != x.shape:
        w = w.reshape((-1,) + (1,) * (x.ndim - axis % x.ndim - 1))
    dims = tdims(axis, x.ndim)
    return (x * w).sum(dims) / (w * torch.ones_like(x)).sum(dims)


def _average(x, w, **kw):
    return npg.average(x, weights=w, **kw)


add("average", _average, t_average, [[(3, 4), (3, 4)], [(5,), (5,)], [(), ()]], domain=("real", "pos"))
add("average_axis", _average, t_average, [[(3, 4), (4,)], [(3, 4), (3, 4)]], domain=("real", "pos"), axis=-1)
add("average_axis", _average, t_average, [[(3, 4), (3,)]], domain=("real", "pos"), axis=0)
add("average_np", lambda x: np.average(x, axis=0), lambda x: x.mean(0), [[(3, 4)]])


def t_cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    m = m if rowvar or m.ndim < 2 else m.T
    if y is not None:
        m = torch.cat([torch.atleast_2d(m), torch.atleast_2d(y if rowvar or y.ndim < 2 else y.T)])
    fw = None if fweights is None else torch.tensor(fweights)
    return torch.cov(m, correction=(0 if bias else 1) if ddof is None else ddof, fweights=fw, aweights=aweights)


add("cov", npg.cov, t_cov, [[(3, 5)], [(5,)], [(1, 4)]])
add("cov", npg.cov, t_cov, [[(5, 3)]], rowvar=False)
add("cov", npg.cov, t_cov, [[(3, 5)]], bias=True)
add("cov", npg.cov, t_cov, [[(3, 5)]], ddof=2)
add("cov_fweights", npg.cov, t_cov, [[(3, 5)]], fweights=[1, 2, 0, 3, 1])
add("cov_y", npg.cov, t_cov, [[(2, 5), (5,)], [(3, 5), (2, 5)]])
add("cov_y", npg.cov, t_cov, [[(5, 2), (5,)], [(5, 2), (5, 1)]], rowvar=False)
add("cov_aweights", lambda m, w, **kw: npg.cov(m, aweights=w, **kw), lambda m, w, **kw: t_cov(m, aweights=w, **kw),
    [[(3, 5), (5,)]], domain=("real", "pos"))
add("cov_aweights", lambda m, w, **kw: npg.cov(m, aweights=w, **kw), lambda m, w, **kw: t_cov(m, aweights=w, **kw),
    [[(3, 5), (5,)]], domain=("real", "pos"), fweights=[2, 1, 1, 3, 1], ddof=1)
add("corrcoef", npg.corrcoef, torch.corrcoef, [[(3, 5)], [(2, 4)], [(6,)]])
add("corrcoef_y", lambda x, y: npg.corrcoef(x, y), lambda x, y: torch.corrcoef(torch.stack([x, y])), [[(5,), (5,)]])
add("np.corrcoef", np.corrcoef, torch.corrcoef, [[(4, 6)]])
for axis in (None, 0, -1):
    add("ptp", npg.ptp, lambda x, axis: torch.amax(x, tdims(axis, x.ndim)) - torch.amin(x, tdims(axis, x.ndim)),
        [[(5,)], [(3, 4)]], axis=axis)
add("ptp_ties", npg.ptp, lambda x: torch.amax(x) - torch.amin(x), [[(3, 4)]], domain="ties", fd=False)


def _tfill(x, value):
    return torch.where(torch.isnan(x), torch.full_like(x, value), x)


def t_nanvar(x, axis=None, ddof=0, keepdims=False):
    dims = tdims(axis, x.ndim)
    ok = ~torch.isnan(x)
    cnt = ok.sum(dims, keepdim=True)
    mean = _tfill(x, 0.0).sum(dims, keepdim=True) / cnt
    dev = torch.where(ok, x - mean, torch.zeros_like(x))
    out = (dev * dev).sum(dims, keepdim=True) / (cnt - ddof)
    return out if keepdims else out.reshape([n for i, n in enumerate(x.shape) if i not in [d % x.ndim for d in dims]])


def t_nan_extreme(f, fill):
    return lambda x, axis=None, keepdims=False: f(_tfill(x, fill), tdims(axis, x.ndim), keepdim=keepdims)


def t_nanstd(x, **kw):
    """torch.std's value and gradient on the numbers that are not NaN: its gradient is 0 where the std is 0 (a
    slice left with one value, or equal values), where sqrt of the variance has an infinite derivative."""
    v = t_nanvar(x, **kw)
    zero = v == 0
    return torch.where(zero, 0.0, torch.where(zero, 1.0, v).sqrt())


NAN_TORCH = {
    "nansum": lambda x, axis=None, keepdims=False: torch.nansum(x, tdims(axis, x.ndim), keepdim=keepdims),
    "nanmean": lambda x, axis=None, keepdims=False: torch.nanmean(x, tdims(axis, x.ndim), keepdim=keepdims),
    "nanvar": t_nanvar,
    "nanstd": t_nanstd,
    "nanmax": t_nan_extreme(torch.amax, -np.inf),
    "nanmin": t_nan_extreme(torch.amin, np.inf),
    "nanprod": lambda x, axis=None, keepdims=False: t_prod(_tfill(x, 1.0), axis, keepdims),
}
for name, tfn in NAN_TORCH.items():
    for axis, keepdims in [(None, False), (0, False), (-1, True), ((0, 2), False)]:
        shapes = [[s] for s in [(8,), (4, 3), (2, 3, 4)] if _valid_axis(axis, s)]
        # (nanstd: a slice left with one value has std 0, where sqrt has no derivative: no finite differences)
        add(name, getattr(npg, name), tfn, shapes, domain="nans", fd=name != "nanstd", axis=axis, keepdims=keepdims)
    add(name + "_nonan", getattr(npg, name), tfn, [[(3, 4)], [()]], domain="pos", fd=name != "nanstd")
add("nanvar_ddof", npg.nanvar, t_nanvar, [[(4, 3)]], domain="nans", axis=0, ddof=1)
add("nanstd_ddof", npg.nanstd, t_nanstd, [[(8,)]], domain="nans", ddof=1)
add("np.nanmean", lambda x: np.nanmean(x, axis=1), lambda x: torch.nanmean(x, 1), [[(3, 4)]], domain="nans")
add("nancumsum", npg.nancumsum, lambda x, axis: torch.cumsum(_tfill(x, 0.0), axis), [[(8,)], [(4, 3)]],
    domain="nans", axis=0)
add("nancumprod", npg.nancumprod, lambda x, axis: torch.cumprod(_tfill(x, 1.0), axis), [[(8,)], [(4, 3)]],
    domain="nans", axis=-1)


def t_cumulative(f, identity):
    def fn(x, axis=None, include_initial=False):
        axis = 0 if axis is None else axis
        out = f(x, axis)
        if include_initial:
            shape = list(x.shape)
            shape[axis] = 1
            out = torch.cat([torch.full(shape, identity, dtype=x.dtype), out], axis)
        return out
    return fn


for name, f, identity in [("cumulative_sum", torch.cumsum, 0.0), ("cumulative_prod", torch.cumprod, 1.0)]:
    add(name, getattr(npg, name), t_cumulative(f, identity), [[(5,)], [(0,)]])
    add(name, getattr(npg, name), t_cumulative(f, identity), [[(3, 4)], [(2, 0)]], axis=1, include_initial=True)
    add(name, getattr(npg, name), t_cumulative(f, identity), [[(3, 4)]], axis=0)


def t_correlate(a, v, mode="valid"):
    n, m = a.shape[0], v.shape[0]
    full = F.conv1d(F.pad(a, (m - 1, m - 1)).reshape(1, 1, -1), v.reshape(1, 1, -1)).reshape(-1)
    if mode == "full":
        return full
    if mode == "valid":
        lo, length = (m - 1, n - m + 1) if n >= m else (n - 1, m - n + 1)
    else:
        lo, length = ((m - 1) // 2 if n >= m else n // 2), max(n, m)
    return full[lo:lo + length]


def t_convolve(a, v, mode="full"):
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    return t_correlate(a, v.flip(0), mode)


for mode in ("valid", "same", "full"):
    for name, tfn in [("correlate", t_correlate), ("convolve", t_convolve)]:
        add(name, getattr(npg, name), tfn, [[(6,), (3,)], [(3,), (5,)], [(4,), (4,)], [(1,), (3,)], [(5,), (1,)]],
            mode=mode)
add("np.convolve", np.convolve, t_convolve, [[(5,), (2,)]])


def t_interp(x, xp, fp, left=None, right=None):
    j = torch.clamp(torch.searchsorted(xp.detach(), x.detach(), right=True) - 1, 0, xp.shape[0] - 2)
    x0, x1, f0, f1 = xp[j], xp[j + 1], fp[j], fp[j + 1]
    res = (f1 - f0) / (x1 - x0) * (x - x0) + f0
    res = torch.where(x < xp[0], fp[0] if left is None else torch.tensor(left, dtype=x.dtype), res)
    return torch.where(x > xp[-1], fp[-1] if right is None else torch.tensor(right, dtype=x.dtype), res)


_XP = np.array([-1.0, -0.3, 0.2, 0.9, 1.6])
add("interp", lambda x, fp: npg.interp(x, _XP.astype(x.dtype), fp),
    lambda x, fp: t_interp(x, torch.tensor(_XP, dtype=x.dtype), fp), [[(12,), (5,)], [(3, 4), (5,)], [(), (5,)]])
add("interp_lr", lambda x, fp: npg.interp(x * 2.0, _XP.astype(x.dtype), fp, left=-3.0, right=2.5),
    lambda x, fp: t_interp(x * 2.0, torch.tensor(_XP, dtype=x.dtype), fp, left=-3.0, right=2.5), [[(12,), (5,)]])
add("interp_xp", lambda x, xp, fp: npg.interp(x, npg.cumsum(xp) - 2.0, fp),
    lambda x, xp, fp: t_interp(x, torch.cumsum(xp, 0) - 2.0, fp), [[(10,), (5,), (5,)]], domain=("unit", "pos", "real"))


# ---- linspace / logspace / geomspace with tensor endpoints (issue 13)
def t_linspace(s, e, num=50, endpoint=True, axis=0):
    div = num - 1 if endpoint else num
    shape = torch.broadcast_shapes(s.shape, e.shape)
    i = torch.arange(num, dtype=s.dtype).reshape((-1,) + (1,) * len(shape))
    y = i * ((e - s) / div if div else e - s) + s  # (num=1: just start, as NumPy)
    if endpoint and num > 1:
        y = torch.cat([y[:-1], e.expand(shape).unsqueeze(0)])
    return y.movedim(0, axis)


for kw in [dict(num=5), dict(num=4, endpoint=False), dict(num=1), dict(num=3, axis=-1), dict(num=0)]:
    add("linspace", npg.linspace, t_linspace, [[(), ()], [(3,), ()], [(2, 1), (3,)]], **kw)
add("linspace_const", lambda s: npg.linspace(s, 2.0, 4), lambda s: t_linspace(s, torch.tensor(2.0, dtype=s.dtype), 4),
    [[()], [(2,)]])
add("np.linspace", lambda s, e: np.linspace(s, e, 6), lambda s, e: t_linspace(s, e, 6), [[(), ()]])
add("logspace", lambda s, e: npg.logspace(s, e, 5, base=2.0), lambda s, e: 2.0 ** t_linspace(s, e, 5), [[(), (2,)]])
add("geomspace", lambda s, e: npg.geomspace(s, e, 5), lambda s, e: torch.cat(
    [s.expand(torch.broadcast_shapes(s.shape, e.shape))[None],
     (10.0 ** t_linspace(torch.log10(s), torch.log10(e), 5))[1:-1],
     e.expand(torch.broadcast_shapes(s.shape, e.shape))[None]]), [[(), ()], [(3,), ()]], domain="pos")


# ---- npg.fft (issue 16): complex results compared through their real view, as (..., 2) real arrays
def _vr(z):
    return npg.view_as_real(z) if z.dtype.kind == "c" else z


def _tvr(z):
    return torch.view_as_real(z.resolve_conj()) if z.is_complex() else z


def _fft_row(name, shapes, **kw):
    add(f"fft_{name}", lambda x, **k: _vr(getattr(npg.fft, name)(x, **k)),
        lambda x, **k: _tvr(getattr(torch.fft, name)(x, **_torch_fft_kw(k))), shapes, **kw)


def _torch_fft_kw(k):  # NumPy's axis/axes are torch's dim
    k = dict(k)
    if "axis" in k:
        k["dim"] = k.pop("axis")
    if "axes" in k:
        k["dim"] = k.pop("axes")
    return k


for _name in ("fft", "ifft", "rfft", "ihfft", "hfft", "irfft"):
    _fft_row(_name, [[(6,)], [(2, 5)]])
    _fft_row(_name, [[(3, 4)]], n=6, axis=0, norm="ortho")
    _fft_row(_name, [[(4, 5)]], n=3, norm="forward")
for _name in ("fft2", "ifft2", "rfft2", "irfft2", "fftn", "rfftn", "irfftn"):
    _fft_row(_name, [[(3, 4)], [(2, 3, 4)]])
    _fft_row(_name, [[(3, 4)]], s=(4, 6), norm="ortho")
add("fft_fftshift", npg.fft.fftshift, torch.fft.fftshift, [[(5,)], [(2, 4)]])
add("fft_ifftshift", npg.fft.ifftshift, torch.fft.ifftshift, [[(5,)], [(2, 4)]])

# ---- the regularized incomplete gamma functions in x (torch has no gradient in the shape a)
_A = np.array([0.5, 1.0, 2.5, 7.0])
for _name in ("gammainc", "gammaincc"):
    add(f"special_{_name}", lambda x, _f=getattr(npg.special, _name): _f(_A.astype(x.dtype), x),
        lambda x, _f=getattr(torch.special, _name): _f(torch.tensor(_A, dtype=x.dtype), x), [[(4,)], [(3, 4)]],
        domain="pos")


# ---- torch.special functions without a derivative, given one (``deriv``) as a torch.autograd.Function (made once)
_TBESSEL_FUNCTIONS = {}


def _t_special(torch_name, deriv):
    def make():  # (at the first call: the module is also imported without torch, tests/test_suite_hygiene.py)
        class _Special(torch.autograd.Function):
            @staticmethod
            def forward(x):
                return getattr(torch.special, torch_name)(x)

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])
                ctx.save_for_forward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                return g * deriv(ctx.saved_tensors[0])

            @staticmethod
            def jvp(ctx, t):
                return t * deriv(ctx.saved_tensors[0])
        return _Special

    def apply(x):
        if torch_name not in _TBESSEL_FUNCTIONS:
            _TBESSEL_FUNCTIONS[torch_name] = make()
        return _TBESSEL_FUNCTIONS[torch_name].apply(x)
    return apply


# ---- the Bessel functions J and Y (npgrad/ops/bessel_jy.py). torch.special.bessel_* have no derivative: torch's
# values with the recurrences' derivatives (A&S 9.1.27-28: J0' = -J1, J1' = J0 - J1/x, Y likewise), and J_n, Y_n
# from J0, J1, Y0, Y1 by the recurrence C_{n+1} = (2n/x) C_n - C_{n-1} (torch has no jn / yn)
def _t_bessel(name):
    def deriv(x):
        if name[1] == "0":
            return -_TBESSEL[name[0] + "1"](x)
        safe = torch.where(x == 0, torch.ones_like(x), x)
        return torch.where(x == 0, 0.5, _TBESSEL[name[0] + "0"](x) - _TBESSEL[name](x) / safe)

    return _t_special(f"bessel_{name}", deriv)


_TBESSEL = {name: _t_bessel(name) for name in ("j0", "j1", "y0", "y1")}
for _name in ("j0", "j1", "y0", "y1"):
    add(f"special_{_name}", getattr(npg.special, _name), _TBESSEL[_name], UNARY,
        domain="real" if _name[0] == "j" else "pos")
add("special_jn", lambda x: npg.special.jn(2, x),
    lambda x: 2.0 * _TBESSEL["j1"](x) / x - _TBESSEL["j0"](x), UNARY[:3], domain="away")
add("special_yn", lambda x: npg.special.yn(-3, x),   # Y_{-3} = -Y3 = -(4/x Y2 - Y1), Y2 = 2/x Y1 - Y0
    lambda x: -(4.0 / x * (2.0 / x * _TBESSEL["y1"](x) - _TBESSEL["y0"](x)) - _TBESSEL["y1"](x)), UNARY[:3],
    domain="pos")
add("special_jn_bcast", lambda x: npg.special.jn(np.array([[0], [1], [-4]]), x),
    lambda x: torch.stack([_TBESSEL["j0"](x), _TBESSEL["j1"](x),
                           (48.0 / x ** 3 - 8.0 / x) * _TBESSEL["j1"](x) - (24.0 / x ** 2 - 1.0) * _TBESSEL["j0"](x)]),
    [[(4,)]], domain="big")  # (the recurrence oracle cancels for small x)

# ---- K0, K1 and the scaled k0e, k1e (npgrad/ops/bessel_k.py). torch.special.modified_bessel_k0... have no
# derivative: torch's values with DLMF 10.29.3's (K0' = -K1, K1' = -K0 - K1/x; (e^x K0)' = k0e - k1e...)
_TK = {"k0": _t_special("modified_bessel_k0", lambda x: -_TK["k1"](x)),
       "k1": _t_special("modified_bessel_k1", lambda x: -_TK["k0"](x) - _TK["k1"](x) / x),
       "k0e": _t_special("scaled_modified_bessel_k0", lambda x: _TK["k0e"](x) - _TK["k1e"](x)),
       "k1e": _t_special("scaled_modified_bessel_k1", lambda x: _TK["k1e"](x) - _TK["k0e"](x) - _TK["k1e"](x) / x)}
for _name in ("k0", "k1", "k0e", "k1e"):
    add(f"special_{_name}", getattr(npg.special, _name), _TK[_name], UNARY, domain="pos")
add("special_spherical_bessel_j0", npg.special.spherical_bessel_j0, lambda x: torch.sinc(x / math.pi), UNARY)

# ---- torch.special's polynomials (npgrad/ops/orthopoly.py; torch gives them no derivative): against the same
# polynomials written out in torch
for _name, _n, _poly in [
        ("chebyshev_polynomial_t", 3, lambda x: 4 * x ** 3 - 3 * x),
        ("chebyshev_polynomial_u", 3, lambda x: 8 * x ** 3 - 4 * x),
        ("chebyshev_polynomial_v", 2, lambda x: 4 * x ** 2 - 2 * x - 1),
        ("chebyshev_polynomial_w", 2, lambda x: 4 * x ** 2 + 2 * x - 1),
        ("shifted_chebyshev_polynomial_t", 2, lambda x: 2 * (2 * x - 1) ** 2 - 1),
        ("shifted_chebyshev_polynomial_u", 2, lambda x: 4 * (2 * x - 1) ** 2 - 1),
        ("shifted_chebyshev_polynomial_v", 2, lambda x: 4 * (2 * x - 1) ** 2 - 2 * (2 * x - 1) - 1),
        ("shifted_chebyshev_polynomial_w", 2, lambda x: 4 * (2 * x - 1) ** 2 + 2 * (2 * x - 1) - 1),
        ("hermite_polynomial_h", 3, lambda x: 8 * x ** 3 - 12 * x),
        ("hermite_polynomial_he", 3, lambda x: x ** 3 - 3 * x),
        ("laguerre_polynomial_l", 3, lambda x: (-x ** 3 + 9 * x ** 2 - 18 * x + 6) / 6),
        ("legendre_polynomial_p", 4, lambda x: (35 * x ** 4 - 30 * x ** 2 + 3) / 8)]:
    add(f"special_{_name}", lambda x, _f=getattr(npg.special, _name), _n=_n: _f(x, _n), _poly, UNARY[:4])
add("special_chebyshev_polynomial_t_bcast", lambda x: npg.special.chebyshev_polynomial_t(x, np.array([[0], [1], [3]])),
    lambda x: torch.stack([torch.ones_like(x), x, 4 * x ** 3 - 3 * x]), [[(4,)]])

# ---- PyTorch's view and copy methods (tviews; writes through the views: tests/test_view_semantics.py,
# errors and edge cases: tests/test_torch_views.py)
def _mcase(name, fn, shapes, tfn=None):  # the same method call on npgrad and torch tensors
    add(name, fn, tfn or fn, shapes)


_M = np.array([True, False, True])
for name, fn, shapes in [
        ("narrow", lambda x: x.narrow(1, -3, 2), [[(2, 5)], [(2, 3, 4)], [(0, 4)]]),
        ("select", lambda x: x.select(-1, 1), [[(2, 3)], [(3,)], [(0, 3)]]),
        ("movedim", lambda x: x.movedim((0, 1), (2, 0)), [[(2, 3, 4)], [(2, 0, 3)]]),
        ("t", lambda x: x.t(), [[(2, 3)], [(3,)], [()]]),
        ("H", lambda x: x.H, [[(2, 3)]]),
        ("mH", lambda x: x.mH, [[(2, 3)], [(2, 3, 4)]]),
        ("adjoint", lambda x: x.adjoint(), [[(2, 3, 4)], [(0, 2, 3)]]),
        ("swapdims", lambda x: x.swapdims(0, -1), [[(2, 3, 4)], [(3,)]]),
        ("unflatten", lambda x: x.unflatten(-1, (2, -1)), [[(3, 4)], [(0, 6)]]),
        ("unfold", lambda x: x.unfold(1, 2, 1), [[(3, 5)], [(2, 2, 3)], [(0, 4)]]),
        ("unfold", lambda x: x.unfold(0, 3, 2), [[(7, 2)], [(3,)]]),
        ("unfold", lambda x: x.unfold(-1, 0, 2), [[(2, 3)]]),
        ("unfold", lambda x: x.unfold(0, 1, 1), [[()]]),
        ("unfold", lambda x: x.unfold(-1, 2, 5), [[(2, 9)]]),
        ("narrow_copy", lambda x: x.narrow_copy(0, 1, 2), [[(3, 4)]]),
        ("roll_method", lambda x: x.roll((1, -2), (0, 1)), [[(3, 4)]]),
        ("roll_method", lambda x: x.roll(3), [[(2, 3)], [()]]),
        ("repeat_interleave", lambda x: x.repeat_interleave(2, dim=1), [[(2, 3)]]),
        ("repeat_interleave", lambda x: x.repeat_interleave(3), [[(2, 2)], [()]]),
        ("tril_method", lambda x: x.tril(-1), [[(3, 4)], [(2, 3, 4)]]),
        ("triu_method", lambda x: x.triu(diagonal=1), [[(3, 4)], [(2, 0, 4)]]),
        ("fliplr_method", lambda x: x.fliplr(), [[(2, 3)]]),
        ("flipud_method", lambda x: x.flipud(), [[(2, 3)], [(4,)]]),
        ("rot90_method", lambda x: x.rot90(-1, (1, 2)), [[(2, 3, 4)]]),
        ("diag_embed", lambda x: x.diag_embed(), [[(3,)], [(2, 0)]]),
        ("diag_embed", lambda x: x.diag_embed(1, 0, 2), [[(2, 3)]]),
        ("diag_embed", lambda x: x.diag_embed(-2, -1, 0), [[(2, 3)]])]:
    _mcase(name, fn, shapes)
_mcase("npg.movedim", lambda x: npg.movedim(x, 0, -1), [[(2, 3, 4)]], lambda x: torch.movedim(x, 0, -1))
_mcase("reshape_as", lambda x: x.reshape_as(npg.zeros((3, 2))), [[(2, 3)]], lambda x: x.reshape_as(torch.zeros(3, 2)))
_mcase("repeat_interleave", lambda x: x.repeat_interleave(np.array([1, 0, 2]), dim=0), [[(3, 2)]],
       lambda x: x.repeat_interleave(torch.tensor([1, 0, 2]), dim=0))
_mcase("masked_select", lambda x: x.masked_select(_M), [[(2, 3)], [(3,)]],
       lambda x: x.masked_select(torch.tensor(_M)))
for name, call, shape, axis in [("split_method", lambda x: x.split(2, 1), (3, 5), 1),
                                ("split_method", lambda x: x.split([1, 3, 1], -1), (2, 5), 1),
                                ("split_method", lambda x: x.split(2), (0, 3), 0),
                                ("tensor_split_method", lambda x: x.tensor_split(3, 1), (2, 5), 1),
                                ("tensor_split_method", lambda x: x.tensor_split([1, -1], -1), (2, 5), 1),
                                ("hsplit_method", lambda x: x.hsplit([1]), (2, 3), 1),
                                ("vsplit_method", lambda x: x.vsplit(2), (4, 3), 0),
                                ("dsplit_method", lambda x: x.dsplit(2), (1, 2, 4), 2)]:
    add(name, lambda x, call=call, axis=axis: _joined(call(x), lambda ps: npg.concatenate(ps, axis)),
        lambda x, call=call, axis=axis: _joined(call(x), lambda ps: torch.cat(ps, axis)), [[shape]])
for name, fn, shapes in [
        ("select_scatter", lambda x, s: x.select_scatter(s, 1, -1), [[(2, 3), (2,)], [(0, 3), (0,)]]),
        ("select_scatter", lambda x, s: x.select_scatter(s, 0, 0), [[(3,), ()]]),
        ("slice_scatter", lambda x, s: x.slice_scatter(s, 1, 1, None, 2), [[(4, 5), (4, 2)]]),
        ("slice_scatter", lambda x, s: x.slice_scatter(s, -1, 5), [[(2, 5), (2, 0)]]),
        ("slice_scatter", lambda x, s: x.slice_scatter(s), [[(2, 3), (2, 3)]]),
        ("diagonal_scatter", lambda x, s: x.diagonal_scatter(s), [[(3, 4), (3,)], [(2, 2), (2,)]]),
        ("diagonal_scatter", lambda x, s: x.diagonal_scatter(s, 1, 0, 2), [[(2, 3, 4), (3, 2)]]),
        ("diagonal_scatter", lambda x, s: x.diagonal_scatter(s, -1, -1, 0), [[(3, 4, 2), (4, 1)]]),
        ("diagonal_scatter", lambda x, s: x.diagonal_scatter(s, 5), [[(2, 3), (0,)]])]:
    _mcase(name, fn, shapes)


# ---- the scatter / gather family (a fixed index; duplicate targets, and a position no index names)
_SR_INDEX = np.array([[0, 1, 0, 0], [2, 2, 1, 0]])   # into dim 1 of a (2, 3) input: [0][2] is never named
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        add("scatter_reduce_prod" if _reduce == "prod" else "scatter_reduce",
            lambda x, s, reduce, include_self: npg.scatter_reduce(
                x, 1, _SR_INDEX, s, reduce, include_self=include_self),
            lambda x, s, reduce, include_self: torch.scatter_reduce(
                x, 1, torch.tensor(_SR_INDEX), s, reduce, include_self=include_self),
            [[(2, 3), (2, 4)]], reduce=_reduce, include_self=_self)
add("scatter_add", lambda x, s: x.scatter_add(1, _SR_INDEX, s),
    lambda x, s: x.scatter_add(1, torch.tensor(_SR_INDEX), s), [[(2, 3), (2, 4)]])
add("gather", lambda x: x.gather(1, _SR_INDEX), lambda x: x.gather(1, torch.tensor(_SR_INDEX)), [[(2, 3)]])

# ---- vector products, polynomials, np.linalg.eig / eigvals (rows in tests/table_poly_eig.py)
from tests.table_poly_eig import add_cases as _poly_eig_cases  # noqa: E402

_poly_eig_cases(add, torch, DOMAINS)


# ---- PyTorch's top-level functions (ops/torch_fns.py; indices, histc, bucketize, errors: tests/test_torch_fns.py)
def _tcdist(a, b, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """``torch.cdist``'s values; the gradient (and the second one, which torch.cdist lacks) of torch's
    vector_norm of the differences (the same as torch.cdist's first: tests/test_torch_fns.py)."""
    diff = a.unsqueeze(-2) - b.unsqueeze(-3)
    norm = torch.linalg.vector_norm(diff, ord=p, dim=-1)
    return torch.cdist(a.detach(), b.detach(), p=p, compute_mode=compute_mode) + norm - norm.detach()


def _tpdist(x, p=2.0):
    """``torch.pdist``'s values, the gradients of vector_norm (as for _tcdist)."""
    i, j = np.triu_indices(x.shape[0], 1)
    norm = torch.linalg.vector_norm(x[i] - x[j], ord=p, dim=-1)
    return torch.pdist(x.detach(), p=p) + norm - norm.detach()


_CDIST = [[(4, 3), (5, 3)], [(2, 4, 3), (2, 5, 3)], [(2, 1, 3, 2), (3, 4, 2)], [(0, 3), (2, 3)], [(3, 0), (2, 0)]]
for p in (2.0, 1.0, 3.0, 1.5, 0.5, math.inf, 0.0):
    add("cdist", npg.cdist, _tcdist, _CDIST if p in (2.0, 1.0) else _CDIST[:2], p=p)
for p in (1.0, 1.5):  # zero distances on the diagonal: gradient 0 there, as torch (p=2: tests/test_torch_fns.py)
    add("cdist_self", lambda x, p: npg.cdist(x, x, p=p), lambda x, p: _tcdist(x, x, p=p), [[(4, 3)], [(2, 3, 2)]],
        fd=False, p=p)
add("cdist_mode", lambda a, b: npg.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"),
    lambda a, b: _tcdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"), [_CDIST[1]])
for name in ("cummax", "cummin"):
    for shapes, dim in [([(3, 5)], 1), ([(4,)], 0), ([()], 0), ([(0, 3)], 0), ([(2, 3, 4)], -2)]:
        add(name, lambda x, dim, name=name: getattr(npg, name)(x, dim).values,
            lambda x, dim, name=name: getattr(torch, name)(x, dim).values, [shapes], dim=dim)
    add(name + "_ties", lambda x, dim, name=name: getattr(npg, name)(x, dim).values,
        lambda x, dim, name=name: getattr(torch, name)(x, dim).values, [[(3, 6)], [(8,)]], domain="ties", fd=False,
        dim=-1)
    add(name + "_method", lambda x, name=name: getattr(x, name)(1)[0],
        lambda x, name=name: getattr(x, name)(1)[0], [[(2, 4)]])
for shapes, dim in [([(3, 5)], 1), ([(4,)], 0), ([()], 0), ([(2, 3, 4)], -2)]:  # (2, 0): torch's JVP fails
    add("logcumsumexp", npg.logcumsumexp, torch.logcumsumexp, [shapes], dim=dim)
add("cartesian_prod", npg.cartesian_prod, torch.cartesian_prod,
    [[(3,), (2,)], [(2,), (3,), (2,)], [(4,)], [(0,), (3,)]])
for r, rep, shapes in [(2, False, [(4,)]), (3, False, [(5,)]), (2, True, [(3,)]), (3, True, [(2,)]), (1, False, [(3,)]),
                       (4, False, [(3,)]), (2, False, [(0,)])]:
    add("combinations", npg.combinations, torch.combinations, [shapes], r=r, with_replacement=rep)
for p, dim, maxnorm, shapes in [(2, 0, 1.0, [(3, 4)]), (1, 1, 2.0, [(2, 3, 4)]), (3, -1, 1.0, [(4, 2)]),
                                (2, 1, 100.0, [(3, 4)]), (1.5, 0, 0.5, [(2, 3)]), (2, 0, 1.0, [(0, 3)])]:
    add("renorm", npg.renorm, torch.renorm, [shapes], p=p, dim=dim, maxnorm=maxnorm)
add("renorm_method", lambda x: x.renorm(2, 0, 1.0), lambda x: x.renorm(2, 0, 1.0), [[(3, 4)]])
add("torch.pdist", npg.pdist, _tpdist, [[(4, 3)], [(2, 5)]])
add("torch.pdist", npg.pdist, _tpdist, [[(4, 3)]], p=1.0)
add("torch.cosine_similarity", npg.cosine_similarity, torch.cosine_similarity, [[(3, 4), (3, 4)], [(2, 4), (4,)]])
add("torch.pairwise_distance", npg.pairwise_distance, torch.pairwise_distance, [[(3, 4), (3, 4)], [(4,), (2, 4)]])

# nn.functional's activations and pooling (the VJPs whose saved values were narrowed to what torch's read)
NF = npg.nn.functional
add("F.leaky_relu", NF.leaky_relu, F.leaky_relu, [[(2, 3)], [()], [(0, 4)]], domain="away")
add("F.leaky_relu", NF.leaky_relu, F.leaky_relu, [[(5,)]], domain="away", negative_slope=0.2)
add("F.tanhshrink", NF.tanhshrink, F.tanhshrink, UNARY)
for _k, _shape, _kw in [(1, (2, 3, 7), dict(kernel_size=3)), (1, (1, 2, 8), dict(kernel_size=2, stride=1, padding=1)),
                        (2, (2, 2, 5, 6), dict(kernel_size=2)), (2, (1, 3, 6, 5), dict(kernel_size=3, stride=2, padding=1)),
                        (3, (1, 2, 4, 4, 5), dict(kernel_size=2)), (3, (1, 1, 5, 4, 4), dict(kernel_size=(3, 2, 2), stride=1))]:
    add(f"F.avg_pool{_k}d", getattr(NF, f"avg_pool{_k}d"), getattr(F, f"avg_pool{_k}d"), [[_shape]], **_kw)
    add(f"F.max_pool{_k}d", getattr(NF, f"max_pool{_k}d"), getattr(F, f"max_pool{_k}d"), [[_shape]], **_kw)
add("F.avg_pool2d", NF.avg_pool2d, F.avg_pool2d, [[(1, 2, 5, 5)]], kernel_size=3, stride=2, padding=1,
    ceil_mode=True, count_include_pad=False)
add("F.max_pool2d", NF.max_pool2d, F.max_pool2d, [[(1, 2, 5, 5)]], kernel_size=2, ceil_mode=True, dilation=2)
add("F.adaptive_avg_pool2d", NF.adaptive_avg_pool2d, F.adaptive_avg_pool2d, [[(2, 3, 7, 5)]], output_size=(3, 2))
add("F.adaptive_max_pool2d", NF.adaptive_max_pool2d, F.adaptive_max_pool2d, [[(2, 3, 7, 5)]], output_size=(3, 2))
add("F.lp_pool2d", NF.lp_pool2d, F.lp_pool2d, [[(1, 2, 4, 6)]], domain="pos", norm_type=2, kernel_size=2)


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
                "expand", "broadcast", "concatenate", "stack", "split", "flip", "pad", "repeat", "tile", "masked",
                # issue 13
                "sinh", "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "arctan2", "hypot",
                "logaddexp", "logaddexp2", "exp2", "cbrt", "sinc", "deg2rad", "rad2deg", "degrees", "radians",
                "fmax", "fmin", "fmod", "trunc", "fix", "rint", "nan", "copysign", "heaviside", "round", "ceil", "nextafter",
                "vstack", "hstack", "dstack", "column", "row", "append", "array", "hsplit", "vsplit", "dsplit",
                "atleast", "roll", "rollaxis", "rot90", "fliplr", "flipud", "tril", "triu", "trace", "diag",
                "diagonal", "diagflat", "diff", "ediff1d", "gradient", "kron", "cross", "select", "copy", "einsum",
                "sort", "partition", "topk", "kthvalue", "median", "nanmedian", "quantile", "nanquantile",
                "percentile", "average", "cov", "corrcoef", "ptp", "nansum", "nanmean", "nanvar", "nanstd",
                "nanmax", "nanmin", "nanprod", "nancumsum", "nancumprod", "convolve", "correlate", "interp",
                "cumulative", "linspace", "logspace", "geomspace",
                # issue 16
                "fft", "special",
                # PyTorch's view and copy methods (tviews)
                "narrow", "movedim", "t", "H", "mH", "adjoint", "swapdims", "unflatten", "unfold", "reshape",
                "narrow", "repeat", "masked", "split", "tensor", "diagonal", "slice", "diag",
                # vector products, polynomials, eig (surface-poly-eig)
                "vdot", "vecdot", "matvec", "vecmat", "polyval", "polyadd", "polysub", "polymul", "polydiv",
                "polyder", "polyint", "polyfit", "vander", "poly", "roots", "eig", "eigvals",
                # the rest of NumPy's array functions (surface-arrays)
                "meshgrid", "broadcast", "block", "choose", "compress", "extract", "delete", "insert", "resize",
                "sort", "piecewise", "apply", "trapezoid", "unwrap", "ldexp", "frexp", "modf", "divmod", "i0",
                "astype", "np.meshgrid", "np.broadcast", "np.block", "np.choose", "np.insert", "np.resize",
                "np.sort", "np.piecewise", "np.apply", "np.trapezoid", "np.unwrap", "np.ldexp", "np.frexp",
                "np.modf", "np.divmod", "np.i0", "np.astype",
                # nn.functional's activations and pooling
                "F.leaky", "F.tanhshrink", "F.avg", "F.max", "F.adaptive", "F.lp"}
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
