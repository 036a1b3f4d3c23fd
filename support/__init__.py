"""Support package of the course "Corrutinas": the local web site, link
helpers, timeline plots, exercise checkers and the reference code that later
notebooks and the benchmark reuse. Notebooks import it; they never copy it."""

# The switch CORRUTINAS_SIN_PROC=1 (behave as on macOS/Windows) takes effect
# when osutil is imported: import it first, in every process of the course.
from support import osutil as _osutil  # noqa: F401
