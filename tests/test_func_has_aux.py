"""npg.func.jvp, jacrev and jacfwd with has_aux=True, against torch.func: the derivative ignores the
auxiliary output, which comes back as computed (NumPy in, NumPy out; Tensors in, Tensors out), nested
structures kept (and, unlike torch, Python numbers in them); argnums; and the error when f does not return a pair."""
import numpy as np
import pytest
import torch
import torch.func as tfunc

import npgrad as npg
from npgrad import func
from tests.helpers import assert_close

X = np.array([0.3, -1.2, 2.0])
Y = np.array([[0.5, 1.5], [-0.7, 0.2], [1.1, -0.4]])


def f_npg(x, y):
    h = npg.tanh(x) @ y
    return npg.sin(h) * npg.sum(x ** 2), {"h": h, "norms": (npg.sum(x ** 2), npg.sum(y * y)), "n": 3}


def f_torch(x, y):
    h = torch.tanh(x) @ y
    return torch.sin(h) * (x ** 2).sum(), {"h": h, "norms": ((x ** 2).sum(), (y * y).sum())}  # tensors only


def _check_aux(aux, taux, array_type):
    assert set(aux) == set(taux) | {"n"} and aux["n"] == 3  # npgrad passes a Python number through
    assert isinstance(aux["norms"], tuple) and len(aux["norms"]) == 2
    for a, t in [(aux["h"], taux["h"]), *zip(aux["norms"], taux["norms"])]:
        assert isinstance(a, array_type), type(a)
        assert_close(a, t.detach().numpy())


@pytest.mark.parametrize("tensors_in", [False, True])
def test_jvp_has_aux_as_torch(tensors_in):
    tx, ty = np.array([1.0, 0.5, -2.0]), np.full((3, 2), 0.3)
    args = (npg.tensor(X), npg.tensor(Y)) if tensors_in else (X, Y)
    tans = (npg.tensor(tx), npg.tensor(ty)) if tensors_in else (tx, ty)
    out, jv, aux = func.jvp(f_npg, args, tans, has_aux=True)
    tout, tjv, taux = tfunc.jvp(f_torch, (torch.tensor(X), torch.tensor(Y)), (torch.tensor(tx), torch.tensor(ty)),
                                has_aux=True)
    kind = npg.Tensor if tensors_in else np.ndarray
    assert isinstance(out, kind) and isinstance(jv, kind)
    assert_close(out, tout.numpy())
    assert_close(jv, tjv.numpy())
    _check_aux(aux, taux, kind)
    value, jv2 = func.jvp(lambda x, y: f_npg(x, y)[0], args, tans)  # the same without aux
    assert_close(jv2, jv)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobian_has_aux_as_torch(name, argnums):
    jac, aux = getattr(func, name)(f_npg, argnums=argnums, has_aux=True)(X, Y)
    tjac, taux = getattr(tfunc, name)(f_torch, argnums=argnums, has_aux=True)(torch.tensor(X), torch.tensor(Y))
    if isinstance(argnums, tuple):
        assert isinstance(jac, tuple) and len(jac) == 2
        for j, tj in zip(jac, tjac):
            assert isinstance(j, np.ndarray)
            assert_close(j, tj.numpy())
    else:
        assert isinstance(jac, np.ndarray)
        assert_close(jac, tjac.numpy())
    _check_aux(aux, taux, np.ndarray)


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
def test_jacobian_has_aux_with_tensor_inputs_and_a_tensor_aux(name):
    g = lambda x: (npg.exp(x) * 2, npg.exp(x))  # noqa: E731
    tg = lambda x: (torch.exp(x) * 2, torch.exp(x))  # noqa: E731
    jac, aux = getattr(func, name)(g, has_aux=True)(npg.tensor(X))
    tjac, taux = getattr(tfunc, name)(tg, has_aux=True)(torch.tensor(X))
    assert isinstance(jac, npg.Tensor) and isinstance(aux, npg.Tensor)
    assert_close(jac, tjac.numpy())
    assert_close(aux, taux.numpy())


def test_hessian_of_a_jacrev_with_aux_output_as_torch():
    """jacrev(has_aux) nested in jacfwd: the auxiliary output passes through both levels as in torch."""
    g = lambda x: (npg.sum(npg.sin(x) * x), npg.cos(x))  # noqa: E731
    tg = lambda x: ((torch.sin(x) * x).sum(), torch.cos(x))  # noqa: E731
    h, aux = func.jacfwd(lambda x: func.jacrev(g, has_aux=True)(x), has_aux=True)(X)
    th, taux = tfunc.jacfwd(lambda x: tfunc.jacrev(tg, has_aux=True)(x), has_aux=True)(torch.tensor(X))
    assert_close(h, th.numpy())
    assert_close(aux, taux.numpy())


@pytest.mark.parametrize("call", [
    lambda f: func.jvp(f, (X,), (X,), has_aux=True),
    lambda f: func.jacrev(f, has_aux=True)(X),
    lambda f: func.jacfwd(f, has_aux=True)(X),
], ids=["jvp", "jacrev", "jacfwd"])
def test_has_aux_needs_a_pair(call):
    for bad in (lambda x: npg.sin(x), lambda x: (npg.sin(x),), lambda x: (npg.sin(x), x, x)):
        with pytest.raises(TypeError, match=r"has_aux=True\): f must return a pair"):
            call(bad)
