"""``torch.nn.utils.convert_parameters``: parameters to one vector and back (defined in ``npgrad.nn.utils``)."""
from . import parameters_to_vector, vector_to_parameters  # noqa: F401

__all__ = ["parameters_to_vector", "vector_to_parameters"]
