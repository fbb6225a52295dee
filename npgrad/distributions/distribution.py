"""``Distribution``, the base of npgrad.distributions (torch.distributions.Distribution's API and checks)."""
import warnings

import numpy as np

from ..autograd import grad as _grad
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from . import constraints
from .utils import _as_value, lazy_property

__all__ = ["Distribution", "ExponentialFamily"]


def _size(shape, what):
    """``shape`` (an int or a sequence of ints) as a tuple."""
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"{what}: expected a shape (tuple of ints), got {shape!r}") from None
    if any(s < 0 for s in out):
        raise ValueError(f"{what}: negative size in {out}")
    return out


class Distribution:
    """Base class of probability distributions, as ``torch.distributions.Distribution``.

    Subclasses set ``arg_constraints``, ``support``, ``has_rsample``, ``has_enumerate_support`` and implement
    ``rsample`` (or ``sample``), ``log_prob``, ``expand`` and the statistics they have. Argument and sample
    validation is on by default (``Distribution.set_default_validate_args(False)`` turns it off everywhere,
    ``validate_args=False`` for one distribution)."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = True

    @staticmethod
    def set_default_validate_args(value):
        if value not in [True, False]:
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape = _size(batch_shape, f"{type(self).__name__}: batch_shape")
        self._event_shape = _size(event_shape, f"{type(self).__name__}: event_shape")
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                              "`arg_constraints = {}` or initialize the distribution with `validate_args=False` "
                              "to turn off validation.", stacklevel=2)
            for param, constraint in arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue  # cannot be checked
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # lazily computed from another parameter
                value = getattr(self, param)
                if not bool(np.all(constraint.check(value).data)):
                    raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape "
                                     f"{tuple(value.shape)}) of distribution {self!r} to satisfy the constraint "
                                     f"{constraint!r}, but found invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None):
        """A new distribution with ``batch_shape`` (parameters broadcast, not copied)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement expand")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    @property
    def arg_constraints(self):
        raise NotImplementedError

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self):
        raise NotImplementedError(f"{self.__class__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{self.__class__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def sample(self, sample_shape=()):
        """Samples of shape ``sample_shape + batch_shape + event_shape``, not differentiable."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        """Reparameterized samples: differentiable in the parameters (``has_rsample``)."""
        raise NotImplementedError(f"{type(self).__name__} has no rsample (has_rsample is False): use sample(), "
                                  "which is not differentiable")

    def log_prob(self, value):
        raise NotImplementedError

    def cdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement cdf")

    def icdf(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement icdf")

    def enumerate_support(self, expand=True):
        raise NotImplementedError(f"{type(self).__name__} does not implement enumerate_support")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        """``sample_shape + batch_shape + event_shape``."""
        return _size(sample_shape, f"{type(self).__name__}: sample_shape") + self._batch_shape + self._event_shape

    def _value(self, value, like):
        """``value`` as a tensor (numbers and arrays get ``like``'s dtype), validated when validation is on."""
        value = _as_value(value, like)
        if self._validate_args:
            self._validate_sample(value)
        return value

    def _validate_sample(self, value):
        """Raise ValueError unless ``value`` fits ``event_shape``, broadcasts with ``batch_shape`` and lies in
        the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        shape, ev = tuple(value.shape), self._event_shape
        if shape[len(shape) - len(ev):] != ev:
            raise ValueError(f"The right-most size of value must match event_shape: {shape} vs {ev}.")
        expected = self._batch_shape + ev
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {shape} vs {expected}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample validation. Please "
                          "initialize the distribution with `validate_args=False` to turn off validation.",
                          stacklevel=2)
            return
        if not bool(np.all(support.check(value).data)):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {shape}) to be within the "
                             f"support ({support!r}) of the distribution {self!r}, but found invalid values:\n"
                             f"{value}")

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom "
                                      "__init__ method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    def _expand_params(self, cls, batch_shape, names, _instance=None, event_shape=None):
        """``expand`` for a distribution whose parameters ``names`` have shape ``batch_shape (+ event dims)``:
        each parameter present on self expanded onto the new instance, as torch's per-class ``expand``."""
        new = self._get_checked_instance(cls, _instance)
        batch_shape = _size(batch_shape, f"{cls.__name__}.expand")
        for name in names:
            if name in self.__dict__:
                p = self.__dict__[name]
                extra = tuple(p.shape[len(self._batch_shape):])
                setattr(new, name, p.expand(*(batch_shape + extra)))
        Distribution.__init__(new, batch_shape, self._event_shape if event_shape is None else event_shape,
                              validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _expand_base(self, cls, batch_shape, _instance=None):
        """``expand`` for a distribution built on a ``base_dist`` with the same batch shape (HalfNormal,
        HalfCauchy, LogNormal): the base expanded onto the new instance."""
        new = self._get_checked_instance(cls, _instance)
        new.base_dist = self.base_dist.expand(batch_shape)
        Distribution.__init__(new, new.base_dist.batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def __repr__(self):
        names = [k for k in self.arg_constraints if k in self.__dict__]
        args = ", ".join(f"{p}: {self.__dict__[p] if self.__dict__[p].size == 1 else tuple(self.__dict__[p].shape)}"
                         for p in names)
        return f"{self.__class__.__name__}({args})"


class ExponentialFamily(Distribution):
    """Base of exponential families (torch's ``ExponentialFamily``); ``kl_divergence`` between two different
    ones raises NotImplementedError as torch. Subclasses may define ``_natural_params`` and
    ``_log_normalizer(*natural_params)`` (then the Bregman-divergence KL between two of the same family works) and
    ``_mean_carrier_measure`` (then the generic ``entropy`` does)."""

    def _bregman_terms(self):
        """The natural parameters, the log normalizer A at them and grad A, all differentiable in this
        distribution's parameters (torch detaches the natural parameters first, so its Bregman KL has no
        gradient in p's parameters and its generic entropy none at all)."""
        with enable_grad():
            nparams = []
            for t in self._natural_params:
                if not t.requires_grad:
                    t = t.detach()
                    t.requires_grad = True
                nparams.append(t)
            lg_normal = self._log_normalizer(*nparams)
            grads = _grad(lg_normal.sum(), nparams, create_graph=True)
        return nparams, lg_normal, grads

    def entropy(self):
        """``A(eta) - <eta, grad A(eta)> - E[carrier measure]`` (torch's generic exponential-family entropy)."""
        result = -self._mean_carrier_measure
        nparams, lg_normal, grads = self._bregman_terms()
        result = lg_normal + result
        for t, g in zip(nparams, grads):
            result = result - (t * g).reshape(*(self._batch_shape + (-1,))).sum(-1)
        return result

    @property
    def _natural_params(self):
        raise NotImplementedError

    def _log_normalizer(self, *natural_params):
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy (no _mean_carrier_measure "
                                  "for the generic exponential-family entropy)")
