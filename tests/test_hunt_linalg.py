"""Hunt for silent wrong answers and unclear errors in ``npg.linalg`` (values and errors against NumPy)."""
import numpy as np
import pytest

import npgrad as npg

L = npg.linalg


def _numpy_error(fn, *args):
    with pytest.raises(Exception) as info:
        fn(*args)
    return info.value


_HALF_CASES = [
    ("det", lambda m: (m,)), ("slogdet", lambda m: (m,)), ("inv", lambda m: (m,)), ("pinv", lambda m: (m,)),
    ("matrix_rank", lambda m: (m,)), ("svd", lambda m: (m,)), ("svdvals", lambda m: (m,)), ("qr", lambda m: (m,)),
    ("eig", lambda m: (m,)), ("eigvals", lambda m: (m,)), ("eigh", lambda m: (m,)), ("eigvalsh", lambda m: (m,)),
    ("cholesky", lambda m: (m,)), ("cond", lambda m: (m,)), ("solve", lambda m: (m, m[:, 0])),
    ("lstsq", lambda m: (m, m[:, 0])), ("tensorsolve", lambda m: (m, m[:, 0])),
]


@pytest.mark.parametrize("name,args", _HALF_CASES, ids=[c[0] for c in _HALF_CASES])
def test_float16_input_raises_a_type_error_naming_the_op(name, args):
    # NumPy's LAPACK wrappers refuse float16 with a bare "array type float16 is unsupported in linalg" that names
    # no op: the error must say which npg.linalg function and which input shape
    m = np.eye(3, dtype=np.float16) * 2
    ref = _numpy_error(getattr(np.linalg, name), *args(m))
    assert isinstance(ref, TypeError) and "float16" in str(ref)
    with pytest.raises(TypeError, match=rf"^{name}: .*float16.*\(3, 3\)"):
        getattr(L, name)(*(npg.tensor(a) for a in args(m)))
