# lmbook: `make book` builds the HTML book, `make test` runs every check CI runs.
# Both set themselves up (venv, installs, vendored assets) on a fresh machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
JB := $(VENV)/bin/jupyter-book
STAMP := $(VENV)/.installed
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

.PHONY: help install vendor data book book-strict test test-unit test-notebooks test-browser \
        lint execute benchmarks clean

help:
	@echo "make book      build the HTML book into _build/html (sets everything up)"
	@echo "make test      run every check CI runs: unit tests, notebooks, strict build, browser"
	@echo "make execute   re-execute every notebook on the CPU and store its outputs"
	@echo "make benchmarks  print the performance ratios (benchmarks/)"

$(STAMP): requirements.txt requirements-data.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -r requirements.txt
	$(PIP) install -q --no-deps -r requirements-data.txt
	$(PIP) install -q --no-deps -e .
	@touch $@

install: $(STAMP)

vendor:
	@bash .ci/vendor.sh

data: $(STAMP)
	$(PY) -m lmbook.data.fetch

book: $(STAMP) vendor data
	$(JB) build . --keep-going
	@echo "The book is at file://$(CURDIR)/_build/html/index.html"

# Warnings are errors: an unknown citation, a broken reference or a missing page fails.
book-strict: $(STAMP) vendor data
	rm -rf _build/html _build/.doctrees
	$(JB) build . -W --keep-going

test-unit: $(STAMP) data
	$(PY) -m pytest tests/ -n $(NPROC) -q -p no:cacheprovider

test-notebooks: $(STAMP) data
	$(NB_ENV) $(PY) -m pytest --nbval-lax --nbval-sanitize-with .ci/nbval_sanitize.cfg \
	    -n $(NPROC) --dist loadfile -q -p no:cacheprovider chapters/

test-browser: book-strict
	$(PY) .ci/browser_check.py _build/html

lint: $(STAMP)
	$(VENV)/bin/ruff check lmbook tests benchmarks .ci _ext

test: lint test-unit test-notebooks test-browser

execute: $(STAMP) data
	$(NB_ENV) $(PY) .ci/execute.py $(NOTEBOOKS)

benchmarks: $(STAMP) data
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf _build
