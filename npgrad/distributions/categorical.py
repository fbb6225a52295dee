"""Categorical and OneHotCategorical (torch.distributions' formulas): ``probs`` are normalized by their sum,
``logits`` by their logsumexp, over the last axis."""
import numpy as np

from .. import ops
from ..dtypes import get_default_dtype
from ..tensor import Tensor, as_tensor
from . import constraints
from .distribution import Distribution
from .utils import _draw, _full, lazy_property, logits_to_probs, probs_to_logits

__all__ = ["Categorical", "OneHotCategorical"]


def _param(name, v):
    """``probs``/``logits`` as a tensor: a float array keeps its dtype; a list, tuple or integer array gets npgrad's
    default dtype (as numbers do in ``broadcast_all``)."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (np.ndarray, list, tuple)):
        arr = np.asarray(v)
        keep = isinstance(v, np.ndarray) and arr.dtype.kind == "f"
        return as_tensor(arr if keep else arr.astype(get_default_dtype()))
    raise ValueError(f"Categorical: `{name}` must be a Tensor or array, got {type(v).__name__}")


class Categorical(Distribution):
    """A category index in ``0 .. K-1`` with probabilities ``probs`` (or ``softmax(logits)``) over the last axis."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Categorical: Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = _param("probs", probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdims=True)
        else:
            logits = _param("logits", logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - ops.logsumexp(logits, axis=-1, keepdims=True)
        self._param = self.probs if probs is not None else self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(tuple(self._param.shape[:-1]), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._expand_params(Categorical, batch_shape, ("probs", "logits"), _instance)
        new._param = new.__dict__["probs"] if "probs" in self.__dict__ else new.__dict__["logits"]
        new._num_events = self._num_events
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits)

    @property
    def param_shape(self):
        return tuple(self._param.shape)

    @property
    def mean(self):
        return _full(self._extended_shape(), np.nan, self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(axis=-1)

    @property
    def variance(self):
        return _full(self._extended_shape(), np.nan, self.probs.dtype)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = self.probs.data.astype(np.float64)
        cdf = np.cumsum(p, axis=-1)
        cdf /= cdf[..., -1:]

        def draw(g, s):
            u = g.random(s)[..., None]
            idx = (np.broadcast_to(cdf, s + cdf.shape[-1:]) <= u).sum(-1)  # inverse cdf
            return np.minimum(idx, self._num_events - 1)
        return _draw(draw, shape, np.int64)

    def log_prob(self, value):
        value = self._value(value, None)
        idx = value.data.astype(np.int64)[..., None]
        out = np.broadcast_shapes(idx.shape, self.logits.shape)
        idx = np.broadcast_to(idx, out[:-1] + (1,))
        log_pmf = ops.broadcast_to(self.logits, out)
        if (idx < 0).any() or (idx >= self._num_events).any():  # (validation off): as torch, an index error
            raise IndexError(f"Categorical.log_prob: value has entries outside 0..{self._num_events - 1}")
        return ops.take_along_axis(log_pmf, as_tensor(idx), axis=-1)[..., 0]

    def entropy(self):
        min_real = float(np.finfo(self.logits.dtype).min)
        p_log_p = self.logits.clamp(min=min_real) * self.probs
        return -p_log_p.sum(-1)

    def enumerate_support(self, expand=True):
        values = as_tensor(np.arange(self._num_events, dtype=np.int64))
        values = values.reshape(*((-1,) + (1,) * len(self._batch_shape)))
        return values.expand(*((self._num_events,) + self._batch_shape)) if expand else values


class OneHotCategorical(Distribution):
    """A one-hot vector of length K: Categorical's index as ``one_hot``."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(OneHotCategorical, _instance)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, new._categorical.batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def _param(self):
        return self._categorical._param

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        probs = self._categorical.probs
        return as_tensor(np.eye(probs.shape[-1], dtype=probs.dtype)[probs.data.argmax(-1)])

    @property
    def variance(self):
        return self._categorical.probs * (1 - self._categorical.probs)

    @property
    def param_shape(self):
        return self._categorical.param_shape

    def sample(self, sample_shape=()):
        probs = self._categorical.probs
        idx = self._categorical.sample(sample_shape).data
        return as_tensor(np.eye(self._categorical._num_events, dtype=probs.dtype)[idx])

    def log_prob(self, value):
        value = self._value(value, self._param)
        return self._categorical.log_prob(as_tensor(value.data.argmax(-1)))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self.event_shape[0]
        values = as_tensor(np.eye(n, dtype=self._param.dtype)).reshape(*((n,) + (1,) * len(self.batch_shape) + (n,)))
        return values.expand(*((n,) + self.batch_shape + (n,))) if expand else values

    def __repr__(self):
        return repr(self._categorical).replace("Categorical", "OneHotCategorical", 1)
