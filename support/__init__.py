"""Support package of the course "Corrutinas": the local web site, link
helpers, timeline plots, exercise checkers and the reference code that later
notebooks and the benchmark reuse. Notebooks import it; they never copy it."""
