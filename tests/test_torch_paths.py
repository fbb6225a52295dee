"""torch's module paths a port imports: npgrad.utils.data (torch.utils.data), npgrad.testing (torch.testing's
assert_close / make_tensor) and npgrad.nn.attention (SDPBackend, sdpa_kernel, bias), checked against torch."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.attention
import torch.nn.attention.bias
import torch.testing
import torch.utils.data

import npgrad as npg
import npgrad.nn.functional as F
from npgrad import testing as npt


# --------------------------------------------------------------------------- npgrad.utils.data
def test_utils_data_is_npgrad_data():
    import npgrad.utils.data as D
    from npgrad.utils.data import DataLoader, TensorDataset, random_split  # noqa: F401  (torch's import line)
    for name in D.__all__:
        assert getattr(D, name) is getattr(npg.data, name)
    assert npg.utils.data is D
    missing = sorted(n for n in torch.utils.data.__all__ if not hasattr(D, n))
    # only torch's (deprecated) DataPipe machinery and its private / validation helpers are left out
    assert missing == ["DFIterDataPipe", "DataChunk", "IterDataPipe", "MapDataPipe", "_DatasetKind",
                       "argument_validation", "functional_datapipe", "guaranteed_datapipes_determinism",
                       "non_deterministic", "runtime_validation", "runtime_validation_disabled"]


def test_utils_data_port_runs_as_torch():
    import npgrad.utils.data as D
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    for lib, mk in ((torch.utils.data, torch.as_tensor), (D, npg.asarray)):
        ds = lib.TensorDataset(mk(X), mk(y))
        a, b = lib.random_split(ds, [0.7, 0.3])
        assert (len(a), len(b)) == (7, 3)
        batches = list(lib.DataLoader(ds, batch_size=4, shuffle=False))
        assert [tuple(xb.shape) for xb, _ in batches] == [(4, 2), (4, 2), (2, 2)]
        np.testing.assert_array_equal(np.asarray(batches[1][0]), X[4:8])


def test_samplers_structure_vs_torch():
    import npgrad.utils.data as D
    ds = list(range(7))
    for lib in (torch.utils.data, D):
        assert list(lib.SequentialSampler(ds)) == list(range(7))
        assert sorted(lib.RandomSampler(ds)) == list(range(7))
        r = list(lib.RandomSampler(ds, num_samples=17))      # whole permutations, then part of one
        assert len(r) == 17 and sorted(r[:14]) == sorted(2 * list(range(7)))
        r = list(lib.RandomSampler(ds, replacement=True, num_samples=50))
        assert len(r) == 50 and set(r) <= set(range(7))
        assert sorted(lib.SubsetRandomSampler([3, 5, 9])) == [3, 5, 9]
        assert list(lib.BatchSampler(lib.SequentialSampler(ds), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
        assert len(lib.BatchSampler(lib.SequentialSampler(ds), 3, True)) == 2
        w = lib.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 4, replacement=False)
        assert sorted(list(w)[:2]) == [1, 3] and sorted(w) == [0, 1, 2, 3]
        with pytest.raises(ValueError):
            lib.BatchSampler(ds, 0, False)
    torch.manual_seed(0)
    npg.manual_seed(0)
    counts = {}
    for name, lib in (("torch", torch.utils.data), ("npg", D)):
        draws = list(lib.WeightedRandomSampler([1.0, 2.0, 7.0], 20000, replacement=True))
        counts[name] = np.bincount(draws, minlength=3) / 20000
    np.testing.assert_allclose(counts["npg"], [0.1, 0.2, 0.7], atol=0.015)
    np.testing.assert_allclose(counts["npg"], counts["torch"], atol=0.02)


def test_iterable_chain_stack_datasets_vs_torch():
    import npgrad.utils.data as D

    def make(lib):
        class Stream(lib.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return iter(range(self.n))

            def __len__(self):
                return self.n
        return Stream

    out = {}
    for name, lib in (("torch", torch.utils.data), ("npg", D)):
        S = make(lib)
        chain = lib.ChainDataset([S(2), S(3)])
        stack = lib.StackDataset(list("abc"), [1, 2, 3])
        named = lib.StackDataset(x=[1, 2], y=[3, 4])
        concat = lib.ConcatDataset([[1, 2], [3]])
        out[name] = (list(chain), len(chain), stack[1], named[0], concat[-1], len(concat),
                     [np.asarray(b).tolist() for b in lib.DataLoader(S(5), batch_size=2)],
                     lib.default_convert((1, np.float64(2.0)))[0], lib.get_worker_info())
    assert out["torch"] == out["npg"]


# --------------------------------------------------------------------------- npgrad.testing.assert_close
class A:   # an array argument: a torch Tensor for torch, an npgrad Tensor for npgrad
    def __init__(self, value, dtype=None):
        self.value = np.asarray(value, dtype=dtype)


def _to(obj, lib):
    if isinstance(obj, A):
        return torch.from_numpy(obj.value.copy()) if lib == "torch" else npg.asarray(obj.value.copy())
    if isinstance(obj, list):
        return [_to(o, lib) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_to(o, lib) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, lib) for k, v in obj.items()}
    return obj


f32, f64, i64, i32 = np.float32, np.float64, np.int64, np.int32
CASES = [
    (A([1., 2.], f32), A([1., 2.], f32), {}),
    (A([1., 2., 3.], f32), A([1., 2.1, 3.], f32), {}),
    (A([1., 2.], f32), A([1., 2. + 2e-5], f32), {}),                   # within atol 1e-5 + rtol 1.3e-6 * 2
    (A([1., 2.], f32), A([1., 2. + 4e-5], f32), {}),
    (A([1., 2.], f64), A([1., 2. + 2e-7], f64), {}),
    (A([1., 2.], f64), A([1., 2. + 4e-7], f64), {}),
    (A([1., 2.], f64), A([1., 2.], f32), {}),                          # dtype mismatch
    (A([1., 2.], f64), A([1., 2.], f32), dict(check_dtype=False)),
    (A([1., 2. + 4e-7], f64), A([1., 2.], f32), dict(check_dtype=False)),   # loosest tolerance (float32's)
    (A([1, 2], i64), A([1, 2], i64), {}),
    (A([1, 2], i64), A([1, 3], i64), {}),
    (A([1, 2], i32), A([1, 2], i64), {}),
    (A([1, 2], i64), A([1., 2.], f32), dict(check_dtype=False)),
    (A([True, False]), A([True, True]), {}),
    (A([1., 2., 3.], f32), A([[1., 2., 3.]], f32), {}),                # shape
    (A([np.nan], f32), A([np.nan], f32), {}),
    (A([np.nan], f32), A([np.nan], f32), dict(equal_nan=True)),
    (A([np.inf], f64), A([np.inf], f64), {}),
    (A([np.inf], f64), A([-np.inf], f64), {}),
    (A([1., 2.], f32), A([1.05, 2.], f32), dict(rtol=0.1, atol=0.0)),
    (A([1., 2.], f32), A([1.05, 2.], f32), dict(rtol=0.0, atol=0.01)),
    (A([1., 2.], f32), A([1., 2.], f32), dict(rtol=0.1)),               # rtol without atol: ValueError
    (A([1 + 1j], np.complex64), A([1 + 1.1j], np.complex64), {}),
    (A(3.0, f32), A(3.5, f32), {}),                                    # 0-d
    (A(np.zeros((0, 3)), f32), A(np.zeros((0, 3)), f32), {}),            # size 0
    (1, 1.0, {}), (1, 1.0, dict(check_dtype=False)), (1.0, 1.0 + 1e-8, {}), (1, 2, {}),
    (np.float64(1.0), 1.0, {}), (np.float32(1.0), np.float32(1.0), {}), (True, True, {}), (True, False, {}),
    (None, None, {}), (None, 1, {}), ("a", "a", {}),
    (A(1.0, f32), 1.0, {}), (A([1., 2.], f32), [1., 2.], {}),             # no tensor/number pairing
    ([1, 2], [1, 3], {}), ([1., 2.], [1., 2., 3.], {}), ([1, 2], (1, 2), {}),
    ([A([1.], f32), (2, 3.0)], (A([1.], f32), [2, 3.0]), {}),
    ({"a": 1.0}, {"b": 1.0}, {}), ({"a": 1.0, "b": A([2.], f32)}, {"b": A([2.], f32), "a": 1.0}, {}),
    ({"a": [1.0, A([2.], f32)]}, {"a": [1.0, A([2.5], f32)]}, {}),
    (np.array([1., 2.]), np.array([1., 2.]), {}), (np.array([1., 2.]), np.array([1., 2.], f32), {}),
    (np.array([1., 2.], f32), np.array([1., 2.00001], f32), {}),
    (A([0., 1.], f32), A([1e-3, 1.], f32), {}), (A([1., 1e10], f32), A([1.1, 1e10], f32), {}),
]


def _outcome(fn, actual, expected, kw):
    try:
        fn(actual, expected, **kw)
        return "pass", None
    except Exception as e:   # noqa: BLE001
        return type(e).__name__, str(e)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_assert_close_outcome_matches_torch(case):
    actual, expected, kw = CASES[case]
    ref, ref_msg = _outcome(torch.testing.assert_close, _to(actual, "torch"), _to(expected, "torch"), kw)
    got, msg = _outcome(npt.assert_close, _to(actual, "npg"), _to(expected, "npg"), kw)
    assert got == ref, (ref_msg, msg)
    if ref == "AssertionError":   # the message's lines, except torch's own spelling of dtypes and shapes
        for line_ref, line in zip(ref_msg.splitlines(), msg.splitlines()):
            if "difference: " in line_ref:   # (the number: float32 rounding of complex abs may differ by an ulp)
                (head_ref, rest_ref), (head, rest) = (x.split(": ", 1) for x in (line_ref, line))
                (num_ref, *tail_ref), (num, *tail) = rest_ref.split(" ", 1), rest.split(" ", 1)
                assert head == head_ref and tail == tail_ref
                np.testing.assert_allclose(float(num), float(num_ref), rtol=1e-6)
            elif "attribute" not in line_ref:
                assert line == line_ref
        assert len(ref_msg.splitlines()) == len(msg.splitlines())


def test_assert_close_message_and_msg_argument():
    with pytest.raises(AssertionError) as info:
        npt.assert_close(npg.tensor(np.float32([1., 2., 3.])), npg.tensor(np.float32([1., 2.1, 3.])))
    lines = str(info.value).splitlines()
    assert lines[0] == "Tensor-likes are not close!"
    assert lines[2] == "Mismatched elements: 1 / 3 (33.3%)"
    assert lines[3].startswith("Greatest absolute difference: 0.0999999") and lines[3].endswith(
        "at index (1,) (up to 1e-05 allowed)")
    assert lines[4].endswith("at index (1,) (up to 1.3e-06 allowed)")
    a, b = npg.tensor([1., 2.]), npg.tensor([1., 3.])
    with pytest.raises(AssertionError, match="^custom$"):
        npt.assert_close(a, b, msg="custom")
    with pytest.raises(AssertionError, match="^XTensor-likes are not close"):
        npt.assert_close(a, b, msg=lambda m: "X" + m)
    with pytest.raises(AssertionError, match=r"shape.*\(2,\) != \(1, 2\)"):
        npt.assert_close(a, b.reshape(1, 2))
    with pytest.raises(AssertionError, match="dtype.*float64 != float32"):
        npt.assert_close(a, a.astype(np.float32))
    with pytest.raises(TypeError, match="Tensor.*ndarray"):
        npt.assert_close(a, np.array([1., 2.]))
    npt.assert_close(npg.nn.Parameter(npg.tensor([1., 2.])), a)           # a subclass pairs with its base
    x = npg.tensor([1., 2.], requires_grad=True)
    npt.assert_close(x * 1, a)


# --------------------------------------------------------------------------- npgrad.testing.make_tensor
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.int64, np.int8, np.uint8, np.bool_])
def test_make_tensor_ranges_as_torch(dtype):
    tdt = {np.float32: torch.float32, np.float64: torch.float64, np.complex64: torch.complex64,
           np.int64: torch.int64, np.int8: torch.int8, np.uint8: torch.uint8, np.bool_: torch.bool}[dtype]
    ref = torch.testing.make_tensor(4000, dtype=tdt, device="cpu").numpy()
    got = npt.make_tensor(4000, dtype=dtype)
    assert isinstance(got, npg.Tensor) and got.dtype == ref.dtype and got.shape == (4000,)
    g, r = got.data, ref
    if dtype == np.complex64:
        g, r = np.concatenate([g.real, g.imag]), np.concatenate([r.real, r.imag])
    if np.dtype(dtype).kind in "biu":
        assert set(np.unique(g).tolist()) == set(np.unique(r).tolist())   # every value of the range, no more
    else:
        assert -9 <= g.min() < -8.9 and 8.9 < g.max() < 9 and -9 <= r.min() and r.max() < 9


def test_make_tensor_arguments_as_torch():
    for lib, mk, f32, i64 in ((torch.testing, lambda *s, **k: torch.testing.make_tensor(*s, device="cpu", **k),
                               torch.float32, torch.int64),
                              (npt, npt.make_tensor, npg.float32, npg.int64)):
        t = mk((2, 3), dtype=f32, low=-1, high=1, requires_grad=True)
        assert tuple(t.shape) == (2, 3) and t.requires_grad
        assert float(t.detach().min()) >= -1 and float(t.detach().max()) < 1
        assert tuple(mk(2, 3, dtype=f32, noncontiguous=True).shape) == (2, 3)
        assert tuple(mk(dtype=f32).shape) == ()
        assert float(mk(100, dtype=i64, low=0, high=1, exclude_zero=True).min()) == 1
        for bad in (dict(dtype=i64, requires_grad=True), dict(dtype=f32, low=2, high=1),
                    dict(dtype=f32, low=float("nan"))):
            with pytest.raises(ValueError):
                mk(3, **bad)
    assert not npt.make_tensor(2, 3, dtype=npg.float32, noncontiguous=True).data.flags.c_contiguous


# --------------------------------------------------------------------------- npgrad.nn.attention
def test_sdp_backend_members_as_torch():
    from npgrad.nn.attention import SDPBackend
    assert {k: int(v) for k, v in SDPBackend.__members__.items()} == \
        {k: int(v) for k, v in torch.nn.attention.SDPBackend.__members__.items()}


def _qkv(L=3, S=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in ((2, 2, L, 4), (2, 2, S, 4), (2, 2, S, 3))]


def test_sdpa_kernel_runs_the_one_implementation():
    from npgrad.nn.attention import SDPBackend, sdpa_kernel
    q, k, v = _qkv()
    ref = torch.nn.functional.scaled_dot_product_attention(*map(torch.from_numpy, (q, k, v))).numpy()
    for backends in (SDPBackend.MATH, [SDPBackend.MATH, SDPBackend.FLASH_ATTENTION], SDPBackend.EFFICIENT_ATTENTION,
                     [SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION]):
        with sdpa_kernel(backends, set_priority=True) as ctx:
            assert ctx == {}
            out = F.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v))
        np.testing.assert_allclose(out.data, ref, rtol=1e-5, atol=1e-6)
    for none in ([], [SDPBackend.ERROR]):      # no backend: RuntimeError, as torch's
        with torch.nn.attention.sdpa_kernel([torch.nn.attention.SDPBackend(int(b)) for b in none]):
            with pytest.raises(RuntimeError, match="No viable backend"):
                torch.nn.functional.scaled_dot_product_attention(*map(torch.from_numpy, (q, k, v)))
        with sdpa_kernel(none):
            with pytest.raises(RuntimeError, match="No viable backend"):
                F.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v))
    F.scaled_dot_product_attention(npg.tensor(q), npg.tensor(k), npg.tensor(v))   # restored on exit
    with pytest.raises(AssertionError, match="Backend must be"):
        with sdpa_kernel("math"):
            pass


@pytest.mark.parametrize("L,S", [(3, 5), (5, 5), (5, 3)])
@pytest.mark.parametrize("variant", ["causal_lower_right", "causal_upper_left"])
def test_causal_bias_vs_torch(L, S, variant):
    import npgrad.nn.attention.bias as B
    q, k, v = _qkv(L, S)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tb = getattr(torch.nn.attention.bias, variant)(L, S)
        nb = getattr(B, variant)(L, S)
    tq, tk, tv = (torch.from_numpy(a.astype(np.float64)).requires_grad_() for a in (q, k, v))
    with torch.nn.attention.sdpa_kernel(torch.nn.attention.SDPBackend.MATH):
        ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tb)
    ref.sum().backward()
    nq, nk, nv = (npg.tensor(a.astype(np.float64), requires_grad=True) for a in (q, k, v))
    out = F.scaled_dot_product_attention(nq, nk, nv, attn_mask=nb)
    out.sum().backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    for n, t in ((nq, tq), (nk, tk), (nv, tv)):
        np.testing.assert_allclose(n.grad.data, t.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(nb._materialize(), tb._materialize().numpy())
    assert int(nb.variant) == int(tb.variant)
    with pytest.raises(ValueError, match="causal=True"):
        F.scaled_dot_product_attention(nq, nk, nv, attn_mask=nb, is_causal=True)
    with pytest.raises(AssertionError):
        getattr(B, variant)(L, S, 1)
