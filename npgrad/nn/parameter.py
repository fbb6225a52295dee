"""``Parameter``: a leaf Tensor that a Module registers as one of its parameters."""
import numpy as np

from ..dtypes import get_default_dtype
from ..tensor import Tensor, _to_array


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning one to a Module attribute registers it.

    ``Parameter(data)`` shares ``data``'s memory when it is a Tensor or a NumPy array of a floating
    dtype (as PyTorch's ``nn.Parameter`` shares its tensor's storage) and requires grad by default.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=get_default_dtype())
        else:
            arr = _to_array(data, None, "Parameter")
        if requires_grad and arr.dtype.kind != "f":
            raise TypeError(f"Parameter: only floating tensors can require gradients, not {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = None
        self._vjps = None
        self._extra = None

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.data, self.requires_grad))

    def __deepcopy__(self, memo):
        p = Parameter(self.data.copy(), self.requires_grad)
        if self.grad is not None:
            p.grad = np.array(self.grad, copy=True)
        memo[id(self)] = p
        return p
