"""Op-table rows (tests/test_ops_table.py) for the vector products (vdot, vecdot, matvec, vecmat), the legacy
polynomial functions (np.poly*, vander, roots) and np.linalg.eig / eigvals: each checked there against
PyTorch (values, dtype, gradients, float32 / float64), finite differences, second order, vmap and forward mode.

PyTorch has no polynomial API: the torch side is written from torch primitives (Horner's rule, torch.linalg.pinv
of the scaled Vandermonde matrix, torch.linalg.eigvals of the companion matrix), never from npgrad's output.
Complex eigenvalues are compared through their real and imaginary parts (one real output)."""
import numpy as np

import npgrad as npg


def add_cases(add, torch, DOMAINS):
    TLA = torch.linalg

    # ---- vector products
    add("vdot", npg.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)),
        [[(2, 3), (6,)], [(), ()], [(0,), (0, 2)], [(1,), ()], [(3, 1), (1, 3)]])
    add("np.vdot", np.vdot, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)), [[(4,), (2, 2)]])
    add("vecdot", npg.vecdot, TLA.vecdot, [[(3,), (3,)], [(2, 3), (3,)], [(4, 1, 3), (2, 3)], [(0, 3), (3,)],
                                          [(2, 0), (2, 0)], [(1, 3), (5, 3)]])
    add("vecdot_axis", npg.vecdot, lambda a, b, axis: TLA.vecdot(a, b, dim=axis), [[(3, 2), (3, 1)]], axis=0)
    add("np.vecdot", lambda a, b: np.vecdot(a, b, axis=-2), lambda a, b: TLA.vecdot(a, b, dim=-2),
        [[(2, 4, 3), (4, 3)]])

    def t_matvec(m, v):
        return torch.matmul(m, v.unsqueeze(-1)).squeeze(-1)

    def t_vecmat(v, m):
        return torch.matmul(v.conj().unsqueeze(-2), m).squeeze(-2)

    add("matvec", npg.matvec, t_matvec, [[(2, 3), (3,)], [(4, 1, 2, 3), (5, 3)], [(0, 2, 3), (3,)], [(2, 0), (0,)],
                                         [(2, 3), (4, 3)], [(1, 1), (1,)]])
    add("np.matvec", np.matvec, t_matvec, [[(3, 2, 2), (2,)]])
    add("vecmat", npg.vecmat, t_vecmat, [[(3,), (3, 2)], [(5, 3), (3, 2)], [(2, 1, 3), (4, 3, 2)], [(0,), (0, 2)],
                                         [(3,), (0, 3, 1)]])
    add("np.vecmat", np.vecmat, t_vecmat, [[(2, 3), (3, 4)]])

    # ---- polynomials (NumPy's legacy API, highest power first)
    F = torch.nn.functional

    def t_polyval(p, x):
        y = torch.zeros_like(x)
        for i in range(p.shape[0]):
            y = y * x + p[i]
        return y

    add("polyval", npg.polyval, t_polyval, [[(4,), (5,)], [(1,), ()], [(3, 2), (2,)], [(4,), (2, 3)], [(2,), (0,)]])
    add("polyval", npg.polyval, t_polyval, [[(0,), (3,)]], fd=False)   # no coefficients: constant zeros
    add("np.polyval", np.polyval, t_polyval, [[(3,), (2,)]])

    def t_padded(op):
        def f(a, b):
            a, b = a.reshape(-1), b.reshape(-1)
            n = max(a.shape[0], b.shape[0])
            return op(F.pad(a, (n - a.shape[0], 0)), F.pad(b, (n - b.shape[0], 0)))
        return f

    for name, op in (("polyadd", torch.add), ("polysub", torch.sub)):
        add(name, getattr(npg, name), t_padded(op), [[(3,), (5,)], [(4,), (2,)], [(3,), (3,)], [(), (2,)]])

    def t_polymul(a, b):
        a, b = a.reshape(-1), b.reshape(-1)
        m = b.shape[0]
        return F.conv1d(F.pad(a, (m - 1, m - 1)).reshape(1, 1, -1), b.flip(0).reshape(1, 1, -1)).reshape(-1)

    add("polymul", npg.polymul, t_polymul, [[(3,), (4,)], [(1,), (3,)], [(), ()], [(5,), (2,)]])
    add("np.polymul", np.polymul, t_polymul, [[(2,), (3,)]])

    def t_polydiv(u, v):   # NumPy's long division, step for step, and its trimming rule
        u, v = u + 0.0, v + 0.0
        m, n = u.shape[0] - 1, v.shape[0] - 1
        scale = 1.0 / v[0]
        r, qs = u, []
        for k in range(m - n + 1):
            d = scale * r[k]
            qs.append(d.reshape(1))
            r = torch.cat([r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:]])
        q = torch.cat(qs) if qs else torch.zeros(1, dtype=u.dtype)
        while r.shape[0] > 1 and np.allclose(r[0].detach().numpy(), 0, rtol=1e-14):
            r = r[1:]
        return torch.cat([q, r])

    add("polydiv", lambda u, v: npg.concatenate(npg.polydiv(u, v)), t_polydiv,
        [[(5,), (3,)], [(3,), (1,)], [(4,), (4,)]], domain=("real", "away"))   # (u shorter than v: the test file)
    add("np.polydiv", lambda u, v: npg.concatenate(np.polydiv(u, v)), t_polydiv, [[(4,), (2,)]],
        domain=("real", "away"))

    def t_polyder(p, m=1):
        for _ in range(m):
            n = p.shape[0] - 1
            p = p[:-1] * torch.arange(n, 0, -1, dtype=torch.float64)   # NumPy's int64 arange: float32 -> float64
        return p

    add("polyder", npg.polyder, t_polyder, [[(4,)], [(1,)], [(2,)]])
    add("polyder", npg.polyder, t_polyder, [[(5,)]], m=2)
    add("polyder", npg.polyder, t_polyder, [[(3,)]], m=0)
    add("np.polyder", lambda p: np.polyder(p, 2), lambda p: t_polyder(p, 2), [[(4,)]])

    def t_polyint(p, k=None, m=1):
        k = torch.zeros(m, dtype=torch.float64) if k is None else k.reshape(-1).to(torch.float64)
        if k.shape[0] == 1 and m > 1:
            k = k[0] * torch.ones(m, dtype=torch.float64)
        for i in range(m):
            p = torch.cat([p / torch.arange(p.shape[0], 0, -1, dtype=torch.float64), k[i].reshape(1)])
        return p

    add("polyint", npg.polyint, t_polyint, [[(4,)], [(1,)], [(0,)]])
    add("polyint", lambda p: npg.polyint(p, 3), lambda p: t_polyint(p, m=3), [[(3,)]])
    add("polyint_k", lambda p, k: npg.polyint(p, 2, k), lambda p, k: t_polyint(p, k, m=2), [[(3,), (2,)], [(2,), ()]])
    add("np.polyint", lambda p: np.polyint(p, 2, k=[1.0, 2.0]),
        lambda p: t_polyint(p, torch.tensor([1.0, 2.0], dtype=torch.float64), m=2), [[(3,)]])

    def t_vander(x, N=None, increasing=False):
        x = x.to(torch.float64)   # NumPy: promote_types(x.dtype, int)
        n = x.shape[0]
        N = n if N is None else N
        if N == 0:
            return x[:, None][:, :0]
        cols = [torch.ones(n, 1, dtype=x.dtype)]
        if N > 1:
            cols.append(torch.cumprod(x[:, None].expand(n, N - 1), 1))
        v = torch.cat(cols, 1)[:, :N]
        return v if increasing else v.flip(1)

    add("vander", npg.vander, t_vander, [[(4,)], [(0,)]])
    add("vander", npg.vander, t_vander, [[(1,)]], fd=False)   # a column of ones: constant
    add("vander", npg.vander, t_vander, [[(3,)]], N=5, increasing=True)
    add("vander", npg.vander, t_vander, [[(3,)]], N=1, fd=False)
    add("vander", npg.vander, t_vander, [[(3,)]], N=0)
    add("np.vander", lambda x: np.vander(x, 3), lambda x: t_vander(x, 3), [[(4,)]])

    def t_polyfit(x, y, w=None, deg=2):
        lhs, rhs = t_vander(x, deg + 1), y   # (as NumPy: the Vandermonde matrix in float64, y * w in y's dtype)
        if w is not None:
            lhs = lhs * w[:, None]
            rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
        rhs = rhs.to(torch.float64)
        scale = torch.sqrt((lhs * lhs).sum(0))
        lhs = lhs / scale
        c = torch.linalg.lstsq(lhs, rhs if rhs.ndim == 2 else rhs[:, None], driver="gelsd").solution
        c = c / scale[:, None]
        return c if rhs.ndim == 2 else c[:, 0]

    add("polyfit", lambda x, y: npg.polyfit(x, y, 2), t_polyfit, [[(8,), (8,)], [(3,), (3,)], [(6,), (6, 2)]])
    add("polyfit_w", lambda x, y, w: npg.polyfit(x, y, 3, w=w), lambda x, y, w: t_polyfit(x, y, w, deg=3),
        [[(9,), (9,), (9,)], [(7,), (7, 3), (7,)]], domain=("real", "real", "pos"))
    add("np.polyfit", lambda x, y: np.polyfit(x, y, 1), lambda x, y: t_polyfit(x, y, deg=1), [[(5,), (5,)]])

    # ---- roots (companion matrix eigenvalues) and poly (the polynomial from its roots / a matrix)
    def _ri(z):   # real and imaginary parts side by side (npgrad's may be real, torch's are complex)
        if isinstance(z, npg.Tensor):
            return npg.concatenate([npg.real(z), npg.imag(z)]) if z.dtype.kind == "c" else \
                npg.concatenate([z, z * 0])
        return torch.cat([z.real, z.imag]) if z.is_complex() else torch.cat([z, z * 0])

    def t_roots(p):
        n = p.shape[0]
        comp = torch.cat([(-p[1:] / p[0]).reshape(1, n - 1), torch.eye(n - 2, n - 1, dtype=p.dtype)])
        return torch.linalg.eigvals(comp)

    add("roots", lambda p: _ri(npg.roots(p)), lambda p: _ri(t_roots(p)), [[(4,)], [(3,)], [(6,)]], domain="away")
    add("np.roots", lambda p: _ri(np.roots(p)), lambda p: _ri(t_roots(p)), [[(5,)]], domain="away")

    def t_poly(z):
        z = z.reshape(-1) if z.ndim == 0 else z
        if z.ndim == 2:
            z = torch.linalg.eigvals(z)
        a = torch.ones(1, dtype=z.dtype)
        for i in range(z.shape[0]):
            a = torch.cat([a, torch.zeros(1, dtype=z.dtype)]) - torch.cat([torch.zeros(1, dtype=z.dtype), a]) * z[i]
        return a.real if a.is_complex() else a

    add("poly", npg.poly, t_poly, [[(3,)], [(1,)], [()]])
    add("poly_matrix", npg.poly, t_poly, [[(3, 3)], [(4, 4)], [(1, 1)]])
    add("np.poly", np.poly, t_poly, [[(2,)]])

    # ---- np.linalg.eig / eigvals (phase-invariant functions of the eigenvectors; more in tests/test_linalg.py)
    def spread_eig(rng, s):   # real matrices with well-separated eigenvalues (some complex pairs when n > 2)
        n = s[-1]
        rot = np.zeros(s)
        if n > 2:
            rot[..., 0, 1], rot[..., 1, 0] = 1.5, -1.5
        return rng.standard_normal(s) * 0.3 + np.diag(np.arange(n) * 1.7) + rot

    DOMAINS["spread_eig"] = spread_eig

    def _eig_inv(lib):   # eigenvalues (real, imag), |V|^2 and V diag(exp(L)) V^-1 (real part), joined
        def f(a):
            if lib is npg:
                L, V = npg.linalg.eig(a)
                M = (V * npg.exp(L)[..., None, :]) @ npg.linalg.inv(V)
                parts = [_ri(L.reshape(-1)), (npg.abs(V) ** 2).reshape(-1), npg.real(M).reshape(-1)]
                return npg.concatenate(parts)
            L, V = torch.linalg.eig(a)
            M = (V * torch.exp(L)[..., None, :]) @ torch.linalg.inv(V)
            return torch.cat([_ri(L.reshape(-1)), (V.abs() ** 2).reshape(-1), M.real.reshape(-1)])
        return f

    add("eig", _eig_inv(npg), _eig_inv(torch), [[(3, 3)], [(2, 4, 4)], [(1, 1)], [(0, 3, 3)]], domain="spread_eig")
    add("eigvals", lambda a: _ri(npg.linalg.eigvals(a).reshape(-1)),
        lambda a: _ri(torch.linalg.eigvals(a).reshape(-1)), [[(3, 3)], [(2, 3, 3)], [(2, 0, 0)]],
        domain="spread_eig")
    add("np.linalg.eigvals", lambda a: _ri(np.linalg.eigvals(a)), lambda a: _ri(torch.linalg.eigvals(a)), [[(4, 4)]],
        domain="spread_eig")
