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
