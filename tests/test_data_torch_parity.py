"""npgrad.data against torch.utils.data (the oracle): DataLoader's signature, batches (values, dtypes,
structure) and len() for every configuration without randomness (batch sizes incl. None, drop_last, sampler,
batch_sampler, collate_fn, each kind of dataset, 0 and 2 workers), the errors (type and message),
default_convert, the dataset classes, and the samplers (WeightedRandomSampler statistically: its random
numbers cannot be torch's)."""
import inspect
from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as TD

import npgrad as npg
import npgrad.data as ND

Pair = namedtuple("Pair", ["a", "b"])


# ------------------------------------------------------------------------------------------- comparing
def _norm(obj):
    """A batch as plain data: Tensors (npgrad or torch) as (dtype, shape, values); containers with their type."""
    if isinstance(obj, npg.Tensor):
        a = np.asarray(obj.data)
        return ("Tensor", a.dtype.str, a.shape, a.tolist())
    if isinstance(obj, torch.Tensor):
        a = obj.numpy()
        return ("Tensor", a.dtype.str, a.shape, a.tolist())
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.dtype.str, obj.shape, obj.tolist())
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, tuple(_norm(o) for o in obj))
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, [_norm(o) for o in obj])
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, _norm(v)) for k, v in obj.items()])
    return (type(obj).__name__, obj)


def _same_batches(ours, theirs):
    a, b = [_norm(x) for x in ours], [_norm(x) for x in theirs]
    assert len(a) == len(b), (len(a), len(b))
    for i, (u, v) in enumerate(zip(a, b)):
        assert u == v, f"batch {i}:\nnpgrad {u}\ntorch  {v}"


# ------------------------------------------------------------------------------------------- datasets
X = np.arange(33, dtype=np.float32).reshape(11, 3)
Y = np.arange(11, dtype=np.int64) * 3


class _Items:
    """Samples of every kind default_collate handles: a dict of an array, a NumPy scalar, a Python float, an
    int, a string, a named tuple and a tuple."""

    def __len__(self):
        return 11

    def __getitem__(self, i):
        return {"x": np.full((2,), i, np.float64), "s": np.float32(i / 4), "f": i / 2, "n": i,
                "name": f"item{i}", "p": Pair(np.int32(i), [i, -i]), "t": (i, np.array([i, i + 1]))}


class NpgItems(_Items, ND.Dataset):
    pass


class TorchItems(_Items, TD.Dataset):
    pass


def _range_iter(self, worker_info):
    lo, hi = self.start, self.end
    if worker_info is not None:   # contiguous shards of ceil(n / K): unequal when K does not divide n
        per = -(-(hi - lo) // worker_info.num_workers)
        lo = lo + worker_info.id * per
        hi = min(hi, lo + per)
    for i in range(lo, hi):
        yield np.array([i, i * i], dtype=np.float32), i


class NpgRange(ND.IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return _range_iter(self, ND.get_worker_info())


class TorchRange(TD.IterableDataset):
    def __init__(self, start, end):
        self.start, self.end = start, end

    def __iter__(self):
        return _range_iter(self, TD.get_worker_info())


class NpgSizedRange(NpgRange):
    def __len__(self):
        return self.end - self.start


class TorchSizedRange(TorchRange):
    def __len__(self):
        return self.end - self.start


def _tensor_pair():
    return (ND.TensorDataset(X, Y), TD.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)))


def _datasets(kind):
    """The same dataset built with npgrad's classes and with torch's."""
    if kind == "tensor":
        return _tensor_pair()
    if kind == "array":
        return X, torch.from_numpy(X)
    if kind == "items":
        return NpgItems(), TorchItems()
    if kind == "subset":
        a, b = _tensor_pair()
        return ND.Subset(a, [9, 2, 4, 7, 0]), TD.Subset(b, [9, 2, 4, 7, 0])
    if kind == "concat":
        a, b = _tensor_pair()
        return ND.ConcatDataset([a, ND.Subset(a, [5, 1, 3])]), TD.ConcatDataset([b, TD.Subset(b, [5, 1, 3])])
    if kind == "stack":
        a, b = _tensor_pair()
        return ND.StackDataset(a, NpgItems()), TD.StackDataset(b, TorchItems())
    if kind == "stack_dict":
        a, b = _tensor_pair()
        return ND.StackDataset(u=a, v=NpgItems()), TD.StackDataset(u=b, v=TorchItems())
    if kind == "iterable":
        return NpgRange(0, 11), TorchRange(0, 11)
    if kind == "sized_iterable":
        return NpgSizedRange(0, 11), TorchSizedRange(0, 11)
    if kind == "chain":
        return (ND.ChainDataset([NpgSizedRange(0, 5), NpgSizedRange(20, 27)]),
                TD.ChainDataset([TorchSizedRange(0, 5), TorchSizedRange(20, 27)]))
    raise ValueError(kind)


def keep_list(batch):
    """A collate_fn that leaves the samples as they are."""
    return batch


def count_and_first(batch):
    """A collate_fn returning plain Python values."""
    return len(batch), batch[0]


MAP_KINDS = ["tensor", "array", "items", "subset", "concat", "stack", "stack_dict"]
CONFIGS = {
    "bs1": dict(),
    "bs3": dict(batch_size=3),
    "bs4_drop": dict(batch_size=4, drop_last=True),
    "bs20": dict(batch_size=20),
    "bs20_drop": dict(batch_size=20, drop_last=True),
    "none": dict(batch_size=None),
    "sampler": dict(batch_size=2, sampler=[4, 0, 2, 2, 1]),
    "sampler_none": dict(batch_size=None, sampler=[3, 1, 4]),
    "batch_sampler": dict(batch_sampler=[[0, 1], [4, 2, 3], [1]]),
    "collate_keep": dict(batch_size=3, collate_fn=keep_list),
    "collate_count": dict(batch_size=4, collate_fn=count_and_first),
    "collate_none": dict(batch_size=None, collate_fn=keep_list),
    "shuffle_false": dict(batch_size=3, shuffle=False),
}


def _loaders(kind, config, **extra):
    ours, theirs = _datasets(kind)
    return ND.DataLoader(ours, **config, **extra), TD.DataLoader(theirs, **config, **extra)


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("kind", MAP_KINDS)
def test_map_style_batches_and_len_as_torch(kind, config):
    ours, theirs = _loaders(kind, CONFIGS[config])
    assert len(ours) == len(theirs)
    _same_batches(list(ours), list(theirs))
    _same_batches(list(ours), list(theirs))   # a second epoch


def test_own_batch_sampler_and_samplers_as_torch():
    a, b = _tensor_pair()
    for drop_last in (False, True):
        ours = ND.DataLoader(a, batch_sampler=ND.BatchSampler(ND.SequentialSampler(a), 4, drop_last))
        theirs = TD.DataLoader(b, batch_sampler=TD.BatchSampler(TD.SequentialSampler(b), 4, drop_last))
        assert len(ours) == len(theirs) and ours.batch_size is None and theirs.batch_size is None
        _same_batches(list(ours), list(theirs))
        for n in (0, 1, 7, 8, 9):
            assert list(ND.BatchSampler(range(n), 4, drop_last)) == list(TD.BatchSampler(range(n), 4, drop_last))
            assert len(ND.BatchSampler(range(n), 4, drop_last)) == len(TD.BatchSampler(range(n), 4, drop_last))
    assert list(ND.SequentialSampler(a)) == list(TD.SequentialSampler(b))


def test_positional_arguments_in_torch_order():
    a, b = _tensor_pair()
    # (dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory, drop_last)
    args = ([6, 1, 0, 3, 2], None, 0, keep_list, False, True)
    ours, theirs = ND.DataLoader(a, 2, False, *args), TD.DataLoader(b, 2, False, *args)
    assert ours.drop_last and ours.sampler == [6, 1, 0, 3, 2] and ours.collate_fn is keep_list
    assert len(ours) == len(theirs) == 2
    _same_batches(list(ours), list(theirs))


def test_signatures_are_torchs_plus_keyword_only_seed():
    ours = list(inspect.signature(ND.DataLoader.__init__).parameters.values())
    theirs = list(inspect.signature(TD.DataLoader.__init__).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours[:-1]] == [(p.name, p.kind, p.default) for p in theirs]
    assert ours[-1].name == "seed" and ours[-1].kind is inspect.Parameter.KEYWORD_ONLY and ours[-1].default is None
    ours = [(p.name, p.kind) for p in inspect.signature(ND.random_split).parameters.values()]
    assert ours[:-1] == [(p.name, p.kind) for p in inspect.signature(TD.random_split).parameters.values()]
    assert ours[-1] == ("seed", inspect.Parameter.KEYWORD_ONLY)
    for name in ("BatchSampler", "SubsetRandomSampler", "WeightedRandomSampler", "ConcatDataset", "ChainDataset",
                 "StackDataset", "SequentialSampler", "RandomSampler", "DistributedSampler", "Subset"):
        ours = [(p.name, p.kind) for p in inspect.signature(getattr(ND, name).__init__).parameters.values()]
        theirs = [(p.name, p.kind) for p in inspect.signature(getattr(TD, name).__init__).parameters.values()]
        assert ours == theirs, name


ITER_CONFIGS = {
    "bs1": dict(),
    "bs3": dict(batch_size=3),
    "bs3_drop": dict(batch_size=3, drop_last=True),
    "none": dict(batch_size=None),
    "collate_keep": dict(batch_size=4, collate_fn=keep_list),
    "collate_none": dict(batch_size=None, collate_fn=keep_list),
}


@pytest.mark.parametrize("config", list(ITER_CONFIGS))
@pytest.mark.parametrize("kind", ["iterable", "sized_iterable", "chain"])
def test_iterable_datasets_as_torch(kind, config):
    ours, theirs = _loaders(kind, ITER_CONFIGS[config])
    _same_batches(list(ours), list(theirs))
    if kind == "iterable":
        with pytest.raises(TypeError):
            len(theirs)
        with pytest.raises(TypeError):
            len(ours)
    else:
        assert len(ours) == len(theirs)


@pytest.mark.parametrize("kind, config", [
    ("tensor", dict(batch_size=3)),
    ("items", dict(batch_size=None)),
    ("stack_dict", dict(batch_sampler=[[0, 1], [5, 2, 3], [7]], in_order=False)),
    ("iterable", dict(batch_size=2)),         # shards of 6 and 5: the workers' batches alternate
    ("iterable", dict(batch_size=2, drop_last=True)),
    ("chain", dict(batch_size=None)),
    pytest.param("iterable", dict(batch_size=None, num_workers=3),   # shards of 4, 4 and 3 samples
                 marks=pytest.mark.filterwarnings("ignore:This DataLoader will create 3 worker")),
])
def test_workers_as_torch(kind, config):
    config = {"num_workers": 2, **config}
    ours, theirs = _loaders(kind, config)
    got, want = list(ours), list(theirs)
    if config.get("in_order") is False:   # torch may then yield batches as they come: compare as sets
        assert sorted(map(repr, map(_norm, got))) == sorted(map(repr, map(_norm, want)))
        in_main = dict(config, num_workers=0)
        assert [_norm(b) for b in got] == [_norm(b) for b in ND.DataLoader(_datasets(kind)[0], **in_main)]
    else:
        _same_batches(got, want)


def test_iterable_with_persistent_workers_restarts_each_epoch():
    ours = ND.DataLoader(NpgRange(0, 7), batch_size=2, num_workers=2, persistent_workers=True)
    theirs = TD.DataLoader(TorchRange(0, 7), batch_size=2, num_workers=2, persistent_workers=True)
    for _ in range(2):
        _same_batches(list(ours), list(theirs))


# ------------------------------------------------------------------------------------------- errors
def _errors_match(make_ours, make_theirs):
    with pytest.raises(Exception) as theirs:
        make_theirs()
    with pytest.raises(Exception) as ours:
        make_ours()
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    assert str(ours.value) == str(theirs.value)


BS = [[0, 1], [2]]
LOADER_ERRORS = {
    "batch_sampler_batch_size": dict(batch_sampler=BS, batch_size=2),
    "batch_sampler_batch_size_none": dict(batch_sampler=BS, batch_size=None),
    "batch_sampler_shuffle": dict(batch_sampler=BS, shuffle=True),
    "batch_sampler_sampler": dict(batch_sampler=BS, sampler=[0, 1]),
    "batch_sampler_drop_last": dict(batch_sampler=BS, drop_last=True),
    "sampler_shuffle": dict(sampler=[0, 1], shuffle=True),
    "none_drop_last": dict(batch_size=None, drop_last=True),
    "batch_size_0": dict(batch_size=0),
    "batch_size_neg": dict(batch_size=-2),
    "batch_size_float": dict(batch_size=2.5),
    "batch_size_bool": dict(batch_size=True),
    "drop_last_int": dict(batch_size=2, drop_last=1),
    "num_workers": dict(num_workers=-1),
    "timeout": dict(timeout=-1),
    "prefetch_without_workers": dict(prefetch_factor=2),
    "persistent_without_workers": dict(persistent_workers=True),
}


@pytest.mark.parametrize("name", list(LOADER_ERRORS))
def test_loader_errors_as_torch(name):
    a, b = _tensor_pair()
    _errors_match(lambda: ND.DataLoader(a, **LOADER_ERRORS[name]), lambda: TD.DataLoader(b, **LOADER_ERRORS[name]))


@pytest.mark.parametrize("kwargs", [dict(shuffle=True), dict(sampler=[0, 1]), dict(batch_sampler=BS)],
                         ids=["shuffle", "sampler", "batch_sampler"])
def test_iterable_dataset_errors_as_torch(kwargs):
    with pytest.raises(ValueError) as theirs:
        TD.DataLoader(TorchRange(0, 3), **kwargs)
    with pytest.raises(ValueError) as ours:
        ND.DataLoader(NpgRange(0, 3), **kwargs)
    assert str(ours.value) == str(theirs.value) and "expected unspecified" in str(ours.value)
    _same_batches(ND.DataLoader(NpgRange(0, 3), shuffle=False), TD.DataLoader(TorchRange(0, 3), shuffle=False))


def test_dataset_errors_as_torch():
    a, b = _tensor_pair()
    _errors_match(lambda: ND.ConcatDataset([]), lambda: TD.ConcatDataset([]))
    _errors_match(lambda: ND.ConcatDataset([a, NpgRange(0, 2)]), lambda: TD.ConcatDataset([b, TorchRange(0, 2)]))
    cat_a, cat_b = ND.ConcatDataset([a, a]), TD.ConcatDataset([b, b])
    _errors_match(lambda: cat_a[-23], lambda: cat_b[-23])
    _errors_match(lambda: cat_a[22], lambda: cat_b[22])
    _errors_match(lambda: ND.StackDataset(a, v=a), lambda: TD.StackDataset(b, v=b))
    _errors_match(lambda: ND.StackDataset(), lambda: TD.StackDataset())
    _errors_match(lambda: ND.StackDataset(a, ND.Subset(a, [0])), lambda: TD.StackDataset(b, TD.Subset(b, [0])))
    _errors_match(lambda: list(ND.ChainDataset([NpgRange(0, 2), a])),
                  lambda: list(TD.ChainDataset([TorchRange(0, 2), b])))
    _errors_match(lambda: len(ND.ChainDataset([a])), lambda: len(TD.ChainDataset([b])))
    _errors_match(lambda: ND.Dataset()[0], lambda: TD.Dataset()[0])
    _errors_match(lambda: len(ND.Dataset()), lambda: len(TD.Dataset()))


def test_dataset_indexing_and_add_as_torch():
    a, b = _tensor_pair()
    cat_a, cat_b = a + ND.Subset(a, [3, 4]), b + TD.Subset(b, [3, 4])
    assert type(cat_a) is ND.ConcatDataset and len(cat_a) == len(cat_b) == 13
    assert cat_a.cumulative_sizes == cat_b.cumulative_sizes
    for i in list(range(-13, 13)):
        assert _norm(cat_a[i]) == _norm(cat_b[i]), i
    chain_a, chain_b = NpgSizedRange(0, 2) + NpgSizedRange(5, 7), TorchSizedRange(0, 2) + TorchSizedRange(5, 7)
    assert type(chain_a) is ND.ChainDataset and len(chain_a) == len(chain_b) == 4
    _same_batches(list(chain_a), list(chain_b))
    for ours, theirs in [_datasets("stack"), _datasets("stack_dict")]:
        assert len(ours) == len(theirs)
        for i in range(len(ours)):
            assert _norm(ours[i]) == _norm(theirs[i])


# ------------------------------------------------------------------------------------------- default_convert
CONVERT_CASES = {
    "int": 3, "float": 2.5, "str": "abc", "array": np.arange(4), "array_f32": np.ones((2, 2), np.float32),
    "np_scalar": np.float32(1.5), "np_int": np.int16(7), "np_bool": np.bool_(True), "np_str": np.str_("x"),
    "str_array": np.array(["a", "b"]), "object_array": np.array([1, None], dtype=object),
    "dict": {"a": np.arange(2), "b": 1}, "ordered_dict": OrderedDict(b=np.arange(2), a="s"),
    "namedtuple": Pair(np.arange(2), 3), "tuple": (np.arange(2), 1.0), "list": [np.arange(2), "s", [np.int64(1)]],
    "nested": {"x": [(np.zeros(1), {"y": np.float64(2)})]}, "none": None,
}


@pytest.mark.parametrize("name", list(CONVERT_CASES))
def test_default_convert_as_torch(name):
    sample = CONVERT_CASES[name]
    assert _norm(ND.default_convert(sample)) == _norm(TD.default_convert(sample))


# ------------------------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("args", [(range(5), 1), (range(5), False, 0), (range(5), False, 2.0), (range(0),),
                                  (range(5), True, -1)])
def test_random_sampler_errors_as_torch(args):
    _errors_match(lambda: ND.RandomSampler(*args), lambda: TD.RandomSampler(*args))


def test_shuffle_on_an_empty_dataset_is_torchs_error():
    _errors_match(lambda: ND.DataLoader(ND.TensorDataset(np.zeros(0)), shuffle=True),
                  lambda: TD.DataLoader(TD.TensorDataset(torch.zeros(0)), shuffle=True))


@pytest.mark.parametrize("replacement, num_samples", [(False, None), (False, 3), (False, 13), (True, None), (True, 40)])
def test_random_sampler_as_torch(replacement, num_samples):
    n = 5
    ours = ND.RandomSampler(range(n), replacement, num_samples, np.random.default_rng(0))
    theirs = TD.RandomSampler(range(n), replacement, num_samples)
    assert len(ours) == len(theirs) == (num_samples or n) and ours.num_samples == theirs.num_samples
    for sampler in (ours, theirs):
        out = list(sampler)
        assert len(out) == len(sampler) and all(type(i) is int and 0 <= i < n for i in out)
        if not replacement:   # whole permutations, then the start of one
            blocks = [out[i:i + n] for i in range(0, len(out), n)]
            assert all(len(set(b)) == len(b) for b in blocks) and all(len(b) == n for b in blocks[:-1])
    a, b = _tensor_pair()
    loader = ND.DataLoader(a, batch_size=3, sampler=ND.RandomSampler(a, replacement, num_samples))
    tloader = TD.DataLoader(b, batch_size=3, sampler=TD.RandomSampler(b, replacement, num_samples))
    assert len(loader) == len(tloader)
    assert [tuple(x[0].shape) for x in loader] == [tuple(x[0].shape) for x in tloader]


def test_random_sampler_with_replacement_is_uniform():
    out = np.array(list(ND.RandomSampler(range(4), True, 40000, np.random.default_rng(5))))
    freq = np.bincount(out, minlength=4) / out.size
    assert np.all(np.abs(freq - 0.25) < 5 * np.sqrt(0.25 * 0.75 / out.size)), freq


def test_subset_random_sampler():
    indices = [7, 3, 3, 10, 5]
    s = ND.SubsetRandomSampler(indices, generator=np.random.default_rng(0))
    assert len(s) == len(TD.SubsetRandomSampler(indices)) == 5
    first, second = list(s), list(s)
    assert sorted(first) == sorted(second) == sorted(indices) == sorted(TD.SubsetRandomSampler(indices))
    again = ND.SubsetRandomSampler(indices, generator=np.random.default_rng(0))
    assert list(again) == first and list(again) == second   # the generator decides
    orders = {tuple(ND.SubsetRandomSampler(list(range(6)))) for _ in range(40)}
    assert len(orders) > 10   # a new order each pass
    a, _ = _tensor_pair()
    loader = ND.DataLoader(a, batch_size=2, sampler=ND.SubsetRandomSampler([1, 4, 8]))
    assert len(loader) == 2 and sorted(np.concatenate([b[1].data for b in loader]).tolist()) == [3, 12, 24]


@pytest.mark.parametrize("args", [
    ([1.0, 2.0], 0, True), ([1.0, 2.0], -1, True), ([1.0, 2.0], 2.0, True), ([1.0, 2.0], True, True),
    ([1.0, 2.0], 2, 1), ([1.0, 2.0], 2, None), ([[1.0, 2.0]], 1, True), (1.0, 1, True)])
def test_weighted_sampler_argument_errors_as_torch(args):
    _errors_match(lambda: ND.WeightedRandomSampler(*args), lambda: TD.WeightedRandomSampler(*args))


@pytest.mark.parametrize("args", [
    ([-1.0, 1.0], 1, True), ([0.0, 0.0], 1, True), ([1.0, 2.0], 3, False), ([1.0, np.nan], 1, True),
    ([np.inf, 1.0], 1, False), ([0.0, 0.0], 1, False)])
def test_weighted_sampler_sampling_errors_as_torch(args):
    _errors_match(lambda: list(ND.WeightedRandomSampler(*args)), lambda: list(TD.WeightedRandomSampler(*args)))


def test_weighted_sampler_exact_behaviour_as_torch():
    w = [0.0, 1.0, 0.0, 0.0, 2.0, 0.0]
    for n, replacement in [(1, True), (5, True), (2, False), (4, False), (6, False)]:
        ours, theirs = ND.WeightedRandomSampler(w, n, replacement), TD.WeightedRandomSampler(w, n, replacement)
        assert len(ours) == len(theirs) == n
        for sampler in (ours, theirs):
            for _ in range(20):
                out = list(sampler)
                assert len(out) == n and all(type(i) is int and 0 <= i < 6 for i in out)
                if replacement:
                    assert set(out) <= {1, 4}                              # weight zero: never drawn
                else:
                    assert len(set(out)) == n and set(out[:2]) == {1, 4}   # positive weights first
    one = [0.0, 0.0, 5.0]
    assert list(ND.WeightedRandomSampler(one, 4)) == list(TD.WeightedRandomSampler(one, 4)) == [2, 2, 2, 2]
    assert list(ND.WeightedRandomSampler(npg.tensor(one), 2)) == [2, 2]   # weights may be a Tensor
    g = [ND.WeightedRandomSampler([1.0, 2.0, 3.0], 8, generator=np.random.default_rng(1)) for _ in range(2)]
    assert list(g[0]) == list(g[1])


def _frequencies(sampler, repeats, size, first_only=False):
    counts = np.zeros(size)
    for _ in range(repeats):
        out = list(sampler)
        np.add.at(counts, out[:1] if first_only else out, 1)
    return counts


@pytest.mark.parametrize("replacement, num_samples, repeats, first_only", [
    (True, 20000, 1, False),     # independent draws: frequencies ~ w / sum(w)
    (False, 2, 3000, False),     # 2 of 5 without replacement: how often each index is among them
    (False, 5, 3000, True),      # a full permutation: which index comes first
])
def test_weighted_sampler_distribution_matches_torch(replacement, num_samples, repeats, first_only):
    w = [1.0, 2.0, 3.0, 4.0, 10.0] if not replacement else [0.5, 0.0, 2.0, 3.0, 4.5]
    ours = _frequencies(ND.WeightedRandomSampler(w, num_samples, replacement, generator=np.random.default_rng(3)),
                        repeats, len(w), first_only)
    torch.manual_seed(3)
    theirs = _frequencies(TD.WeightedRandomSampler(w, num_samples, replacement), repeats, len(w), first_only)
    draws = num_samples * repeats if not first_only else repeats
    p_ours, p_theirs = ours / draws, theirs / draws
    if replacement or first_only:   # exact probabilities known: w / sum(w)
        p = np.asarray(w) / sum(w)
        sigma = np.sqrt(p * (1 - p) / draws) + 1e-12
        assert np.all(np.abs(p_ours - p) < 5 * sigma), (p_ours, p)
        assert np.all(np.abs(p_theirs - p) < 5 * sigma), (p_theirs, p)   # (the oracle itself)
    sigma = np.sqrt((p_ours * (1 - np.minimum(p_ours, 1)) + p_theirs * (1 - np.minimum(p_theirs, 1))) / draws)
    assert np.all(np.abs(p_ours - p_theirs) < 5 * sigma + 1e-3), (p_ours, p_theirs)


def test_weighted_sampler_in_a_loader():
    a, b = _tensor_pair()
    sampler = ND.WeightedRandomSampler([0.0] * 10 + [1.0], 6)
    loader = ND.DataLoader(a, batch_size=4, sampler=sampler)
    tloader = TD.DataLoader(b, batch_size=4, sampler=TD.WeightedRandomSampler([0.0] * 10 + [1.0], 6))
    assert len(loader) == len(tloader) == 2
    _same_batches(list(loader), list(tloader))   # only index 10 can be drawn


@pytest.mark.parametrize("name", ["batch_size", "sampler", "batch_sampler", "drop_last", "dataset",
                                  "persistent_workers"])
def test_loader_attributes_fixed_after_init_as_torch(name):
    a, b = _tensor_pair()
    ours, theirs = ND.DataLoader(a), TD.DataLoader(b)
    _errors_match(lambda: setattr(ours, name, None), lambda: setattr(theirs, name, None))
    ours.num_workers = theirs.num_workers = 0   # the others can change
    _same_batches(list(ours), list(theirs))


def test_pin_memory_device_and_in_order_are_accepted():
    a, b = _tensor_pair()
    ours = ND.DataLoader(a, batch_size=4, pin_memory=True, pin_memory_device="cpu", in_order=False)
    theirs = TD.DataLoader(b, batch_size=4, in_order=False)
    assert ours.pin_memory_device == "cpu" and ours.in_order is False
    _same_batches(list(ours), list(theirs))


@pytest.mark.parametrize("lengths", [[0.3, 0.3, 0.4], [0.5, 0.5], [0.1] * 10, [0.33, 0.33, 0.34], [4, 7], [11, 0]])
def test_random_split_lengths_as_torch(lengths):
    a, b = _tensor_pair()
    ours = ND.random_split(a, lengths, np.random.default_rng(0))
    theirs = TD.random_split(b, lengths, torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s.indices) == list(range(11))


@pytest.mark.parametrize("lengths", [[5, 5], [0.5, 0.6]])
def test_random_split_errors_as_torch(lengths):
    a, b = _tensor_pair()
    _errors_match(lambda: ND.random_split(a, lengths), lambda: TD.random_split(b, lengths))
