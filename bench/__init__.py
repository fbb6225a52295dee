"""npgrad's side-by-side benchmark suite: ``python bench/run.py`` (see run.py)."""
