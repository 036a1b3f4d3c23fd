# Two commands for a newcomer (see README.md):
#   make lab    create .venv, install the pins, open the course in JupyterLab
#   make test   create .venv, install the pins and test tools, run every test
# Extra targets: make notebooks (re-execute and store outputs), make bench, make bench-servers, make clean.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COURSE := $(VENV)/.installed-course
CI     := $(VENV)/.installed-ci

.PHONY: lab test notebooks bench bench-servers clean install

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(COURSE): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -e .
	touch $@

$(CI): requirements-ci.txt $(COURSE)
	$(BIN)/pip install --quiet -r requirements-ci.txt
	touch $@

install: $(COURSE)

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(COURSE)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

test: $(CI)
	$(BIN)/python -m pytest

notebooks: $(COURSE)
	$(BIN)/python tools/run_notebooks.py notebooks/*.ipynb

BENCH  := $(VENV)/.installed-bench

$(BENCH): requirements-bench.txt $(COURSE)
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

bench: $(BENCH)
	$(BIN)/python -m tools.bench

# The server table of notebook 09 (four designs + aiohttp.web, C = 100 and 1,000).
bench-servers: $(COURSE)
	$(BIN)/python -m tools.bench_servers

clean:
	rm -rf $(VENV) build *.egg-info
