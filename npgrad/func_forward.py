"""The forward-mode transforms of :mod:`npgrad.func`: ``jvp``, ``jacfwd`` and ``hessian``.

Each call runs ``f`` at a new dual level (npgrad/autograd/forward_ad.py): its inputs are made dual with the
tangents, every op computes its output's tangent with its JVP rule as it goes, and the outputs are unpacked
at the end. A JVP costs one forward pass (about two when counting the tangent's own arithmetic), not a
forward and two backward passes. ``jacfwd`` runs one such pass per input element, through
:func:`_basis_jvps` -- the one loop a batching transform (vmap) will replace by a single batched pass.
Inside an enclosing ``vmap`` the same path runs on the batched arguments: their duals live on their inner
tensors, one basis tangent shared by the batch (npgrad/_fwd_batched.py).

Composition: the tangents are Tensors recorded in the reverse-mode graph when grad mode is on, so ``grad`` of
a ``jvp`` works (reverse over forward); ``grad``/``jacrev`` record their backward pass when their inputs
carry tangents, so ``jacfwd(jacrev(f))`` works (forward over reverse: :func:`hessian`); nested ``jvp`` /
``jacfwd`` use nested levels, which never mix their tangents.

Types follow the reverse-mode transforms: NumPy arrays or numbers in, NumPy arrays out; Tensors in, Tensors
out; a result that an enclosing transform differentiates (through the reverse graph or an outer dual level)
is returned as the Tensor that carries that dependence.
"""
import importlib

import numpy as np

from . import _fwd_batched as _fb
from . import _vmap_state
from .autograd import versions as _versions
from .autograd.forward_ad import enter_dual_level, exit_dual_level, is_dual
from .autograd.grad_mode import _state
from .dtypes import get_default_dtype
from .ops.shape import stack
from .tensor import Tensor, _leaf, _wrap

_tm = importlib.import_module(".tensor", __package__)  # the module (npgrad.tensor is also a function)

__all__ = ["jvp", "jacfwd", "hessian"]


def _func():
    from . import func  # the pytree helpers and output checks shared with the reverse-mode transforms
    return func


class _Inputs:
    """The differentiated arguments of one transform call, flattened: the caller's leaves (for result types)
    and Tensors standing for them (the primals that each forward pass makes dual). Inside vmap a primal may be
    batched: its dual lives on its innermost tensor (npgrad/_fwd_batched.py); ``lead[k]`` records where flat
    output ``k`` is batched, its tangent's layout (batch axes in front)."""

    def __init__(self, where, args, argnums):
        fn = _func()
        self.where, self.args, self.argnums = where, list(args), argnums
        self.specs, self.user, self.primals, self.lead = [], [], [], []
        self.outer = _vmap_state.depth()   # the innermost vmap level active at the call in this thread (0: none)
        for a in argnums:
            leaves, spec = fn._flatten(self.args[a])
            self.specs.append(spec)
            self.user += leaves
            self.primals += [self._primal(v, a) for v in leaves]
        self.numpy_mode = not any(isinstance(v, Tensor) for v in self.user)

    def _primal(self, x, argnum):
        if isinstance(x, Tensor):
            if x.dtype.kind not in "fc":
                raise TypeError(f"{self.where}: argument {argnum} has dtype {x.dtype}; only floating and complex "
                                f"inputs can be differentiated")
            return x
        data = np.asarray(x)
        if data.dtype.kind not in "fc":
            raise TypeError(f"{self.where}: argument {argnum} has dtype {data.dtype}; only floating and complex "
                            f"inputs can be differentiated (pass e.g. 2.0 instead of 2)")
        data = data.astype(get_default_dtype()) if isinstance(x, float) else data.copy()
        return _leaf(data, False)

    def tangent(self, i, t):
        """The caller's tangent ``t`` for flat input ``i``, checked and cast to a Tensor of its dtype."""
        p = self.primals[i]
        td = t.data if isinstance(t, Tensor) else np.asarray(t)
        if td.shape != p.data.shape:
            raise ValueError(f"{self.where}: tangent of shape {td.shape} for a primal of shape {p.data.shape}")
        if isinstance(t, Tensor):
            return t if t.dtype == p.dtype else t.astype(p.dtype)
        return _wrap(td.astype(p.data.dtype, copy=False))

    def run(self, f, tangents, has_aux):
        """One forward pass: ``f`` at a new dual level with flat primal ``i`` made dual with ``tangents[i]``
        (not at all where it is None). Returns (output primals, output tangents, output spec, aux)."""
        fn = _func()
        level = enter_dual_level()
        try:
            duals = [p if t is None else _fb.dual(p, t) for p, t in zip(self.primals, tangents)]
            args = list(self.args)
            pos = 0
            for a, spec in zip(self.argnums, self.specs):
                n = fn._count_leaves(spec)
                args[a] = fn._unflatten(duals[pos:pos + n], spec)
                pos += n
            res = f(*args)
            aux = None
            if has_aux:
                if not (isinstance(res, tuple) and len(res) == 2):
                    raise TypeError(f"{self.where}(has_aux=True): f must return a pair (output, aux), got "
                                    f"{type(res).__name__}")
                res, aux = res
                aux = fn._tree_map(lambda v: _fb.primal_at(v, level), aux)
            leaves, spec = fn._flatten(res)
            prims, tans, lead = [], [], []
            for o in leaves:
                p, t, ld = _fb.unpack_output(o, level, self.outer, self.where)
                prims.append(p)
                tans.append(t)
                lead.append(ld)
            self.lead = lead
        finally:
            exit_dual_level(level=level)
        return prims, tans, spec, aux

    def export(self, r):
        """A result for the caller: the Tensor itself when an enclosing transform differentiates it, else its
        values (a NumPy array if every differentiated input was one, else a Tensor without graph)."""
        if not isinstance(r, Tensor):
            return r
        if type(r) is _fb.BatchedTensor:
            levels, raw = _fb.unwrap(r)
            return r if carries(raw) else _fb.rewrap(_wrap(raw.data), levels)
        if carries(r):
            return r
        return r.data if self.numpy_mode else _wrap(r.data)


def carries(r):
    """Whether ``r`` depends on something an enclosing computation differentiates: a tangent of an outer dual
    level, or a reverse-mode graph reaching a tensor outside the finished transform levels."""
    if is_dual(r):
        return True
    return r._requires_grad and _state.enabled and _func()._reaches_outside([r], [])


def jvp(f, primals, tangents, has_aux=False):
    """``torch.func.jvp``: ``(f(*primals), J(primals) @ tangents)`` (plus ``aux``), by forward-mode AD: one
    forward pass that carries the tangents along (npgrad/autograd/forward_ad.py)."""
    fn = _func()
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (one entry per argument of f)")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    if fn._tensor_mod._VMAP:  # one batched JVP (npgrad/_vmap_transforms.py)
        from . import _vmap_transforms
        r = _vmap_transforms.jvp(f, primals, tangents, has_aux)
        if r is not None:
            return r
    inputs = _Inputs("jvp", primals, tuple(range(len(primals))))
    t_leaves = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        _, ps = fn._flatten(p)
        tl, ts = fn._flatten(t)
        if ps != ts:   # (as torch: leaves are matched by position, so a reordered dict would mix them)
            raise RuntimeError(f"jvp: expected the tangents to have the structure of the primals; primal {i}: "
                               f"{fn._spec_str(ps)}, tangent {i}: {fn._spec_str(ts)}")
        t_leaves += tl
    tans = [inputs.tangent(i, t) for i, t in enumerate(t_leaves)]
    prims, jv, spec, aux = inputs.run(f, tans, has_aux)
    jv = [_fb.rewrap(t, ld[0]) for t, ld in zip(jv, inputs.lead)]
    value = fn._unflatten([inputs.export(p) for p in prims], spec)
    jv = fn._unflatten([inputs.export(t) for t in jv], spec)
    if has_aux:
        return value, jv, fn._tree_map(inputs.export, aux)
    return value, jv


def _basis_jvps(run, primals):
    """``run(tangents)`` for every basis tangent: one forward pass per element of each flat input, with only
    that input dual. Returns ``(columns, first)``: ``columns[i]`` the list of output-tangent lists for input
    ``i``'s elements (in C order), ``first`` one run's result (for the outputs and aux). This is the loop that
    vmap replaces by one batched pass."""
    columns = [[] for _ in primals]
    first = None
    for i, p in enumerate(primals):
        for e in range(p.size):
            basis = np.zeros(p.size, dtype=p.dtype)
            basis[e] = 1
            tangents = [None] * len(primals)
            tangents[i] = _wrap(basis.reshape(p.shape))
            res = run(tangents)
            if first is None:
                first = res
            columns[i].append(res[1])
    if first is None:  # no input element at all: run once for the outputs
        first = run([None] * len(primals))
    return columns, first


def _basis_jvps_vmap(run, primals, chunk_size, randomness="error"):
    """:func:`_basis_jvps` as ONE forward pass vectorized by vmap over one basis covering every input (as
    torch.func.jacfwd), so ``f`` and its side effects (a BatchNorm's running statistics...) run once (per chunk):
    ``columns[i][k]`` is output ``k``'s tangents for input ``i``'s basis vectors, shape ``(n_i,) + out.shape``."""
    from .func_vmap import vmap
    sizes = [p.size for p in primals]
    total = sum(sizes)
    if not total:
        return [None] * len(primals), run([None] * len(primals))
    bases, offsets, off = [], [], 0
    for p, n in zip(primals, sizes):
        b = np.zeros((total, n), dtype=p.dtype)
        b[off:off + n] = np.eye(n, dtype=p.dtype)
        bases.append(_wrap(b.reshape((total,) + tuple(p.shape))))
        offsets.append(off)
        off += n
    box = []

    def one(*tans):
        res = run(list(tans))
        if not box:
            box.append(res)   # the outputs and aux: they do not depend on the tangents
        return tuple(res[1])
    outer = _vmap_state.depth()
    cols = vmap(one, randomness=randomness, chunk_size=chunk_size)(*bases)
    prims, _, _, aux = first = box[0]
    if any(type(v).__name__ == "BatchedTensor" and v._level > outer
           for v in (*prims, *_func()._flatten(aux)[0])):
        first = run([None] * len(primals))   # a value batched by the basis (a random draw): run f for them
    columns = [None if not n else tuple(c[o:o + n] for c in cols) for o, n in zip(offsets, sizes)]
    return columns, first


def _block_vmap(cols, k, out, primal, lead):
    """The Jacobian of flat output ``k`` (primal ``out``, batched at ``lead``) with respect to an input, from
    its columns of the vectorized pass (basis axis in front), shape ``out.shape + primal.shape`` per sample."""
    return _fb.block(None if cols is None else cols[k], lead, out, primal, carries)


def _block(cols, k, out, primal, lead):
    """:func:`_block_vmap` from the columns of the loop (one output-tangent list per basis vector); as a
    Tensor (npgrad ops) if a column carries a dependence outward."""
    parts = [c[k] for c in cols]
    if not parts:
        return _fb.block(None, lead, out, primal, carries)
    if any(carries(p) or type(p) is _fb.BatchedTensor for p in parts):
        return _fb.block(stack(parts, axis=0), lead, out, primal, carries)
    return _fb.block(_wrap(np.stack([p.data for p in parts], axis=0)), lead, out, primal, carries)


def jacfwd(f, argnums=0, has_aux=False, *, randomness="error", chunk_size=None):
    """``torch.func.jacfwd``: the Jacobian of ``f`` by forward mode: one forward pass per input vectorized by
    :func:`vmap` over the basis tangents (``chunk_size`` at a time), or one forward pass per input element when an
    op of ``f`` has no batching rule; its
    shape is ``output.shape + input.shape`` (per output and per argnum, as ``f`` returns and takes them)."""
    _func()._check_chunk_size("jacfwd", chunk_size)
    def wrapper(*args, **kwargs):
        fn = _func()
        single, nums = fn._normalize_argnums(argnums, len(args), "jacfwd")
        g_f = (lambda *a: f(*a, **kwargs)) if kwargs else f
        inputs = _Inputs("jacfwd", args, nums)
        fn._check_real("jacfwd", inputs.primals, "inputs")
        run = _restoring(lambda tans: inputs.run(g_f, tans, has_aux), inputs, args)
        vec = fn._vm.try_vectorized(lambda: _basis_jvps_vmap(run, inputs.primals, chunk_size, randomness))
        if vec is not None:
            columns, (prims, _, out_spec, aux) = vec
            block = _block_vmap
        else:
            columns, (prims, _, out_spec, aux) = _basis_jvps(run, inputs.primals)
            block = _block
        fn._check_real("jacfwd", prims, "outputs")
        per_out, given = [], []
        for k, out in enumerate(prims):
            flat = []
            for i, primal in enumerate(inputs.primals):
                j = block(columns[i], k, out, primal, inputs.lead[k])
                if isinstance(j, Tensor):
                    flat.append(j)
                else:
                    # the caller's own arrays: no read-only broadcast (zero tangents), no block shared by two outputs
                    if not j.flags.writeable or any(np.may_share_memory(j, e) for e in given):
                        j = np.array(j)
                    given.append(j)
                    flat.append(_wrap(j) if isinstance(inputs.user[i], Tensor) else j)
            per_out.append(_unflatten_per_argnum(fn, inputs, flat, single))
        jac = fn._unflatten(per_out, out_spec)
        if has_aux:
            return jac, fn._tree_map(inputs.export, aux)
        return jac
    wrapper.__name__ = f"jacfwd({getattr(f, '__name__', 'f')})"
    return wrapper


def _restoring(run, inputs, args):
    """``run``, for the several passes of ``f`` that jacfwd makes where torch.func.jacfwd makes one (vectorized
    over the basis): an input that a pass wrote into in place gets the caller's values back before the next
    pass, so each pass differentiates ``f`` at the caller's values and the caller sees the writes of one pass.
    Where the values alone cannot be put back (an argument not differentiated, so not copied beforehand, or an
    input carrying a graph or the tangents of an enclosing transform), a write raises instead."""
    fn = _func()
    # (a batched input: its innermost tensor, which holds the values and carries the graph and tangents)
    primals = [_fb.raw_of(p) for p in inputs.primals if isinstance(p, Tensor)]
    held = {id(p) for p in primals}
    saved = [[p, p.data.copy(), _versions.version(p.data)] for p in primals]
    watched = [(t, _versions.version(t.data)) for t in map(_fb.raw_of, fn._flatten(list(args))[0])
               if isinstance(t, Tensor) and id(t) not in held]
    watched += [(p, v) for p, _, v in saved if p._requires_grad or p._vjps is not None
                or (p._extra and p._extra.get("fw"))]
    ran = []

    def wrapped(tans):
        if ran:
            for t, version in watched:
                if _versions.version(t.data) != version:
                    raise RuntimeError(f"jacfwd: f wrote in place into an argument ({t.dtype} of shape {t.shape}) "
                                       f"that is not differentiated, or that carries a graph or the tangents of an "
                                       f"enclosing transform; jacfwd runs f more than once, and each run would see "
                                       f"what the last one wrote. Write into a copy (x = x.clone()) inside f")
            for entry in saved:
                p, values, version = entry
                if _versions.version(p.data) != version:   # (counted once: the caller sees one pass's write)
                    np.copyto(p.data, values)
                    if p._extra:
                        p._extra.pop("fw", None)
                    entry[2] = _versions.version(p.data)
        ran.append(True)
        return run(tans)
    return wrapped


def _unflatten_per_argnum(fn, inputs, flat, single):
    out, pos = [], 0
    for spec in inputs.specs:
        n = fn._count_leaves(spec)
        out.append(fn._unflatten(flat[pos:pos + n], spec))
        pos += n
    return out[0] if single else tuple(out)


def hessian(f, argnums=0):
    """``torch.func.hessian``: the matrix of second derivatives of a scalar ``f``, shape
    ``input.shape + input.shape``, as ``jacfwd(jacrev(f))`` (forward over reverse, as JAX and torch.func)."""
    h = jacfwd(_func().jacrev(f, argnums), argnums)
    h.__name__ = f"hessian({getattr(f, '__name__', 'f')})"
    return h
