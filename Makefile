# Two commands for a newcomer (see README.md):
#   make lab    create .venv, install the pins, open the course in JupyterLab
#   make test   create .venv, install the pins and test tools, run every test
# Extra targets: make notebooks (re-execute and store outputs), make bench,
# make bench-servers, make binder (write the Binder links from the git remote), make clean.
# For the teacher (docs/guia_docente.md): make slides, make handout, make student, make teacher-tools,
# make class-test.
# Portable: POSIX sh and GNU make 3.81 (the one macOS ships); no GNU-only tools.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
COURSE := $(VENV)/.installed-course
CI     := $(VENV)/.installed-ci
# Offline JavaScript of the teacher's tools (see slides/handout below).
JS     := build/js
# The course's JupyterLab defaults (no news pop-up, widget state kept on save),
# where JupyterLab reads packaged overrides; the user's own settings still win.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.d

.PHONY: lab test notebooks bench bench-servers binder clean install slides handout student teacher-tools class-test

# The installs go through uv (pinned in requirements-uv.txt, installed into .venv by the
# venv's own pip): it downloads and unpacks in parallel, 5 s where pip takes 35-50 s for the
# test tools. It reads no pip.conf: behind a mirror, set UV_INDEX_URL (or use the README's
# route without make, plain pip). The venv keeps its pip for the student's own installs.
# --compile-bytecode as pip does: where PYTHONDONTWRITEBYTECODE is set (CI), nothing else
# would write the .pyc files, and every process would compile its imports again.
UV := $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python

$(BIN)/python:
	@$(PYTHON) tools/need_python.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-uv.txt

$(COURSE): requirements.txt pyproject.toml jupyterlab/corrutinas.json | $(BIN)/python
	@echo "Instalando el curso en $(VENV) (unos 460 MB la primera vez; puede tardar un minuto sin mostrar nada)..."
	$(UV) -r requirements.txt -e .
	mkdir -p $(LAB_OVERRIDES)
	cp jupyterlab/corrutinas.json $(LAB_OVERRIDES)/corrutinas.json
	touch $@

$(CI): requirements-ci.txt $(COURSE)
	$(UV) -r requirements-ci.txt
	touch $@

install: $(COURSE)

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# JupyterLab draws stored widgets (and other rich outputs) only in trusted
# notebooks: the course trusts its own, in this user's Jupyter data folder.
lab: $(COURSE)
	$(BIN)/jupyter trust notebooks/*.ipynb > /dev/null
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG)

# The last pass repeats what reads the OS's memory figures as on macOS and
# Windows: CORRUTINAS_SIN_PROC=1 hides /proc, /sys, `resource` and processor
# pinning from the course's code (support/osutil/). Notebooks 01 and 08 branch
# on it (threads' stacks, limits); notebook 07 only reads a child's RSS, whose
# portable path tests/test_osutil_portable.py covers.
SIN_PROC_TESTS := tests/test_osutil_portable.py tests/test_memory.py \
	$(wildcard notebooks/01_*.ipynb notebooks/08_*.ipynb)

# Node.js is the teacher's (slides, handout, class test): without npm, `make test`
# skips the tests of those targets and says so once; CI has Node and runs them all.
NPM := $(shell command -v npm 2>/dev/null)

# The installs first, the venv's (uv) and npm's side by side: neither waits for the other.
# Then two passes at once. The tests that read the wall clock (the `realtime` mark,
# tests/conftest.py) and every notebook cell, a whole file per worker on two workers, the
# longest files first (each notebook passes pinned to one core, CONTRIBUTING.md: two side
# by side on two cores is that case; the notebooks with widgets run whole in JupyterLab,
# tests/test_browser.py, and not a second time under nbval). That pass waits on sockets and
# simulated latency about half its time: beside it, at the lowest priority (tools/idle.py,
# SCHED_IDLE: a waking task of the other pass takes the core at once), the tests that
# assert on counters and virtual time, test by test over three workers (worksteal: a
# worker that runs out takes over tests queued for another), their output printed after.
# Then the path of macOS/Windows, the same way.
# PYTHONDONTWRITEBYTECODE (set in many CI images) is unset for the tests: Python's default, so the
# first process that imports support/, tools/ or a test module writes its bytecode and the others
# (xdist workers, notebook kernels, the crawls measured in fresh processes) read it instead of
# compiling again.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest
IDLE   := PYTHONDONTWRITEBYTECODE= $(BIN)/python tools/idle.py

test:
	@$(MAKE) --no-print-directory -j2 $(CI) $(if $(NPM),$(JS)/.installed)
	@$(if $(NPM),:,echo "make test: sin Node.js (npm) se omiten las pruebas de diapositivas y material impreso (tests/test_present.py); instala Node.js para correrlas.")
	$(BIN)/ruff check .
	@$(IDLE) -m pytest -n 3 --dist worksteal -m "not realtime" tests > $(VENV)/pass-counters.log 2>&1 & \
	echo "pytest -m 'not realtime' tests: de fondo, a prioridad mínima (tools/idle.py); su salida, al final"; \
	$(PYTEST) -n 2 --dist loadfile --no-loadscope-reorder -m realtime tests notebooks; realtime=$$?; \
	wait $$!; counters=$$?; cat $(VENV)/pass-counters.log; test $$realtime = 0 && test $$counters = 0
	CORRUTINAS_SIN_PROC=1 $(PYTEST) -n 2 --dist loadfile $(SIN_PROC_TESTS)

notebooks: $(CI)
	$(BIN)/python tools/run_notebooks.py notebooks/*.ipynb

# After publishing or forking: write the Binder badge and notebook 00's link
# from `git remote get-url origin` (or: make binder REMOTE=https://github.com/USER/REPO).
binder:
	$(PYTHON) tools/binder_url.py $(REMOTE)

BENCH  := $(VENV)/.installed-bench

$(BENCH): requirements-bench.txt $(COURSE)
	$(UV) -r requirements-bench.txt
	touch $@

# The toy site's three regimes, then the real-site regime: the Python docs served
# on 127.0.0.1 (skipped with how to install them when they are not there).
bench: $(BENCH)
	$(BIN)/python -m tools.bench
	$(BIN)/python -m tools.bench_realsite --scrapy

# The server table of notebook 09 (four designs + aiohttp.web, C = 100 and 1,000).
bench-servers: $(COURSE)
	$(BIN)/python -m tools.bench_servers

# -- the teacher's tools --------------------------------------------------------
# Offline JavaScript for the decks, the handout and JupyterHub's proxy: npm pins
# in tools/js/package.json (+ lock), installed under build/js/ (never for students).
# The widget manager comes as a packed tarball (npm install would pull 128 MB).
HTML_MANAGER := @jupyter-widgets/html-manager@1.0.15

$(JS)/.installed: tools/js/package.json tools/js/package-lock.json
	mkdir -p $(JS)/html-manager
	cp tools/js/package.json tools/js/package-lock.json $(JS)/
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	cd $(JS) && npm pack --silent $(HTML_MANAGER) > html-manager.name && tar xzf "$$(cat html-manager.name)" -C html-manager
	touch $@

# Offline reveal.js decks, slides derived from the headings (tools/present.py).
slides: $(CI) $(JS)/.installed
	$(BIN)/python -m tools.present slides

# Offline static HTML of the executed notebooks, links and widgets working.
handout: $(CI) $(JS)/.installed
	$(BIN)/python -m tools.present handout

# The repository without teacher/ (solutions, answer keys, grading): build/alumno.
student:
	$(PYTHON) -m tools.student_build

# Live presenting (jupyterlab-rise) and JupyterHub, pinned in requirements-teacher.txt.
TEACHER := $(VENV)/.installed-teacher
$(TEACHER): requirements-teacher.txt $(CI)
	$(UV) -r requirements-teacher.txt
	touch $@

teacher-tools: $(TEACHER)

# Several students on a real JupyterHub at once, under per-student limits (Linux, root:
# a pids cgroup each): tools/class_test/, tools/class_hub/jupyterhub_config.py.
class-test: $(TEACHER) $(JS)/.installed
	$(BIN)/python -m tools.class_test

clean:
	rm -rf $(VENV) build *.egg-info
