"""Derivatives of ``funm``'s user function ``f`` (vectorized, on complex eigenvalues), for the Daleckii-Krein table
of ``ops/linalg_funm.py``. ``f`` has no known scale: a single difference step (relative to ``max(1, |z|)``) is too
large for ``sin`` at ``z = 1e5`` and crosses the singularity of ``log`` at ``z = 1e-7``. So:

* ``derivative``: Ridders' extrapolation of central differences along the real direction (Numerical Recipes'
  ``dfridr``: steps shrinking by 1.4, a Neville tableau in ``h^2``, the estimate of least error, each error
  estimate at least the difference's rounding error), started from
  step sizes ``0.1 max(1, |z|) 30^-k`` over 12 decades; the estimate with the smallest error estimate wins.
* ``divided``: ``(f(l_i) - f(l_j)) / (l_i - l_j)``, or for close eigenvalues (where that quotient cancels) the
  5-point Gauss-Legendre quadrature of ``f'`` over the segment between them, unless the two disagree by more
  than the quotient's rounding error allows (``f`` jumps between them, a branch cut, or varies on a scale
  shorter than the segment): the quotient then.
"""
import numpy as np

_EPS = np.finfo(np.float64).eps
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(5)
_NODES, _WEIGHTS = (_NODES + 1) / 2, _WEIGHTS / 2


def _ridders(f, z, h):
    con2 = 1.4 ** 2
    best, err = np.full(z.shape, np.nan, complex), np.full(z.shape, np.inf)
    active = np.ones(z.shape, bool)
    prev = []
    for i in range(10):
        with np.errstate(all="ignore"):
            fp, fm = f(z + h), f(z - h)
            row = [(fp - fm) / (2 * h)]     # its rounding error (of f and of the argument z + h): a floor
            floor = 10 * _EPS * (np.abs(fp) + np.abs(fm) + np.abs(z) * np.abs(row[0])) / h
            fac = con2
            for j in range(1, i + 1):
                row.append((row[j - 1] * fac - prev[j - 1]) / (fac - 1))
                fac *= con2
                e = np.maximum(np.abs(row[j] - row[j - 1]), np.abs(row[j] - prev[j - 1]))
                e = np.where(np.isfinite(e), e + floor, np.inf)
                take = active & (e <= err)
                best, err = np.where(take, row[j], best), np.where(take, e, err)
            if i:
                active &= ~(np.abs(row[i] - prev[i - 1]) >= 2 * err)
        prev = row
        h = h / 1.4
    return best, err


def derivative(f, z):
    """``f'(z)`` (complex array in, out) by Ridders' method from several starting steps."""
    s = np.maximum(1.0, np.abs(z))
    best, err = np.full(z.shape, np.nan, complex), np.full(z.shape, np.inf)
    for k in range(8):
        d, e = _ridders(f, z, 0.1 * s * 30.0 ** -k)
        take = e < err
        best, err = np.where(take, d, best), np.where(take, e, err)
    return best


def divided(f, li, lj, fi, fj):
    """The table of divided differences of ``f`` (broadcast ``li`` (N, n, 1), ``lj`` (N, 1, n))."""
    li, lj = np.broadcast_arrays(li, lj)
    fi, fj = np.broadcast_arrays(fi, fj)
    d = li - lj
    out = np.empty(d.shape, complex)
    same = d == 0
    out[same] = derivative(f, li[same])
    with np.errstate(all="ignore"):
        q = (fi - fj) / np.where(same, 1, d)
    out[~same] = q[~same]
    scale = np.maximum(1.0, np.maximum(np.abs(li), np.abs(lj)))
    near = ~same & (np.abs(d) <= 1e-2 * scale)
    if near.any():
        a, b = lj[near], d[near]
        quad = sum(w * derivative(f, a + t * b) for t, w in zip(_NODES, _WEIGHTS))
        rounding = 4e3 * _EPS * (np.abs(fi[near]) + np.abs(fj[near])) / np.abs(b)
        out[near] = np.where(np.abs(q[near] - quad) <= rounding, quad, q[near])
    return out
