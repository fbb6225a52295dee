"""Silent wrong answers found in npgrad.data and npgrad.serialization, checked against torch.utils.data and
torch.save / torch.load (the oracles)."""
import numpy as np
import pytest
import torch
import torch.utils.data as TD

import npgrad.data as ND


# ------------------------------------------------------------------------------------------- DataLoader
@pytest.mark.parametrize("indices", [[0.5, 1.7, 3.2], np.array([1.9, 2.9]), [True, False]])
@pytest.mark.parametrize("how", ["sampler", "batch_sampler"])
def test_tensor_dataset_indices_that_are_not_integers_are_not_truncated(indices, how):
    """A TensorDataset is batched by indexing its arrays at once; float indices from a user's sampler were cast
    to int64 there (1.7 -> row 1, True -> row 1) where torch (and npgrad's item-by-item path) raise or index
    item by item. Now both give torch's outcome: the same error type, or the same batch."""
    X = np.arange(10.0)
    kw = dict(sampler=indices, batch_size=2) if how == "sampler" else dict(batch_sampler=[indices])
    try:
        theirs = [b[0].tolist() for b in TD.DataLoader(TD.TensorDataset(torch.tensor(X)), **kw)]
    except Exception as e:   # noqa: BLE001 (the oracle's outcome, whatever it is)
        with pytest.raises(type(e)):
            list(ND.DataLoader(ND.TensorDataset(X), **kw))
    else:
        assert [b[0].data.tolist() for b in ND.DataLoader(ND.TensorDataset(X), **kw)] == theirs


def test_tensor_dataset_integer_indices_from_a_sampler_still_batch_as_torch():
    X, y = np.arange(20.0).reshape(10, 2).astype(np.float32), np.arange(10)
    sampler = np.array([9, 0, 4, 4, -1])
    theirs = [[t.tolist() for t in b] for b in TD.DataLoader(TD.TensorDataset(torch.tensor(X), torch.tensor(y)),
                                                              sampler=sampler, batch_size=2)]
    ours = list(ND.DataLoader(ND.TensorDataset(X, y), sampler=sampler, batch_size=2))
    assert [[t.data.tolist() for t in b] for b in ours] == theirs
    assert ours[0][0].dtype == np.float32 and ours[0][1].dtype == np.int64
