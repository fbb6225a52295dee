"""``Embedding`` and ``EmbeddingBag``."""
import numpy as np

from ...autograd import versions as _versions
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..module import Module
from ._util import check_device, new_param


def _table(weight, num_embeddings, embedding_dim, name):
    """The array of a given ``_weight`` (a Tensor or an array; an ndarray's own ``.data`` is a memoryview, not
    the table), checked to be exactly (num_embeddings, embedding_dim): it is never broadcast into the table."""
    w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (num_embeddings, embedding_dim):
        raise ValueError(f"{name}: shape of _weight {tuple(w.shape)} does not match num_embeddings and "
                         f"embedding_dim ({num_embeddings}, {embedding_dim})")
    return w


def _pretrained(embeddings):
    """The 2-D array given to ``from_pretrained`` (a Tensor or an array)."""
    w = embeddings.data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
    if w.ndim != 2:
        raise ValueError("Embeddings parameter is expected to be 2-dimensional")
    return w


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``, initialized N(0, 1).

    ``padding_idx``: that row starts at zero and gets no gradient. ``max_norm``: each lookup first rescales
    (in place, without gradient) the rows it reads whose ``norm_type``-norm exceeds ``max_norm``.
    ``scale_grad_by_freq``: row gradients are divided by the row's frequency in the batch. ``sparse=True``:
    ``weight.grad`` is a :class:`npgrad.sparse.RowSparseGrad` (the rows looked up), which the optimizers
    accept (see npgrad/optim/optimizer.py)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        check_device(device, type(self).__name__)
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError("Padding_idx must be within num_embeddings")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        self.weight = new_param(num_embeddings, embedding_dim, dtype=dtype)
        if _weight is not None:
            self.weight.data[...] = _table(_weight, num_embeddings, embedding_dim, "Embedding")
            _versions.bump(self.weight.data, "Embedding")
        else:
            self.reset_parameters()
        if _freeze:
            self.weight.requires_grad_(False)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            _versions.bump(self.weight.data, "Embedding.reset_parameters")

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding (a copy of) the 2-D ``embeddings``, frozen unless ``freeze=False``."""
        w = _pretrained(embeddings)
        return cls(w.shape[0], w.shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=w, _freeze=freeze, dtype=w.dtype)


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of embeddings (``F.embedding_bag``): ``forward(input, offsets=None,
    per_sample_weights=None)`` with a 2-D input (one bag per row) or a 1-D input and bag ``offsets``."""

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None):
        check_device(device, type(self).__name__)
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError("padding_idx must be within num_embeddings")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset
        self.weight = new_param(num_embeddings, embedding_dim, dtype=dtype)
        if _weight is not None:
            self.weight.data[...] = _table(_weight, num_embeddings, embedding_dim, "EmbeddingBag")
            _versions.bump(self.weight.data, "EmbeddingBag")
        else:
            self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            _versions.bump(self.weight.data, "EmbeddingBag.reset_parameters")

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                               self.padding_idx)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        s += f", mode='{self.mode}'"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding (a copy of) the 2-D ``embeddings``, frozen unless ``freeze=False``."""
        w = _pretrained(embeddings)
        bag = cls(w.shape[0], w.shape[1], max_norm, norm_type, scale_grad_by_freq, mode, sparse, w,
                  include_last_offset, padding_idx, dtype=w.dtype)
        bag.weight.requires_grad_(not freeze)
        return bag
