"""Adversarial review of npg.special against mpmath, SciPy and PyTorch: the tails, special points and edge
inputs the broad tables of tests/test_special.py do not reach."""
import math
import time

import mpmath as mp
import numpy as np

import npgrad as npg
from tests.helpers import assert_close

S = npg.special


def _mp(f, *args, dps=50):
    with mp.workdps(dps):
        return float(f(*(mp.mpf(float(a)) for a in args)))


def test_polygamma_at_negative_arguments_keeps_its_relative_precision():
    # the direct sum over the terms (x + k)^-(n+1) below 0 cancelled (psi4(-39.5): 1.8e-8 relative, psi6(-20.5):
    # 6e-6, SciPy as wrong); the reflection formula keeps every digit
    xs = np.array([-39.5, -20.5, -10.3, -3.7, -0.25, -1.5, -7.999, -100.5, -2.5, -0.3])
    for n in (1, 2, 3, 4, 6, 7, 9, 12, 30):
        ref = np.array([_mp(lambda v: mp.polygamma(n, v), x) for x in xs])
        assert_close(S.polygamma(n, xs), ref, rtol=5e-13)
        assert_close(S.zeta(float(n + 1), xs), ref * (-1) ** (n + 1) / math.factorial(n), rtol=5e-13)


def _psi1_psi2_reflected(x):
    """psi1(x), psi2(x) for x < 0 by the reflection formula, in mpmath (mp.polygamma is slow there, and
    mp.zeta(s, q < 0) is another continuation than SciPy's sum)."""
    with mp.workdps(60):
        v = mp.mpf(float(x))
        c, s2 = mp.cot(mp.pi * v), mp.sin(mp.pi * v) ** 2
        return (float(mp.pi ** 2 / s2 - mp.polygamma(1, 1 - v)),
                float(mp.polygamma(2, 1 - v) - 2 * mp.pi ** 3 * c / s2))


def test_zeta_and_polygamma_far_below_zero_are_fast_and_right():
    # the direct sum took |q| steps: q = -1e5 took seconds, -1e9 would not finish
    x = np.array([-1e9 - 0.5, -123456.25, -1e5 - 0.5, -7.3])
    t0 = time.perf_counter()
    out1, out2 = S.polygamma(1, x), S.zeta(3.0, x)
    assert time.perf_counter() - t0 < 2.0
    ref = np.array([_psi1_psi2_reflected(v) for v in x])
    assert_close(out1, ref[:, 0], rtol=1e-12)
    assert_close(out2, -ref[:, 1] / 2, rtol=1e-12)
    q = npg.tensor(np.array([-2.5, -39.5, -7.3]), requires_grad=True)
    S.zeta(3.0, q).sum().backward()   # d/dq zeta(3, q) = -3 zeta(4, q) = -psi3(q) / 2
    assert_close(q.grad, [-_mp(lambda v: mp.polygamma(3, v), v) / 2 for v in (-2.5, -39.5, -7.3)], rtol=1e-12)
