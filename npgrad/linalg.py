"""``npg.linalg``: differentiable ``np.linalg``, batched over leading dimensions as in NumPy.

>>> import npgrad as npg
>>> a = npg.randn(3, 3)
>>> npg.linalg.slogdet(a @ a.T + npg.eye(3)).logabsdet.backward()

Every function here also runs through NumPy on tensors: ``np.linalg.det(t)`` calls ``det`` below.
Where to find them: ``ops/linalg.py`` (det, slogdet, inv, solve, cholesky and the functions built
from other ops), ``ops/lstsq.py`` (pinv, lstsq), ``ops/decomp.py`` (eigh, eigvalsh, svd, svdvals, qr: several
outputs), ``ops/eig.py`` (eig, eigvals of general matrices), ``ops/norms.py`` (norm, vector_norm, matrix_norm,
cond, matrix_rank).

SciPy's ``scipy.linalg`` is a superset of ``np.linalg``; its essentials are here too, with SciPy's signatures:
``ops/linalg_scipy.py`` (solve_triangular, cho_factor, cho_solve, block_diag), ``ops/linalg_expm.py`` (expm, alias
matrix_exp), ``ops/linalg_lu.py`` (lu_factor, lu_solve, lu), ``ops/linalg_funm.py`` (sqrtm, logm,
fractional_matrix_power, signm, funm by eigendecomposition; sinm cosm tanm sinhm coshm tanhm from expm),
``ops/linalg_sylvester.py`` (solve_sylvester, solve_continuous_lyapunov / solve_lyapunov,
solve_discrete_lyapunov).

torch.linalg's own names: ``ops/linalg_torch.py`` (cholesky_ex, inv_ex, solve_ex, lu_factor_ex,
householder_product, vander: torch's increasing powers), ``ops/linalg_ldl.py`` (ldl_factor, ldl_factor_ex,
ldl_solve).
"""
from .ops._matrix import LinAlgError
from .ops.contract import matmul, tensordot
from .ops.eig import EigResult, eig, eigvals
from .ops.decomp import EighResult, QRResult, SVDResult, eigh, eigvalsh, qr, svd, svdvals
from .ops.linalg import (SlogdetResult, cholesky, cross, det, diagonal, inv, matrix_power, matrix_transpose,
                         multi_dot, outer, slogdet, solve, tensorinv, tensorsolve, trace, vecdot)
from .ops.linalg_expm import expm, matrix_exp
from .ops.linalg_funm import (coshm, cosm, fractional_matrix_power, funm, logm, signm, sinhm, sinm, sqrtm, tanhm,
                               tanm)
from .ops.linalg_sylvester import (solve_continuous_lyapunov, solve_discrete_lyapunov, solve_lyapunov,
                                   solve_sylvester)
from .ops.linalg_lu import LinAlgWarning, lu, lu_factor, lu_solve
from .ops.linalg_ldl import ldl_factor, ldl_factor_ex, ldl_solve
from .ops.linalg_torch import cholesky_ex, householder_product, inv_ex, lu_factor_ex, solve_ex, vander
from .ops.linalg_scipy import block_diag, cho_factor, cho_solve, solve_triangular
from .ops.lstsq import LstsqResult, lstsq, pinv
from .ops.norms import cond, matrix_norm, matrix_rank, norm, vector_norm

__all__ = ["LinAlgError", "cholesky", "cond", "cross", "det", "diagonal", "eig", "eigvals", "eigh", "eigvalsh", "inv",
           "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm",
           "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "tensorinv", "tensorsolve",
           "trace", "vecdot", "vector_norm", "EigResult", "EighResult", "QRResult", "SVDResult", "SlogdetResult",
           "LstsqResult",
           # scipy.linalg's
           "block_diag", "cho_factor", "cho_solve", "expm", "matrix_exp", "lu", "lu_factor", "lu_solve",
           "solve_triangular", "LinAlgWarning", "sqrtm", "logm", "fractional_matrix_power", "sinm", "cosm", "tanm",
           "sinhm", "coshm", "tanhm", "signm", "funm", "solve_sylvester", "solve_continuous_lyapunov",
           "solve_lyapunov", "solve_discrete_lyapunov",
           # torch.linalg's own
           "cholesky_ex", "inv_ex", "solve_ex", "lu_factor_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve",
           "householder_product", "vander"]
