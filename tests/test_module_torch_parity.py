"""npgrad.nn.Module's state-dict machinery (extra state, state-dict and load-state-dict hooks, legacy positional
``state_dict``), dtype / device conversions (``to`` in every form, ``type``, ``half``, ``to_empty``), ``set_submodule``
and the deprecated ``register_backward_hook``, each against torch.nn.Module on equivalent models (the same classes
built on either library, torch's state dict loaded into npgrad's model)."""
import re
import warnings

import numpy as np
import pytest
import torch
import torch.nn as tnn

import npgrad as npg
import npgrad.nn as nn
from tests.helpers import assert_close


def extra_class(lib):
    """The same module with extra state, for torch.nn or npgrad.nn."""

    class Counter(lib.Module):
        def __init__(self):
            super().__init__()
            self.lin = lib.Linear(3, 2)
            self.steps = 0
            self.tag = "init"

        def forward(self, x):
            return self.lin(x)

        def get_extra_state(self):
            return {"steps": self.steps, "tag": self.tag, "table": np.arange(4) * self.steps}

        def set_extra_state(self, state):
            self.steps, self.tag, self.table = state["steps"], state["tag"], np.asarray(state["table"])

    return Counter


def build(lib):
    counter = extra_class(lib)
    return lib.Sequential(lib.Linear(4, 3), counter(), lib.BatchNorm1d(2), lib.Linear(2, 1))


def torch_pair():
    torch.manual_seed(0)
    t, m = build(tnn), build(nn)
    t[1].steps, t[1].tag = 7, "trained"
    return t, m


def to_numpy(sd):
    return {k: (v.detach().numpy() if isinstance(v, torch.Tensor) else v) for k, v in sd.items()}


def message(fn):
    """The exception ``fn()`` raises: (type name, message)."""
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value)


# ---------------------------------------------------------------------------------------------- extra state
def test_extra_state_keys_order_and_loading_match_torch():
    t, m = torch_pair()
    assert list(m.state_dict()) == list(t.state_dict())
    assert "1._extra_state" in m.state_dict()
    m.load_state_dict(to_numpy(t.state_dict()))
    assert (m[1].steps, m[1].tag) == (t[1].steps, t[1].tag)
    np.testing.assert_array_equal(m[1].table, np.arange(4) * 7)
    for k, v in t.state_dict().items():
        if k != "1._extra_state":
            assert_close(m.state_dict()[k].numpy(), v.numpy())
    x = np.random.default_rng(0).standard_normal((5, 4))
    t.eval(), m.eval()
    assert_close(m(npg.tensor(x)).numpy(), t(torch.tensor(x, dtype=torch.float32)).detach().numpy(), atol=1e-5)


def test_extra_state_strict_errors_and_incompatible_keys_match_torch():
    t, m = torch_pair()
    sd = to_numpy(t.state_dict())
    missing = {k: v for k, v in sd.items() if k != "1._extra_state"}
    tsd_missing = {k: v for k, v in t.state_dict().items() if k != "1._extra_state"}
    assert message(lambda: m.load_state_dict(missing)) == message(lambda: build(tnn).load_state_dict(tsd_missing))
    res, tres = m.load_state_dict(missing, strict=False), build(tnn).load_state_dict(tsd_missing, strict=False)
    assert res == tres and res.missing_keys == ["1._extra_state"]
    # an _extra_state entry for a module without set_extra_state is unexpected
    extra = dict(sd, **{"0._extra_state": 1})
    textra = dict(t.state_dict(), **{"0._extra_state": 1})
    assert message(lambda: m.load_state_dict(extra)) == message(lambda: build(tnn).load_state_dict(textra))
    assert m.load_state_dict(extra, strict=False) == build(tnn).load_state_dict(textra, strict=False)


def test_extra_state_round_trips_through_npgrad_save_and_load(tmp_path):
    _, m = torch_pair()
    m[1].steps, m[1].tag = 11, "saved"
    npg.save(m.state_dict(), tmp_path / "m.npz")
    loaded = npg.load(tmp_path / "m.npz")
    fresh = build(nn)
    fresh.load_state_dict(loaded)
    assert (fresh[1].steps, fresh[1].tag) == (11, "saved")
    np.testing.assert_array_equal(fresh[1].table, np.arange(4) * 11)
    for k, v in m.state_dict().items():
        if k != "1._extra_state":
            np.testing.assert_array_equal(fresh.state_dict()[k].numpy(), v.numpy())


def test_loading_torch_tensors_that_require_grad():
    """``state_dict(keep_vars=True)`` of a torch model holds Parameters: they load as torch loads them."""
    t, m = torch_pair()
    m.load_state_dict(t.state_dict(keep_vars=True))
    for k, v in t.state_dict().items():
        if k != "1._extra_state":
            np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())


def test_incompatible_keys_repr_and_non_mapping_error_match_torch():
    assert repr(nn.Linear(2, 2).load_state_dict(nn.Linear(2, 2).state_dict())) == \
        repr(tnn.Linear(2, 2).load_state_dict(tnn.Linear(2, 2).state_dict()))
    sd = {"weight": np.zeros((2, 2))}
    assert repr(nn.Linear(2, 2).load_state_dict(sd, strict=False)) == \
        repr(tnn.Linear(2, 2).load_state_dict({"weight": torch.zeros(2, 2)}, strict=False))
    assert message(lambda: nn.Linear(2, 2).load_state_dict([1])) == \
        message(lambda: tnn.Linear(2, 2).load_state_dict([1]))


def test_load_errors_order_and_text_match_torch():
    """Missing, unexpected and size-mismatch errors together: the same message, in torch's order."""
    t, m = tnn.Sequential(tnn.Linear(3, 2), tnn.Linear(2, 2)), nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2))
    tsd = dict(t.state_dict())
    del tsd["1.bias"]
    tsd["0.weight"] = torch.zeros(5, 5)
    tsd["extra"] = torch.zeros(1)
    tsd["1.sub.x"] = torch.zeros(1)
    name, text = message(lambda: m.load_state_dict(to_numpy(tsd)))
    tname, ttext = message(lambda: t.load_state_dict(tsd))
    as_tuples = re.sub(r"torch\.Size\(\[([\d, ]*)\]\)", r"(\1)", ttext)  # npgrad prints shapes as tuples
    assert (name, text) == (tname, as_tuples)


# ---------------------------------------------------------------------------------------- state_dict hooks
def record_state_dict_hooks(lib, model):
    log = []
    for name, mod in model.named_modules():
        mod.register_state_dict_pre_hook(
            lambda module, prefix, keep_vars, name=name: log.append(("pre", name, prefix, keep_vars)))
        mod.register_state_dict_post_hook(
            lambda module, sd, prefix, meta, name=name: log.append(("post", name, prefix, sorted(sd),
                                                                    meta.get("version"))))
    return log


def test_state_dict_hooks_order_and_arguments_match_torch():
    t, m = torch_pair()
    tlog, log = record_state_dict_hooks(tnn, t), record_state_dict_hooks(nn, m)
    tsd, sd = t.state_dict(prefix="net.", keep_vars=True), m.state_dict(prefix="net.", keep_vars=True)
    assert list(sd) == list(tsd)
    assert log == tlog                   # (BatchNorm's metadata version included: 2, as PyTorch's _NormBase)
    assert sd._metadata == tsd._metadata


def test_state_dict_post_hook_modifies_in_place_and_must_return_none_as_torch():
    def add_key(module, sd, prefix, meta):
        sd[prefix + "note"] = 1

    t, m = tnn.Sequential(tnn.Linear(2, 2)), nn.Sequential(nn.Linear(2, 2))
    t[0].register_state_dict_post_hook(add_key)
    h = m[0].register_state_dict_post_hook(add_key)
    assert list(m.state_dict()) == list(t.state_dict())
    h.remove()
    assert list(m.state_dict()) == ["0.weight", "0.bias"]
    t2, m2 = tnn.Linear(2, 2), nn.Linear(2, 2)
    t2.register_state_dict_post_hook(lambda *a: {})
    m2.register_state_dict_post_hook(lambda *a: {})
    assert message(m2.state_dict) == message(t2.state_dict)


def test_state_dict_positional_legacy_form_warns_as_torch():
    t, m = tnn.Sequential(tnn.Linear(2, 2)), nn.Sequential(nn.Linear(2, 2))
    with pytest.warns(FutureWarning, match="Positional args are being deprecated") as tw:
        tsd = t.state_dict({}, "p.", True)
    with pytest.warns(FutureWarning, match="Positional args are being deprecated") as w:
        sd = m.state_dict({}, "p.", True)
    assert str(w[0].message) == str(tw[0].message)
    assert list(sd) == list(tsd) == ["p.0.weight", "p.0.bias"]
    assert sd["p.0.weight"] is m[0].weight  # keep_vars
    dest = {}
    with pytest.warns(FutureWarning):
        assert m.state_dict(dest, prefix="q.") is dest
    assert list(dest) == ["q.0.weight", "q.0.bias"]
    dest = {}
    assert m.state_dict(destination=dest) is dest and list(dest) == ["0.weight", "0.bias"]


# -------------------------------------------------------------------------------------- load hooks
def record_load_hooks(model):
    log = []
    for name, mod in model.named_modules():
        def pre(module, sd, prefix, meta, strict, missing, unexpected, errors, name=name):
            log.append(("pre", name, prefix, sorted(sd), strict, list(missing), list(unexpected)))

        def post(module, keys, name=name):
            log.append(("post", name, list(keys.missing_keys), list(keys.unexpected_keys)))
        mod.register_load_state_dict_pre_hook(pre)
        mod.register_load_state_dict_post_hook(post)
    return log


def test_load_state_dict_hooks_order_and_arguments_match_torch():
    t, m = torch_pair()
    tsd = dict(t.state_dict())
    del tsd["3.bias"]
    tsd["3.unknown"] = torch.zeros(1)
    tlog, log = record_load_hooks(t), record_load_hooks(m)
    tres = t.load_state_dict(tsd, strict=False)
    res = m.load_state_dict(to_numpy(tsd), strict=False)
    assert res == tres
    assert log == tlog


def test_load_pre_hook_can_rewrite_the_state_dict_as_torch():
    def rename(module, sd, prefix, *rest):
        for k in [k for k in sd if k.startswith(prefix + "old_")]:
            sd[prefix + k[len(prefix) + 4:]] = sd.pop(k)

    t, m = tnn.Sequential(tnn.Linear(2, 2)), nn.Sequential(nn.Linear(2, 2))
    src = {"0.old_weight": torch.ones(2, 2), "0.old_bias": torch.full((2,), 3.0)}
    t[0].register_load_state_dict_pre_hook(rename)
    m[0].register_load_state_dict_pre_hook(rename)
    assert m.load_state_dict(to_numpy(src)) == t.load_state_dict(src)
    assert_close(m[0].bias.numpy(), t[0].bias.detach().numpy())
    assert_close(m[0].weight.numpy(), t[0].weight.detach().numpy())


def test_load_post_hook_edits_incompatible_keys_in_place_as_torch():
    def forgive(module, keys):
        keys.missing_keys.clear()
        keys.unexpected_keys.clear()

    def blame(module, keys):
        keys.unexpected_keys.append("invented")

    for hook in (forgive, blame):
        t, m = tnn.Linear(2, 2), nn.Linear(2, 2)
        t.register_load_state_dict_post_hook(hook)
        m.register_load_state_dict_post_hook(hook)
        tsd = {"weight": torch.ones(2, 2), "stray": torch.ones(1)}
        if hook is forgive:
            assert m.load_state_dict(to_numpy(tsd)) == t.load_state_dict(tsd)
            assert_close(m.weight.numpy(), np.ones((2, 2)))
        else:
            assert message(lambda: m.load_state_dict(to_numpy(tsd))) == message(lambda: t.load_state_dict(tsd))
    t, m = tnn.Linear(2, 2), nn.Linear(2, 2)
    t.register_load_state_dict_post_hook(lambda mod, keys: keys)
    h = m.register_load_state_dict_post_hook(lambda mod, keys: keys)
    assert message(lambda: m.load_state_dict(m.state_dict())) == message(lambda: t.load_state_dict(t.state_dict()))
    h.remove()
    m.load_state_dict(m.state_dict())


# ---------------------------------------------------------------------------------------- set_submodule
def test_set_submodule_matches_torch():
    def tree(lib):
        return lib.Sequential(lib.Sequential(lib.Linear(2, 2)), lib.Linear(2, 2))

    t, m = tree(tnn), tree(nn)
    t.set_submodule("0.0", tnn.ReLU())
    m.set_submodule("0.0", nn.ReLU())
    t.set_submodule("0.extra", tnn.Tanh())
    m.set_submodule("0.extra", nn.Tanh())
    assert [(k, type(v).__name__) for k, v in m.named_modules()] == \
        [(k, type(v).__name__) for k, v in t.named_modules()]
    for call in (lambda lib, mod: mod.set_submodule("", lib.ReLU()),
                 lambda lib, mod: mod.set_submodule("0.0", 3),
                 lambda lib, mod: mod.set_submodule("0.new", lib.ReLU(), strict=True),
                 lambda lib, mod: mod.set_submodule("1.weight", lib.ReLU()),
                 lambda lib, mod: mod.set_submodule("9.x", lib.ReLU()),
                 lambda lib, mod: mod.get_submodule("0.nothing"),
                 lambda lib, mod: mod.get_submodule("1.weight.x")):
        (name, text), (tname, ttext) = message(lambda: call(nn, m)), message(lambda: call(tnn, t))
        assert name == tname
        assert text.replace("npgrad.nn", "torch.nn").replace("npgrad", "torch") == ttext


def test_modules_remove_duplicate_matches_torch():
    def shared(lib):
        lin = lib.Linear(2, 2)
        return lib.Sequential(lin, lib.ReLU(), lin)

    for flag in (True, False):
        assert [type(x).__name__ for x in shared(nn).modules(remove_duplicate=flag)] == \
            [type(x).__name__ for x in shared(tnn).modules(remove_duplicate=flag)]
        assert [(k, type(v).__name__) for k, v in shared(nn).named_modules(prefix="net", remove_duplicate=flag)] == \
            [(k, type(v).__name__) for k, v in shared(tnn).named_modules(prefix="net", remove_duplicate=flag)]
    assert nn.Module.dump_patches == tnn.Module.dump_patches
    assert nn.Module.call_super_init == tnn.Module.call_super_init


# ---------------------------------------------------------------------------------------- dtypes / devices
TO_FORMS = [  # (npgrad args, kwargs), (torch args, kwargs)
    (((np.float64,), {}), ((torch.float64,), {})),
    ((("cpu",), {}), (("cpu",), {})),
    ((("cpu:0",), {}), (("cpu:0",), {})),
    ((("cpu", np.float64), {}), (("cpu", torch.float64), {})),
    (((), {"dtype": np.float16, "device": "cpu", "non_blocking": True}),
     ((), {"dtype": torch.float16, "device": "cpu", "non_blocking": True})),
    (((np.float64, True), {}), ((torch.float64, True), {})),
    ((("cpu", np.float64, True), {}), (("cpu", torch.float64, True), {})),
    ((("cpu",), {"dtype": np.float64}), (("cpu",), {"dtype": torch.float64})),
    (((npg.ones(2, dtype=np.float64),), {}), ((torch.ones(2, dtype=torch.float64),), {})),
    (((), {"memory_format": "channels_last"}), ((), {"memory_format": torch.channels_last})),
    (((np.float64,), {"memory_format": "contiguous_format"}),
     ((torch.float64,), {"memory_format": torch.contiguous_format})),
    (((), {}), ((), {})),
    (((torch.float64,), {}), ((torch.float64,), {})),  # a torch dtype, by name
    (((torch.device("cpu"), np.float64), {}), ((torch.device("cpu"), torch.float64), {})),
    (((), {"device": torch.device("cpu")}), ((), {"device": torch.device("cpu")})),
]
TO_ERRORS = [
    ((np.int64,), {}, (torch.int64,), {}),
    ((npg.ones(2, dtype=np.int64),), {}, (torch.ones(2, dtype=torch.int64),), {}),
    ((np.float64, "cpu"), {}, (torch.float64, "cpu"), {}),
    ((np.float32,), {"dtype": np.float32}, (torch.float32,), {"dtype": torch.float32}),
    (("cpu",), {"device": "cpu"}, ("cpu",), {"device": "cpu"}),
    ((), {"foo": 1}, (), {"foo": 1}),
    ((npg.ones(1), np.float64), {}, (torch.ones(1), torch.float64), {}),
    (("cpu", np.float32, True, True), {}, ("cpu", torch.float32, True, True), {}),
    ((), {"memory_format": "sideways"}, (), {"memory_format": "sideways"}),
    ((np.float32, "yes"), {}, (torch.float32, "yes"), {}),
]


def bn_net(lib):
    return lib.Sequential(lib.Linear(3, 4), lib.BatchNorm1d(4))


def dtypes_after(model):
    return {k: str(v.dtype).replace("torch.", "") for k, v in model.state_dict().items()}


@pytest.mark.parametrize("i", range(len(TO_FORMS)))
def test_to_forms_match_torch(i):
    (args, kw), (targs, tkw) = TO_FORMS[i]
    m, t = bn_net(nn).float(), bn_net(tnn)
    weight = m[0].weight
    assert m.to(*args, **kw) is m
    t.to(*targs, **tkw)
    assert dtypes_after(m) == dtypes_after(t)
    assert m[0].weight is weight  # converted in place, as torch's Module._apply


@pytest.mark.parametrize("i", range(len(TO_ERRORS)))
def test_to_errors_match_torch(i):
    args, kw, targs, tkw = TO_ERRORS[i]
    name, text = message(lambda: bn_net(nn).to(*args, **kw))
    tname, ttext = message(lambda: bn_net(tnn).to(*targs, **tkw))
    assert name == tname
    assert text.split(" - ")[0].replace("torch.", "") == ttext.split(" - ")[0].replace("torch.", "")


def test_to_complex_warns_as_torch():
    with pytest.warns(UserWarning, match="Complex modules are a new feature"):
        tnn.Linear(2, 2).to(torch.complex64)
    m = nn.Linear(2, 2)
    with pytest.warns(UserWarning, match="Complex modules are a new feature"):
        m.to(np.complex64)
    assert m.weight.dtype == np.complex64


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps", "meta", 0])
def test_other_devices_are_a_clear_error(device):
    """torch refuses them on a CPU-only build too (AssertionError / RuntimeError), but for "meta" (no data);
    npgrad says CPU only."""
    if device != "meta":
        with pytest.raises(Exception):
            bn_net(tnn).to(device)
    with pytest.raises(ValueError, match="CPU only"):
        bn_net(nn).to(device)
    with pytest.raises(ValueError, match="CPU only"):
        bn_net(nn).to_empty(device=device)


@pytest.mark.parametrize("method", ["cuda", "xpu", "ipu", "mtia"])
def test_accelerators_are_a_clear_error(method):
    with pytest.raises(Exception):  # torch on a CPU-only build
        getattr(tnn.Linear(2, 2), method)()
    with pytest.raises(ValueError, match="CPU only"):
        getattr(nn.Linear(2, 2), method)()


def test_half_float_double_match_torch():
    t = bn_net(tnn)
    m = bn_net(nn)
    m.load_state_dict(to_numpy(t.state_dict()))
    for meth in ("half", "double", "float", "half"):
        assert getattr(m, meth)() is m
        getattr(t, meth)()
        assert dtypes_after(m) == dtypes_after(t)
        for k, v in t.state_dict().items():
            np.testing.assert_array_equal(m.state_dict()[k].numpy(), v.numpy())


def test_bfloat16_is_a_clear_error():
    assert tnn.Linear(2, 2).bfloat16().weight.dtype == torch.bfloat16
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="bfloat16"):
        m.bfloat16()
    with pytest.raises(TypeError, match="bfloat16"):
        m.to(torch.bfloat16)
    assert m.weight.dtype == np.float64 or m.weight.dtype == npg.get_default_dtype()


@pytest.mark.parametrize("dst", [(np.float64, torch.float64), ("torch.DoubleTensor", "torch.DoubleTensor"),
                                 (np.float16, torch.float16), ("torch.FloatTensor", "torch.FloatTensor")])
def test_type_casts_every_parameter_and_buffer_as_torch(dst):
    t, m = bn_net(tnn), bn_net(nn)
    assert m.type(dst[0]) is m
    t.type(dst[1])
    assert dtypes_after(m) == dtypes_after(t)  # num_batches_tracked becomes floating too


def test_type_to_integer_with_parameters_requiring_grad_is_an_error_as_torch():
    assert message(lambda: nn.Linear(2, 2).type(np.int64)) == message(lambda: tnn.Linear(2, 2).type(torch.int64))
    m, t = nn.Linear(2, 2).requires_grad_(False), tnn.Linear(2, 2).requires_grad_(False)
    m.type(np.int64), t.type(torch.int64)
    assert dtypes_after(m) == dtypes_after(t)


@pytest.mark.parametrize("recurse", [True, False])
def test_to_empty_matches_torch(recurse):
    t, m = bn_net(tnn), bn_net(nn).float()
    m.load_state_dict(to_numpy(t.state_dict()))
    weights = [p for p in m.parameters()]
    before = {k: v.numpy().copy() for k, v in m.state_dict().items()}
    assert m.to_empty(device="cpu", recurse=recurse) is m
    t.to_empty(device="cpu", recurse=recurse)
    assert {k: (v.shape, v.dtype) for k, v in to_numpy(t.state_dict()).items()} == \
        {k: (v.shape, v.dtype) for k, v in to_numpy(m.state_dict()).items()}
    assert [p for p in m.parameters()] == weights  # the same Parameter objects
    if not recurse:  # a Sequential has no parameters of its own: nothing changes, in both
        for k, v in m.state_dict().items():
            np.testing.assert_array_equal(v.numpy(), before[k])
            np.testing.assert_array_equal(t.state_dict()[k].numpy(), before[k])
    m.to_empty(device=None)
    assert message(lambda: nn.Linear(2, 2).to_empty())[0] == message(lambda: tnn.Linear(2, 2).to_empty())[0]
    assert message(lambda: nn.Linear(2, 2).to_empty("cpu"))[0] == message(lambda: tnn.Linear(2, 2).to_empty("cpu"))[0]


def test_share_memory_and_compile_return_as_torch():
    t, m = tnn.Linear(3, 2), nn.Linear(3, 2)
    m.load_state_dict(to_numpy(t.state_dict()))
    assert (m.share_memory() is m) == (t.share_memory() is t) is True
    assert m.compile() is None and t.compile() is None
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    assert_close(m(npg.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), atol=1e-6)


# ---------------------------------------------------------------------------------------- backward hooks
@pytest.mark.parametrize("cls", ["Tanh", "ReLU", "Sigmoid"])
def test_register_backward_hook_matches_torch_on_single_op_modules(cls):
    """PyTorch's deprecated hook sees its one autograd node's gradients: for a one-op, one-input module these are
    the module's, which is what npgrad hands it (as a full backward hook, with a FutureWarning)."""
    x = np.random.default_rng(2).standard_normal((3, 4))
    seen, tseen = [], []
    t, m = getattr(tnn, cls)(), getattr(nn, cls)()
    t.register_backward_hook(lambda mod, gi, go: tseen.append((gi, go)) or tuple(g * 2 for g in gi))
    with pytest.warns(FutureWarning, match="register_full_backward_hook"):
        m.register_backward_hook(lambda mod, gi, go: seen.append((gi, go)) or tuple(g * 2 for g in gi))
    tx = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch does not warn when the input comes from an op and forward is one op
        (t(tx * 1.5) * torch.arange(4.0, dtype=torch.float64)).sum().backward()
    nx = npg.tensor(x, requires_grad=True)
    (m(nx * 1.5) * npg.arange(4.0)).sum().backward()
    assert len(seen) == len(tseen) == 1
    for a, b in zip(seen[0][0] + seen[0][1], tseen[0][0] + tseen[0][1]):
        assert_close(np.asarray(a.data if hasattr(a, "data") else a), b.numpy())
    assert_close(nx.grad.numpy() if hasattr(nx.grad, "numpy") else nx.grad, tx.grad.numpy())


def test_mixing_backward_hook_kinds_is_an_error_as_torch():
    def hook(*a):
        return None

    for first, second in (("register_backward_hook", "register_full_backward_hook"),
                          ("register_full_backward_hook", "register_backward_hook")):
        t, m = tnn.ReLU(), nn.ReLU()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            getattr(t, first)(hook)
            getattr(m, first)(hook)
            assert message(lambda: getattr(m, second)(hook)) == message(lambda: getattr(t, second)(hook))


def test_every_public_torch_module_method_exists():
    missing = [n for n in dir(tnn.Module) if not n.startswith("_") and n != "T_destination"
               and not hasattr(nn.Module, n)]
    assert not missing
    assert not [n for n in dir(tnn.Module) if not n.startswith("_") and callable(getattr(tnn.Module, n))
                and n != "T_destination" and not (getattr(nn.Module, n).__doc__ or "").strip()]


def test_a_failing_load_has_copied_the_entries_before_the_error_as_torch():
    t, m = tnn.Sequential(tnn.Linear(2, 2), tnn.Linear(2, 2)), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)).float()
    tsd = {"0.weight": torch.full((2, 2), 5.0), "0.bias": torch.full((2,), 6.0), "1.weight": torch.zeros(3, 3),
           "1.bias": torch.zeros(2)}
    with pytest.raises(RuntimeError, match="size mismatch for 1.weight"):
        t.load_state_dict(tsd)
    with pytest.raises(RuntimeError, match="size mismatch for 1.weight"):
        m.load_state_dict(to_numpy(tsd))
    for k in ("0.weight", "0.bias", "1.bias"):
        np.testing.assert_array_equal(m.state_dict()[k].numpy(), t.state_dict()[k].numpy())


def test_load_state_dict_assign_adopts_the_checkpoints_arrays_as_torch():
    """assign=True: the module takes the checkpoint's tensors (their dtype, their memory) instead of copying
    into its own, as PyTorch; requires_grad stays the module's."""
    t, m = tnn.Linear(2, 3).double(), nn.Linear(2, 3, dtype=np.float64)
    t_sd = {k: v.detach().float().clone() for k, v in t.state_dict().items()}
    sd = {k: v.numpy().copy() for k, v in t_sd.items()}
    t.load_state_dict(t_sd, assign=True)
    m.load_state_dict(sd, assign=True)
    assert m.weight.dtype == np.float32 and t.weight.dtype == torch.float32
    assert m.weight.requires_grad and t.weight.requires_grad
    sd["weight"][0, 0] = 42.0
    t_sd["weight"][0, 0] = 42.0
    assert m.weight.data[0, 0] == t.weight[0, 0].item() == 42.0      # the same memory as the checkpoint
    x = np.ones((1, 2), np.float32)
    np.testing.assert_allclose(m(x).data, t(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    m2 = nn.Linear(2, 3, dtype=np.float64)
    m2.load_state_dict(sd)                                             # assign=False: copied, dtype kept
    assert m2.weight.dtype == np.float64
    sd["weight"][0, 0] = 7.0
    assert m2.weight.data[0, 0] == 42.0
