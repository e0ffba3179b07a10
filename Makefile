# lmbook: `make book` builds the HTML book, `make test` runs every check CI runs.
# Both set themselves up (venv, installs, vendored assets) on a fresh machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JB := $(VENV)/bin/jupyter-book
STAMP := $(VENV)/.installed
# pip itself is pinned too (pip freeze does not list it).
PIP_VERSION := 26.3
NPROC := $(shell nproc 2>/dev/null || echo 2)

# The book's stored outputs and CI use the CPU profile; progress bars stay out of outputs.
export LMBOOK_PROFILE ?= cpu
export TQDM_DISABLE ?= 1
export MPLBACKEND ?= Agg
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Notebooks run with one torch thread, both when their outputs are stored (`make execute`) and
# when nbval re-runs them two at a time: the same thread count gives the same floating-point
# reductions, and two 2-thread kernels on 2 cores make small kernels 10-50x slower.
NB_ENV := OMP_NUM_THREADS=1

.PHONY: help install vendor data book book-strict test test-unit test-notebooks test-python \
        test-browser \
        lint execute benchmarks clean lock doctor test-min models

help:
	@echo "make book      build the HTML book into _build/html (sets everything up)"
	@echo "make test      run every check CI runs: unit tests, notebooks, strict build, browser"
	@echo "make execute   re-execute every notebook on the CPU and store its outputs"
	@echo "make benchmarks  print the performance ratios (benchmarks/)"
	@echo "make models    train the reference models once into the cache (minutes on a CPU)"
	@echo "make doctor    print versions (against the lock), torch build, device: for bug reports"
	@echo "make lock      re-resolve requirements*.txt into requirements*.lock (UPGRADE=1: newest)"

# `make lock` re-resolves requirements.txt (+ constraints.txt, pyproject.toml's dependencies) and
# requirements-data.txt into the two lock files, with uv (pinned; installed into .cache/uv).
# uv does not read pip.conf, so it gets pip's find-links and extra indexes (where the CPU
# torch wheel lies) from `pip config`; unsafe-best-match picks the best version across all
# indexes, as pip does (uv's default stops at the first index that has the package).
UV_VERSION := 0.13.8
UV := .cache/uv/bin/uv
LOCK_FIND_LINKS ?= $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
LOCK_EXTRA_INDEX ?= $(shell $(PYTHON) -m pip config get global.extra-index-url 2>/dev/null)
UV_COMPILE = $(UV) pip compile -q --generate-hashes --python $(PYTHON) \
	$(foreach u,$(LOCK_FIND_LINKS),--find-links $(u)) \
	$(foreach u,$(LOCK_EXTRA_INDEX),--extra-index-url $(u)) \
	--index-strategy unsafe-best-match --no-emit-index-url --no-emit-find-links
UV_INSTALL = $(UV) pip install -q --python $(PY) \
	$(foreach u,$(LOCK_FIND_LINKS),--find-links $(u)) \
	$(foreach u,$(LOCK_EXTRA_INDEX),--extra-index-url $(u)) --index-strategy unsafe-best-match

$(UV):
	$(PYTHON) -m venv .cache/uv
	.cache/uv/bin/pip install -q uv==$(UV_VERSION)

# The venv holds exactly the lock: every package at its pinned version, checked by hash
# (`pip freeze` equals requirements.lock + requirements-data.lock, lmbook aside). uv installs
# it (the same files as pip, checked by the same hashes, the same `pip freeze`): into a new venv,
# without a download cache, pip took 10.7 min (2.3 min of CPU) for requirements.lock, uv 49 s.
# --compile-bytecode writes the .pyc files once, at install: uv does not by default, and where
# PYTHONDONTWRITEBYTECODE is set (as on the CI image) Python never caches them itself, so every
# process (each notebook kernel, each subprocess test) compiled torch from source again:
# `import torch` took 6.5 s of CPU instead of 2.9 s.
$(STAMP): requirements.lock requirements-data.lock pyproject.toml | $(UV)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q pip==$(PIP_VERSION)
	$(UV_INSTALL) --compile-bytecode --require-hashes -r requirements.lock
	$(UV_INSTALL) --compile-bytecode --require-hashes --no-deps -r requirements-data.lock
	$(UV_INSTALL) --no-deps -e .
	@touch $@

install: $(STAMP)

# `make lock` keeps the locked versions that still satisfy the requirements (the smallest
# change after an edit of requirements*.txt); `make lock UPGRADE=1` moves all to the newest.
lock: $(UV)
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) --custom-compile-command "make lock" \
	    requirements.txt pyproject.toml -c constraints.txt -o requirements.lock
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) --custom-compile-command "make lock" --no-deps \
	    requirements-data.txt -o requirements-data.lock
	@echo "lock: now run \`make install\` (it reinstalls from the new lock) and \`make test\`"

vendor:
	@bash .ci/vendor.sh

data: $(STAMP)
	$(PY) -m lmbook.data.fetch

# Reference models for the chapters that study a trained GPT (shakespeare-char: 3.2, tang-char: 5.3),
# each trained once by the command line into ~/.cache/lmbook/models/<preset>-<key> (key: preset + lmbook source +
# torch), a no-op when the cache already holds it. The slow CLI test checks the same run.
models: $(STAMP) data
	$(PY) -m lmbook.train.reference --threads=$(NPROC) shakespeare-char tang-char

book: $(STAMP) vendor data
	$(JB) build . --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# Warnings are errors: an unknown citation, a broken reference or a missing page fails.
book-strict: $(STAMP) vendor data
	rm -rf _build/html _build/.doctrees
	$(JB) build . -W --keep-going

# nbval: every notebook top to bottom, comparing the cells tagged `nbval-check-output`.
# `--dist loadfile` keeps a notebook's cells on one worker; conftest.py orders the notebooks
# slowest first (by their stored run) instead of xdist's reorder by cell count, so the workers
# finish together, and prints each notebook's time at the end.
NBVAL := --nbval-lax --nbval-sanitize-with .ci/nbval_sanitize.cfg --dist loadfile \
	--no-loadscope-reorder

test-unit: $(STAMP) data
	$(PY) -m pytest tests/ -n $(NPROC) -q -p no:cacheprovider

test-notebooks: $(STAMP) data models
	$(NB_ENV) $(PY) -m pytest $(NBVAL) -n $(NPROC) -q -p no:cacheprovider chapters/

# What `make test` runs: the unit tests and the notebooks in ONE pytest run, so that neither
# core idles while the other finishes a long test or notebook (the long ones go first).
test-python: $(STAMP) data models
	$(NB_ENV) $(PY) -m pytest $(NBVAL) -n $(NPROC) -q -p no:cacheprovider --durations=15 tests/ chapters/

test-browser: book-strict
	$(PY) .ci/browser_check.py _build/html

# Lint and format (ruff), and check that the venv is exactly the lock (what the stored outputs were made with).
lint: $(STAMP)
	$(VENV)/bin/ruff check lmbook tests benchmarks .ci _ext
	$(VENV)/bin/ruff format --check lmbook tests benchmarks .ci _ext
	$(PY) -m lmbook.env --strict >/dev/null || { $(PY) -m lmbook.env; exit 1; }

# The reference models come first: the notebooks that study a trained GPT load them, and the
# slow shakespeare-char test checks the same cached CLI run (trained by this code: see models).
# The strict book build (one core, ~70 s) and then the browser check (~100 s, mostly waiting
# for pages to load and typeset) run beside the pytest run, instead of after it with both
# cores idle; --output-sync keeps each one's output together.
# The setup's independent parts also run side by side: npm fetching the vendored assets (network)
# while uv installs the venv and the reference model trains.
# Each phase prints its wall time, so a slow run shows where the time went.
test:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory -j2 --output-sync=target lint models vendor && \
	echo "make test: install, lint, models, vendored assets: $$(( $$(date +%s) - start )) s" && \
	$(MAKE) --no-print-directory -j2 --output-sync=target test-python test-browser && \
	echo "make test: passed in $$(( $$(date +%s) - start )) s"

execute: $(STAMP) data models
	$(NB_ENV) $(PY) .ci/execute.py $(NOTEBOOKS)

# The floors of pyproject.toml, tested: a scratch venv gets the LOWEST version of each of lmbook's
# direct requirements, extras included (uv's lowest-direct resolution; torch's floor comes from
# PyPI as its CUDA build, ~3 GB, which runs on the CPU), pytest at the lock's versions, and runs
# the unit tests. A floor that fails here is raised in pyproject.toml, not left in place.
MIN_VENV := .cache/min-venv
# (tests/book checks the stored notebook outputs, which the versions do not change)
TEST_MIN_ARGS ?= tests/ -m "not slow" --ignore=tests/book -n $(NPROC)
test-min: $(UV) data
	rm -rf $(MIN_VENV) && $(PYTHON) -m venv $(MIN_VENV)
	grep -E '^(pytest|pytest-xdist|pytest-timeout|packaging)==' requirements.lock \
	    | sed 's/ .*//' > $(MIN_VENV)/test-tools.in
	$(UV_COMPILE) --resolution lowest-direct --all-extras --no-header \
	    pyproject.toml $(MIN_VENV)/test-tools.in -o $(MIN_VENV)/requirements-min.lock
	$(MIN_VENV)/bin/pip install -q pip==$(PIP_VERSION)
	$(MIN_VENV)/bin/pip install -q --require-hashes -r $(MIN_VENV)/requirements-min.lock
	$(MIN_VENV)/bin/pip install -q --require-hashes --no-deps -r requirements-data.lock
	@grep -E '^(torch|numpy|transformers|tiktoken|gensim|scipy|matplotlib)==' \
	    $(MIN_VENV)/requirements-min.lock | sed 's/ .*//' | tr '\n' ' '; echo
	@# lmbook itself is imported from this tree (`python -m` puts it on sys.path)
	$(MIN_VENV)/bin/python -m pytest $(TEST_MIN_ARGS) -q -p no:cacheprovider

# What a bug report needs: versions against the lock, torch build, device, bf16, threads, CPU.
doctor: $(STAMP)
	@$(PY) -m lmbook.env

benchmarks: $(STAMP) data
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf _build
