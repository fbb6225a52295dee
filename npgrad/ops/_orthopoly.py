"""torch.special's orthogonal polynomials in NumPy (kernels only; the differentiable ops are in
npgrad/ops/orthopoly.py): Chebyshev T U V W and their shifted forms on [0, 1], Hermite H (physicists') and He
(probabilists'), Laguerre L and Legendre P, of degree n = int(n) (truncated toward zero, as torch's cast).

Values follow torch 2.13 (aten/src/ATen/native/Math.h) case by case, so that they agree to the last bits:
a negative (or NaN, infinite) degree gives 0; torch's closed values at x = +-1 (Chebyshev, Legendre; 0 and 1
for the shifted ones) and x = 0 (Laguerre); for Chebyshev polynomials of high degree inside (-1, 1) its
trigonometric forms (``T_n = cos(n acos x)``...); Hermite of degree above 512 (float64; 128 in float32) is NaN;
otherwise the three-term recurrence ``P_{k+1} = (A_k(x) P_k - C_k P_{k-1}) / D_k`` in torch's order of
operations. A NaN x of degree >= 1 gives NaN (torch 2.13 returns a leftover value for some of them).

Derivatives (any order m): the same recurrence carried on Taylor coefficients in x (A_k is linear in x:
``P_{k+1}^(j) = (A_k P_k^(j) + j A_k' P_k^(j-1) - C_k P_{k-1}^(j)) / D_k``), the exact derivative of the
polynomial of degree int(n); the shifted ones are 2^m times the unshifted ones at 2x - 1.
"""
import numpy as np

# family: (P_1(x), P_1'(x), A_k(x), A_k', C_k, D_k); k >= 1
_FAMILIES = {
    "t": (lambda x: x, 1.0, lambda x, k: x + x, lambda k: 2.0, lambda k: 1.0, lambda k: 1.0),
    "u": (lambda x: x + x, 2.0, lambda x, k: x + x, lambda k: 2.0, lambda k: 1.0, lambda k: 1.0),
    "v": (lambda x: x + x - 1.0, 2.0, lambda x, k: x + x, lambda k: 2.0, lambda k: 1.0, lambda k: 1.0),
    "w": (lambda x: x + x + 1.0, 2.0, lambda x, k: x + x, lambda k: 2.0, lambda k: 1.0, lambda k: 1.0),
    "h": (lambda x: x + x, 2.0, lambda x, k: x + x, lambda k: 2.0, lambda k: 2.0 * k, lambda k: 1.0),
    "he": (lambda x: x, 1.0, lambda x, k: x, lambda k: 1.0, lambda k: float(k), lambda k: 1.0),
    "l": (lambda x: 1.0 - x, -1.0, lambda x, k: (k + k) + (1.0 - x), lambda k: -1.0, lambda k: float(k),
          lambda k: k + 1.0),
    "p": (lambda x: x, 1.0, lambda x, k: (k + k + 1) * x, lambda k: 2.0 * k + 1.0, lambda k: float(k),
          lambda k: k + 1.0),
}


def degree(n):
    """torch's ``static_cast<int64_t>(n)``: truncated toward zero; NaN, +-inf and |n| >= 2^63 give -1 (torch's
    x86 cast gives INT64_MIN there: a negative degree)."""
    n = np.asarray(n)
    if n.dtype.kind in "biu":
        return n.astype(np.int64)
    n = n.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(n) & (np.abs(n) < 2.0 ** 63)
        return np.where(ok, np.trunc(np.where(ok, n, -1.0)), -1.0).astype(np.int64)


MAX_RECURRENCE = 2 ** 24


def recurrence(family, x, n, m=0, where="polynomial"):
    """The m-th derivative in x of the polynomial ``family`` of degree n (n >= 0 an int64 array broadcasting
    with x), by the recurrence; 0 for n < 0. The steps stop early where every value still running is NaN (torch's
    loop does the same: an overflow past |x| > 1); more than 2^24 of them is a ValueError naming ``where``."""
    p1, dp1, a_fn, da_fn, c_fn, d_fn = _FAMILIES[family]
    x, n = np.broadcast_arrays(np.asarray(x, dtype=np.float64), n)
    prev = [np.ones(x.shape)] + [np.zeros(x.shape) for _ in range(m)]          # P_0 and its derivatives
    cur = [p1(x) + np.zeros(x.shape), np.full(x.shape, dp1)] + [np.zeros(x.shape) for _ in range(m - 1)]
    cur = cur[:m + 1]
    top = int(n.max()) if n.size else 0
    if top - 1 > MAX_RECURRENCE and _stays_finite(family, x[n - 1 > MAX_RECURRENCE]).any():
        raise ValueError(_too_many(where, top, m))
    with np.errstate(all="ignore"):
        for k in range(1, top):
            active = n > k
            if k % 64 == 0 and not (active & ~np.isnan(cur[m])).any():
                break
            if k > MAX_RECURRENCE:
                raise ValueError(_too_many(where, top, m))
            a, da, c, d = a_fn(x, k), da_fn(k), c_fn(k), d_fn(k)
            nxt = [(a * cur[j] + (j * da * cur[j - 1] if j else 0.0) - c * prev[j]) / d for j in range(m + 1)]
            prev = [np.where(active, cj, pj) for cj, pj in zip(cur, prev)]
            cur = [np.where(active, nj, cj) for nj, cj in zip(nxt, cur)]
    out = np.where(n == 0, prev[0] if m == 0 else 0.0, cur[m])
    if m == 0:
        out = np.where(n == 0, 1.0, out)
    return np.where(n < 0, 0.0, out)


def _too_many(where, top, m):
    what = "its derivative's recurrence" if m else "its recurrence"
    return (f"npgrad.special.{where}: degree n = {top} is too large: {what} would take more than 2^24 steps "
            f"where the values stay finite")


def _stays_finite(family, x):
    """Where the recurrence of ``family`` at x cannot overflow (so cannot stop early) within MAX_RECURRENCE
    steps, from a lower bound of the step where it does: for the Chebyshev and Legendre families |P_n(x)| grows
    at most like (|x| + sqrt(x^2 - 1))^n n^2 = exp(n arccosh|x|) n^2, finite while n arccosh|x| < 500;
    Laguerre's is bounded by e^(x/2) for x >= 0 and grows like exp(2 sqrt(n |x|)) below 0. Checked first, so that a hopeless degree is an error at once rather than after
    2^24 steps; the loop's own check stays the rule (this only predicts it)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        if family in ("h", "he"):
            return np.zeros(x.shape, bool)
        if family == "l":
            return ((x >= 0) & (x <= 1000.0)) | ((x < 0) & (-x * 4.0 * MAX_RECURRENCE < 500.0 ** 2))
        return np.arccosh(np.maximum(np.abs(x), 1.0)) * MAX_RECURRENCE < 500.0


def _parity(n, even, odd):
    return np.where(n % 2 == 0, even, odd)


def _chebyshev_values(kind, y, n, high, where):
    """torch's Chebyshev ``kind`` at y (the shifted ones: y = 2x - 1, their special points x = 1 and x = 0 are
    y = 1 and y = -1), its trigonometric form above degree ``high`` inside (-1, 1)."""
    nf = n.astype(np.float64)
    with np.errstate(all="ignore"):
        inside = (np.abs(y) < 1.0) & (n > high)
        need = (n > 1) & ~inside & (np.abs(y) != 1.0)
        out = np.zeros(np.broadcast_shapes(y.shape, n.shape))
        yb, nb = np.broadcast_arrays(y, n)
        if need.any():
            out[need] = recurrence(kind, yb[need], nb[need], where=where)
        theta = np.arccos(np.where(inside, y, 0.0))
        if kind == "t":
            trig = np.cos(nf * theta)
            one = np.where(y > 0, 1.0, _parity(n, 1.0, -1.0))
        elif kind == "u":
            s = np.sin(theta)
            trig = np.where(s != 0, np.sin((nf + 1) * theta) / s, (nf + 1) * np.cos((nf + 1) * theta) / y)
            one = np.where(y > 0, nf + 1, _parity(n, nf + 1, -(nf + 1)))
        elif kind == "v":
            trig = np.where(np.sin(theta / 2.0) != 1.0, np.cos((nf + 0.5) * theta) / np.cos(theta / 2.0),
                            _parity(n, nf + nf + 1, -(nf + nf + 1)))
            one = np.where(y > 0, 1.0, _parity(n, nf + nf + 1, -(nf + nf + 1)))
        else:
            w_one = np.where(y > 0, nf + nf + 1, _parity(n, 1.0, -1.0))
            trig = np.where(np.cos(theta / 2.0) != 1.0, np.sin((nf + 0.5) * theta) / np.sin(theta / 2.0), w_one)
            one = w_one
        out = np.where(inside, trig, out)
        out = np.where(np.abs(y) == 1.0, one, out)
        out = np.where(n == 1, _FAMILIES[kind][0](y) + np.zeros(out.shape), out)
    return np.where(n == 0, 1.0, out)


def _hermite_limit(dtype):
    return 128 if dtype == np.float32 else 512 if dtype == np.float64 else 1024


def values(name, x, n, dtype):
    """torch.special.``name``(x, n) (float64 x, int64 degrees n) for results of ``dtype``."""
    x = np.asarray(x, dtype=np.float64)
    shape = np.broadcast_shapes(x.shape, n.shape)
    if name.startswith("shifted_chebyshev_polynomial_"):
        kind = name[-1]
        out = _chebyshev_values(kind, x + x - 1.0, n, {"t": 6, "u": 6, "v": 6, "w": 4}[kind], name)
    elif name.startswith("chebyshev_polynomial_"):
        kind = name[-1]
        out = _chebyshev_values(kind, x, n, {"t": 6, "u": 8, "v": 8, "w": 8}[kind], name)
    else:
        kind = {"hermite_polynomial_h": "h", "hermite_polynomial_he": "he", "laguerre_polynomial_l": "l",
                "legendre_polynomial_p": "p"}[name]
        out = recurrence(kind, x, np.where(n > _hermite_limit(dtype), -1, n) if kind in ("h", "he") else n, where=name)
        with np.errstate(invalid="ignore"):
            if kind in ("h", "he"):
                out = np.where(n > _hermite_limit(dtype), np.nan, out)
            elif kind == "l":
                out = np.where(x == 0, 1.0, out)
            else:
                out = np.where(np.abs(x) == 1.0, np.where(x > 0, 1.0, _parity(n, 1.0, -1.0)), out)
    out = np.where(np.isnan(x) & (n >= 1), np.nan, out)
    return np.broadcast_to(np.where(n < 0, 0.0, out), shape)


def derivative(name, x, n, m, dtype):
    """The m-th derivative (m >= 1) in x of torch.special.``name``(x, n)'s polynomial."""
    x = np.asarray(x, dtype=np.float64)
    if name.startswith("shifted_chebyshev_polynomial_"):
        return 2.0 ** m * recurrence(name[-1], x + x - 1.0, n, m, name)
    kind = name[-1] if name.startswith("chebyshev") else {
        "hermite_polynomial_h": "h", "hermite_polynomial_he": "he", "laguerre_polynomial_l": "l",
        "legendre_polynomial_p": "p"}[name]
    if kind in ("h", "he"):
        n = np.where(n > _hermite_limit(dtype), -1, n)
    out = recurrence(kind, x, n, m, name)
    if kind in ("h", "he"):
        out = np.where(n > _hermite_limit(dtype), np.nan, out)
    return out
