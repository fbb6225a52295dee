"""Adversarial review of npgrad.data, serialization and npgrad.distributed against torch.utils.data / torch:
each test is a divergence that was found and fixed (the oracle is PyTorch's behaviour)."""
import numpy as np
import torch
import torch.utils.data as TD

import npgrad.data as ND


def _values(batches):
    return [[np.asarray(getattr(b, "data", b)).tolist() for b in batch] for batch in batches]


def test_tensor_dataset_subclass_getitem_is_used():
    """A TensorDataset subclass that overrides __getitem__ (a transform) must go through it, as in torch."""
    class Ours(ND.TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y + 10

    class Theirs(TD.TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x * 2, y + 10

    X, Y = np.arange(10.).reshape(5, 2), np.arange(5)
    theirs = _values(TD.DataLoader(Theirs(torch.tensor(X), torch.tensor(Y)), batch_size=2))
    for workers in (0, 2):
        ours = _values(ND.DataLoader(Ours(X, Y), batch_size=2, num_workers=workers))
        assert ours == theirs
