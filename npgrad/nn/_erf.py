"""The error function's kernels moved to npgrad/ops/_erf.py (they serve npg.special too); this name stays
for the code that imports it from here."""
from ..ops._erf import erf, erfc, erfc_nonneg, normal_cdf  # noqa: F401
