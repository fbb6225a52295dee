"""Adversarial review of ``npg.linalg``, round 2: size-0, batched, complex, float32, integer and degenerate
inputs; values, dtypes and errors against NumPy, gradients and forward mode against PyTorch."""
import numpy as np
import pytest

import npgrad as npg
from tests.helpers import torch_or_stand_in

torch = torch_or_stand_in()

L = npg.linalg


# ------------------------------------------------------------------------------------- matrix norms
@pytest.mark.parametrize("ord", [1, -1, np.inf, -np.inf, "fro", "nuc", 2, -2])
@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.bool_])
def test_matrix_norms_of_integer_matrices_are_float64_as_numpy(ord, dtype):
    # ord 1 / -1 / inf / -inf summed |x| in the input's integer dtype: NumPy casts to float64 first
    a = (np.arange(12).reshape(2, 2, 3) % 5 - 2).astype(dtype)
    for got, ref in ((L.matrix_norm(npg.tensor(a), ord=ord), np.linalg.matrix_norm(a, ord=ord)),
                     (L.norm(npg.tensor(a[0]), ord=ord), np.linalg.norm(a[0], ord=ord)),
                     (L.norm(npg.tensor(a), ord=ord, axis=(0, 2)), np.linalg.norm(a, ord=ord, axis=(0, 2)))):
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_allclose(got.data, ref, rtol=1e-12)
