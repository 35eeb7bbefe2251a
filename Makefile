# Two commands on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs what it needs; a second run reuses it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamp files record which extras are installed, so reruns skip pip entirely
# unless pyproject.toml or the C extension (setup.py, memo/_speedups.c) changed.
$(VENV)/.cli: $(BIN)/python pyproject.toml setup.py src/memograd/memo/_speedups.c
	$(PIP) install --quiet -e ".[cli]"
	touch $@

$(VENV)/.test: $(VENV)/.cli
	$(PIP) install --quiet -e ".[cli,test]"
	touch $@

$(VENV)/.bench: $(VENV)/.test
	$(PIP) install --quiet -e ".[cli,test,bench]"
	touch $@

demo: $(VENV)/.cli
	$(BIN)/memograd demo

# Both cores (pytest-xdist); a test still running after 5 minutes fails with its stack
# (pytest-timeout) instead of holding the run.
test: $(VENV)/.test
	$(BIN)/python -m pytest -q -n 2 --timeout 300

# The benchmark is benchmarks/run.py, a folder of the repository (not installed with memograd).
# Options go in BENCH_ARGS: make bench BENCH_ARGS="--quick", BENCH_ARGS="--only mlp --threads 1".
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set to work around old OpenBLAS bugs, force a
# slower generic kernel on a current NumPy: unset both for the benchmark only (never for tests).
# The header says which kernel ran, and what the two variables were before.
BENCH_ARGS ?=
bench: $(VENV)/.bench
	MEMOGRAD_BENCH_UNSET="OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE-unset} OPENBLAS_L2_SIZE=$${OPENBLAS_L2_SIZE-unset}" \
	  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/run.py $(BENCH_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check src tests tools benchmarks setup.py
	$(BIN)/ruff format --check src tests tools benchmarks setup.py

clean:
	rm -rf $(VENV) memograd-report .pytest_cache
