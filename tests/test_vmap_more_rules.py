"""vmap of in-place methods, zeta / polygamma, rms_norm, instance_norm, grid_sample, conv_transpose, embedding_bag
and the shape queries, against a Python loop of the unbatched op (values and gradients, no fallback); and a sweep
of the public npgrad, npgrad.linalg, npgrad.nn.functional, npgrad.special and npgrad.fft functions on small
float inputs, listing the ones that still run per sample (each for a stated reason)."""
import itertools
import types
import warnings

import numpy as np
import pytest

import npgrad as npg
from npgrad import func_vmap as fv
from tests.test_vmap_small_rules import Fallback, _check

F = npg.nn.functional
vmap = npg.func.vmap
RNG = np.random.default_rng(9)


# ------------------------------------------------------------------------ in-place methods
@pytest.mark.parametrize("fn", [lambda a: F.relu_(a * 1), lambda a: F.elu_(a * 1, 0.5), lambda a: F.leaky_relu_(a * 1),
                                lambda a: F.hardtanh_(a * 1, -0.3, 0.3), lambda a: (a * 1).clamp_(-0.5, 0.5) * a,
                                lambda a: F.threshold_(a * 1, 0.1, -1.0)])
@pytest.mark.parametrize("dim", [0, -1])
def test_inplace_unary(fn, dim):
    _check(fn, [np.moveaxis(RNG.standard_normal((3, 4, 2)), 0, dim)], (dim,), grad=True)


@pytest.mark.parametrize("dims", [(0, 0), (0, None), (1, 0)])
def test_inplace_binary_and_axis_methods(dims):
    x, y = RNG.standard_normal((3, 4, 2)), RNG.standard_normal((3, 4, 2))
    arrays = [x if dims[0] is not None else x[0], y if dims[1] is not None else y[0]]
    arrays = [a if d in (None, 0) else np.moveaxis(a, 0, d) for a, d in zip(arrays, dims)]
    _check(lambda a, b: (a * 1).add_(b, alpha=2).mul_(a), arrays, dims, grad=True)
    idx = np.array([0, 2])
    _check(lambda a, b: (a * 1).index_add_(0, idx, b[:2]), arrays, dims, grad=True)


def test_inplace_nested_sizes_and_unbatched_self():
    x = RNG.standard_normal((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(vmap(lambda a: F.elu_(a * 1).add_(a)))(npg.tensor(x))
        empty = vmap(lambda a: F.relu_(a * 1))(npg.tensor(np.zeros((0, 4))))
    np.testing.assert_allclose(out.data, np.where(x > 0, x, np.expm1(x)) + x, rtol=1e-12)
    assert empty.shape == (0, 4)
    _check(lambda a: F.relu_(a * 1), [x[:1, 0]], (0,), grad=True)
    z = npg.tensor(np.zeros(4))
    with pytest.raises(RuntimeError, match="self is not"):
        vmap(lambda b: (z * 1).add_(b))(npg.tensor(x[0]))


# ------------------------------------------------------------------------ elementwise specials
def test_zeta_and_polygamma():
    x = RNG.uniform(1.5, 3.0, (3, 4))
    q = RNG.uniform(0.5, 2.0, (3, 4))
    with npg.no_grad():
        _check(lambda a, b: npg.special.zeta(a, q=b), [x, q], (0, 0))
    _check(lambda a, b: npg.special.zeta(a.detach(), b), [x, q[0]], (0, None))
    _check(lambda b: npg.special.zeta(2.5, b), [q], (0,), grad=True)
    _check(lambda b: npg.special.polygamma(2, b), [q], (0,), grad=True)
    _check(lambda n, b: npg.special.polygamma(n, b), [np.array([[0, 1, 2, 3]] * 3), q.T], (0, -1), grad=True)
    _check(lambda b: npg.special.multigammaln(b + 2, 3), [q], (0,), grad=True)


# ------------------------------------------------------------------------ layers on an (N, ...) batch
def test_rms_norm():
    x = RNG.standard_normal((3, 2, 4, 5))
    w = RNG.standard_normal((4, 5))
    _check(lambda a, b: F.rms_norm(a, (4, 5), b), [x, w], (0, None), grad=True)
    _check(lambda a: F.rms_norm(a, 5, eps=1e-3), [np.moveaxis(x, 0, 2)], (2,), grad=True)


@pytest.mark.parametrize("dim", [0, -1])
def test_instance_norm(dim):
    x = RNG.standard_normal((3, 2, 4, 5))
    w, b = RNG.standard_normal(4), RNG.standard_normal(4)
    _check(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), [np.moveaxis(x, 0, dim), w, b], (dim, None, None),
           grad=True)


def test_grid_sample():
    x = RNG.standard_normal((3, 2, 2, 4, 5))
    g = RNG.uniform(-1.1, 1.1, (3, 2, 3, 3, 2))
    for mode in ("bilinear", "nearest"):
        _check(lambda a, b: F.grid_sample(a, b, mode=mode, align_corners=False), [x, g], (0, 0), grad=True)
    _check(lambda a, b: F.grid_sample(a, b, align_corners=True), [x, g[0]], (0, None), grad=True)
    _check(lambda a, b: F.grid_sample(a, b, align_corners=True), [x[0], g], (None, 0), grad=True)


@pytest.mark.parametrize("nd", [1, 2])
def test_conv_transpose(nd):
    f = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
    x = RNG.standard_normal((3, 2, 4) + (5,) * nd)
    w = RNG.standard_normal((4, 3) + (2,) * nd)
    b = RNG.standard_normal(3)
    _check(lambda a, c, d: f(a, c, d, stride=2), [x, w, b], (0, None, None), grad=True)
    _check(lambda a, c: f(a, c, padding=1), [x[:, 0], w], (0, None), grad=True)     # unbatched samples (C, *L)
    _check(lambda a, c: f(a, c), [np.moveaxis(x, 0, -1), w], (-1, None), grad=True)


def test_embedding_bag():
    idx = RNG.integers(0, 6, (3, 2, 4))
    w = RNG.standard_normal((6, 3))
    psw = RNG.standard_normal((3, 2, 4))
    for mode in ("mean", "sum", "max"):
        _check(lambda i, c: F.embedding_bag(i, c, mode=mode), [idx, w], (0, None), grad=True)
    _check(lambda i, c, p: F.embedding_bag(i, c, mode="sum", per_sample_weights=p), [idx, w, psw], (0, None, 0),
           grad=True)


def test_shape_queries_on_batched_values():
    x = RNG.standard_normal((3, 4, 5))
    _check(lambda a: a * npg.size(a) + npg.ndim(a) + npg.size(a, 1) + npg.zeros(npg.shape(a)), [x], (0,), grad=True)
    _check(lambda a: npg.iscomplex(a) | npg.isreal(a) | npg.iscomplexobj(a), [x], (0,))
    _check(lambda a: npg.iscomplex(a * 1j + 1) & ~npg.isreal(a * 1j), [x], (0,))


# ------------------------------------------------------------------------ the public-function sweep
# functions that run per sample under vmap on these inputs, and why (none runs the whole function as a loop
# unless marked "whole"): data-dependent output shapes or Python values (torch.func.vmap refuses these), or a
# structural argument (an order, a pad width, a quantile) that is batched.
EXPECTED_LOOPS = {
    ("npg", "argwhere"), ("npg", "nonzero"), ("npg", "flatnonzero"), ("npg", "where"), ("npg", "unique"),
    ("npg", "bincount"), ("npg", "histogram"),                        # output shape from the values
    ("npg", "allclose"), ("npg", "array_equal"), ("npg", "array_equiv"),   # a Python bool per sample
    ("npg", "real_if_close"),            # real or complex result by each sample's values
    ("linalg", "lstsq"),                 # rank / residual shapes from the values
    ("npg", "pad"), ("npg", "repeat"),   # batched pad widths / repeat counts: shapes from the values
    ("npg", "quantile"), ("npg", "nanquantile"), ("npg", "percentile"), ("npg", "nanpercentile"),  # batched q
    ("npg", "digitize"),                 # batched bins
    ("npg", "astype"),                   # a batched tensor as the dtype argument
    ("F", "threshold"), ("F", "threshold_"), ("npg", "threshold"), ("npg", "threshold_"),  # batched threshold / value
    ("F", "batch_norm"),                 # batched running statistics
    ("F", "embedding_bag"), ("npg", "embedding_bag"),   # 1-D bags with batched offsets
    ("linalg", "ldl_factor"), ("linalg", "ldl_factor_ex"),  # Bunch-Kaufman pivoting: a Python loop per matrix
    ("linalg", "solve_ex"),              # torch's vector rule for B fits no batching rule (its docstring)
    ("npg", "arange"), ("npg", "randint"),   # "whole": sizes / bounds from a batched value (torch raises)
    ("npg", "unique_all"), ("npg", "unique_counts"), ("npg", "unique_inverse"), ("npg", "unique_values"),
    ("npg", "union1d"), ("npg", "intersect1d"), ("npg", "setdiff1d"), ("npg", "setxor1d"),
    ("npg", "histogram2d"), ("npg", "histogramdd"), ("npg", "histogram_bin_edges"),  # output shape from the values
    ("npg", "shares_memory"), ("npg", "may_share_memory"),   # a Python bool per sample
    ("npg", "ix_"), ("npg", "diag_indices_from"), ("npg", "tril_indices_from"),
    ("npg", "triu_indices_from"),        # index tensors built per sample (without a gradient; rare under vmap)
    ("npg", "diag_indices"), ("npg", "tril_indices"), ("npg", "triu_indices"),  # (sizes from a batched value)
    ("npg", "compress"), ("npg", "extract"), ("npg", "trim_zeros"),  # output shape from a batched condition / values
    ("npg", "piecewise"),                # batched conditions: a different number of elements per sample
    ("npg", "full"), ("npg", "full_like"),   # a batched fill value (np.full writes it in with np.copyto)
    ("npg", "unique_consecutive"),       # output shape from the values
    ("npg", "normal"), ("npg", "poisson"), ("npg", "binomial"),   # draws from batched parameters, per sample (the
                                         # loop replays the draws under randomness='same')
}
_POOL = {"m": RNG.uniform(0.2, 0.8, (3, 4, 4)) + np.eye(4), "v": RNG.uniform(0.2, 0.8, (3, 4)),
         "s": RNG.uniform(0.2, 0.8, (3,)), "i": RNG.integers(0, 4, (4,)), "i0": np.int64(2),
         "c": RNG.uniform(0.2, 0.8, (3, 4, 3, 5))}
_PATTERNS = [p for n in (1, 2, 3) for p in itertools.product(list(_POOL), repeat=n) if any(k[0] != "i" for k in p)]
_SKIP = {"seed", "manual_seed", "set_printoptions", "load", "save", "vmap", "set_default_dtype",
         "use_deterministic_algorithms"}


def _first_call(f):
    """The first argument pattern (batched floats, unbatched ints) the unbatched function accepts."""
    for pat in _PATTERNS:
        args = [npg.tensor(_POOL[k][0] if k[0] != "i" else _POOL[k], requires_grad=False) for k in pat]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                npg.random.seed(0)
                out = f(*args)
        except Exception:
            continue
        if isinstance(out, (npg.Tensor, tuple, list, bool, int, float)):
            return pat
    return None


def test_public_functions_under_vmap():
    modules = {"npg": npg, "linalg": npg.linalg, "F": F, "special": npg.special, "fft": npg.fft}
    loops, errors, count = set(), {}, 0
    for mname, mod in modules.items():
        names = getattr(mod, "__all__", None) or [n for n in dir(mod) if not n.startswith("_")]
        for name in sorted(set(names)):
            f = getattr(mod, name, None)
            if not callable(f) or isinstance(f, (type, types.ModuleType)) or name in _SKIP:
                continue
            pat = _first_call(f)
            if pat is None:
                continue
            count += 1
            fv._warned.clear()
            dims = tuple(None if k[0] == "i" else 0 for k in pat)
            args = [npg.tensor(_POOL[k], requires_grad=False) for k in pat]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    warnings.simplefilter("error", Fallback)
                    vmap(lambda *a: f(*a), in_dims=dims, randomness="different")(*args)
            except Fallback:
                loops.add((mname, name))
            except RuntimeError as e:       # data-dependent control flow (a size from a batched value): torch too
                if "control flow" not in str(e):
                    errors[(mname, name)] = str(e)
            except TypeError as e:          # a hyperparameter (dropout's p) batched: refused by name (number_arg)
                if "values differ per sample inside vmap" not in str(e):
                    errors[(mname, name)] = str(e)
    fv._warned.clear()
    assert count > 350
    assert not errors, errors
    assert loops <= EXPECTED_LOOPS, sorted(loops - EXPECTED_LOOPS)


def test_embedding_bag_scale_grad_by_freq_counts_per_sample():
    """Index frequencies are counted per sample, so merging the batch into the bags would change the gradient:
    the per-op loop computes it (with its warning)."""
    idx = np.array([[[0, 0, 1]], [[0, 2, 2]]])
    with pytest.warns(Fallback, match="embedding_bag"):
        _check(lambda i, c: F.embedding_bag(i, c, mode="sum", scale_grad_by_freq=True),
               [idx, RNG.standard_normal((3, 2))], (0, None), grad=True, fallback_ok=True)


def _nested(fn, arrays):
    """vmap(vmap(fn)) over the two leading axes against a double loop of ``fn``: values and gradients."""
    ts = [npg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        out = vmap(vmap(fn))(*ts)
    refs = [npg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    ref = npg.stack([npg.stack([fn(*[t[i, j] for t in refs]) for j in range(arrays[0].shape[1])])
                     for i in range(arrays[0].shape[0])])
    np.testing.assert_allclose(out.data, ref.data, rtol=1e-12, atol=1e-12)
    w = RNG.standard_normal(out.shape)
    (out * w).sum().backward()
    (ref * w).sum().backward()
    for t, r in zip(ts, refs):
        if r.grad is not None:
            np.testing.assert_allclose(t.grad, r.grad, rtol=1e-10, atol=1e-12)


_X = RNG.standard_normal((2, 3, 4, 5))
_LP = np.log(RNG.dirichlet(np.ones(4), size=(2, 3, 6, 2)))
NESTED = {
    "ctc_loss": (lambda a, b, c, d: F.ctc_loss(a, b, c, d),
                 [_LP, RNG.integers(1, 4, (2, 3, 2, 3)), np.full((2, 3, 2), 6), RNG.integers(1, 4, (2, 3, 2))]),
    "multilabel_margin_loss": (F.multilabel_margin_loss, [_X, RNG.integers(-1, 5, (2, 3, 4, 5))]),
    "multi_margin_loss": (lambda a, b, c: F.multi_margin_loss(a, b, weight=c),
                          [_X, RNG.integers(0, 5, (2, 3, 4)), RNG.uniform(1, 2, (2, 3, 5))]),
    "nll_loss": (lambda a, b, c: F.nll_loss(a, b, weight=c, ignore_index=1),
                 [_X, RNG.integers(0, 5, (2, 3, 4)), RNG.uniform(1, 2, (2, 3, 5))]),
    "tensorsolve": (npg.linalg.tensorsolve, [RNG.standard_normal((2, 3, 2, 3, 2, 3)) + 3 * np.eye(6).reshape(
        2, 3, 2, 3), RNG.standard_normal((2, 3, 2, 3))]),
    "tensor": (lambda a: npg.tensor([a[0].detach(), a[1].detach() * 2], requires_grad=False) * a[:2], [_X]),
    "grid_sample": (lambda a, g: F.grid_sample(a, g, align_corners=False),
                    [RNG.standard_normal((2, 3, 1, 2, 4, 4)), RNG.uniform(-1, 1, (2, 3, 1, 3, 3, 2))]),
    "instance_norm": (F.instance_norm, [RNG.standard_normal((2, 3, 2, 3, 4))]),
    "inplace": (lambda a, b: (a * 1).add_(b).mul_(a), [_X, RNG.standard_normal((2, 3, 4, 5))]),
    "rms_norm": (lambda a: F.rms_norm(a, (5,)), [_X]),
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_nested_vmap(name):
    _nested(*NESTED[name])


@pytest.mark.parametrize("fn", [lambda a: a.dot(2.0), lambda a: npg.dot(a, [1.0, 2, 3, 4]),
                                lambda a: npg.inner([1.0, 2, 3, 4], a), lambda a: npg.tensordot(np.ones((4, 4)), a),
                                lambda a: npg.dot(3, a)])
def test_contractions_with_python_operands(fn):
    _check(fn, [RNG.standard_normal((3, 4, 4))], (0,), grad=True)


# ------------------------------------------------------------------------ per-sample weights (vmap(grad) hands
# every sample its own parameters)
def test_per_sample_weights_of_layers():
    x = RNG.standard_normal((3, 2, 4, 5))
    _check(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), [x, RNG.standard_normal((3, 4)),
                                                                  RNG.standard_normal(4)], (0, 0, None), grad=True)
    _check(lambda a, c: F.rms_norm(a, (4, 5), c), [x, RNG.standard_normal((3, 4, 5))], (0, 0), grad=True)
    _check(lambda a, c: F.rms_norm(a, 5, c), [x[0], RNG.standard_normal((3, 5))], (None, 0), grad=True)
    idx = RNG.integers(0, 6, (3, 2, 4))
    _check(lambda i, c, p: F.embedding_bag(i, c, mode="sum", per_sample_weights=p),
           [idx, RNG.standard_normal((3, 6, 2)), RNG.standard_normal((3, 2, 4))], (0, 0, 0), grad=True)
    for mode in ("mean", "max"):
        _check(lambda i, c: F.embedding_bag(i, c, mode=mode), [idx[0], RNG.standard_normal((3, 6, 2))], (None, 0),
               grad=True)


@pytest.mark.parametrize("nd,groups,unbatched", [(1, 1, False), (1, 2, False), (2, 1, True), (1, 1, True)])
def test_conv_transpose_per_sample_weight(nd, groups, unbatched):
    f = F.conv_transpose1d if nd == 1 else F.conv_transpose2d
    x = RNG.standard_normal((3, 2, 4) + (5,) * nd)
    x = x[:, 0] if unbatched else x
    w = RNG.standard_normal((3, 4, 3) + (2,) * nd)
    b = RNG.standard_normal((3, 3 * groups))
    _check(lambda a, c, d: f(a, c, d, stride=2, groups=groups), [x, w, b], (0, 0, 0), grad=True)
    _check(lambda a, c: f(a, c, padding=1, groups=groups), [x[0], w], (None, 0), grad=True)
    _check(lambda a, d: f(a, w[0], d, groups=groups), [x, b], (0, 0), grad=True)


def test_per_sample_gradients_of_conv_transpose_and_norms():
    """vmap(grad) over a small model of these layers against per-sample backward passes."""
    params = {"w": npg.tensor(RNG.standard_normal((4, 3, 2))), "g": npg.tensor(RNG.standard_normal(3)),
              "r": npg.tensor(RNG.standard_normal(6))}
    xs = npg.tensor(RNG.standard_normal((5, 2, 4, 5)))

    def loss(p, x):
        h = F.instance_norm(F.conv_transpose1d(x, p["w"]), weight=p["g"])
        return (F.rms_norm(h, 6, p["r"]) ** 2).sum()
    with warnings.catch_warnings():
        warnings.simplefilter("error", Fallback)
        grads = vmap(npg.func.grad(loss), in_dims=(None, 0))(params, xs)
    for i in range(5):
        ref = npg.func.grad(loss)(params, xs[i])
        for k in params:
            np.testing.assert_allclose(grads[k].data[i], ref[k].data, rtol=1e-10, atol=1e-12)
