"""The course's tools, run from the repository's root: ``python -m tools.bench``
(the benchmark), ``python tools/run_notebooks.py``, ``python tools/bench_labsite.py``."""
