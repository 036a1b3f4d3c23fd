"""The benchmark: every crawler of the course, and Scrapy, on the same local site.

    python -m tools.bench                   # the three regimes (about 6 minutes)
    python -m tools.bench --quick           # a tiny site, a few seconds
    python -m tools.bench --help

Its parts, from the bottom up:

* :mod:`support.crawlers.isolated` (the course's one "crawl in a fresh
  process" tool, which notebook 07 uses too): ONE crawl of any entry of
  ``support.crawlers.registry.CRAWLERS``; it prints one result line (the result
  protocol, shared with :mod:`tools.bench.scrapy_worker`, the Scrapy worker).
* :mod:`tools.bench.runner`: the regimes, the site in its own process, the
  workers pinned to processors, repeats and medians; rows of measurements.
* :mod:`tools.bench.report`: tables, ratios, notes and the machine, as text.
* :mod:`tools.bench.targets`: the issue's targets judged on the rows.

This file imports nothing: a worker process imports only what its crawl needs, so that
the peak RSS it reports is its crawler's.
"""
