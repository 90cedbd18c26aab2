# The front door. `make run` and `make test` work on a fresh machine that has
# only python3 and make: uv is bootstrapped into .tools/ with pip, and the
# locked environment is built in .venv/ by `uv sync --locked`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
DATA ?= data/raw/example
JOBS ?= 2
# Notebooks that nbval checks (`make test NOTEBOOKS=my_notebooks`) and that `make lab` opens.
NOTEBOOKS ?= notebooks
# Extra arguments of `make lab` (e.g. ARGS="--port 8899 --no-browser").
ARGS ?=

# Jupyter, IPython and matplotlib keep their state here, not in $HOME.
STATE := $(CURDIR)/.state
export JUPYTER_RUNTIME_DIR := $(STATE)/jupyter-runtime
export JUPYTER_DATA_DIR := $(STATE)/jupyter-data
export IPYTHONDIR := $(STATE)/ipython
export MPLCONFIGDIR := $(STATE)/matplotlib
export MPLBACKEND := Agg
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

UV_RUN := $(UV) run --locked --no-sync

PROCESSED := data/processed
# The notebooks' paired .py files are not modules to import (pyproject's --doctest-modules would).
NBVAL := pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg --ignore-glob='$(NOTEBOOKS)/*.py' $(NOTEBOOKS)/

.PHONY: help setup run verify reference test test-fast lab bench calibrate example dictionary lock clean processed notebooks browser browser-check

help:
	@echo "make run    the full pipeline on the example data ($(DATA))"
	@echo "make test   the whole test suite (unit, reference, notebooks)"
	@echo "make verify RUN=papermill_runs/reference   re-run a recorded run and compare its tables"
	@echo "make test NOTEBOOKS=DIR   ... with nbval on your own notebooks"
	@echo "make lab    JupyterLab on notebooks/ (NOTEBOOKS=DIR, ARGS=\"--port 8899\"; works as root)"
	@echo "make bench  benchmarks (writes benchmarks/results.md)"
	@echo "make calibrate  type-I error and CI coverage of the reports' tests by simulation (writes docs/calibration.md)"
	@echo "make notebooks  re-execute the notebooks on the example data (stored outputs for nbval)"
	@echo "make browser-check RUN=papermill_runs/<run>   open every page of a run in headless Chromium (screenshots in RUN/checks/)"
	@echo "make setup  only install (done automatically by the others)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --locked
	@mkdir -p $(JUPYTER_RUNTIME_DIR) $(JUPYTER_DATA_DIR) $(IPYTHONDIR) $(MPLCONFIGDIR)
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(UV_RUN) ponzoni-eval run $(DATA) --jobs $(JOBS)

# Reviewers: re-run a recorded run and compare every table (papermill_runs/latest, a run folder, or the reference).
# `make verify RUN=papermill_runs/latest`; extra options in VERIFY_ARGS (e.g. VERIFY_ARGS="--keep --rtol 1e-8").
RUN ?= papermill_runs/reference
verify: setup
	$(UV_RUN) ponzoni-eval verify $(RUN) $(VERIFY_ARGS)

# Refresh papermill_runs/reference (tables, manifest, outputs record) from a run of the committed tree on the
# example data. Only after a deliberate change of an analysis, a notebook or the example data.
reference: setup
	@test -z "$$(git status --porcelain --untracked-files=no)" || { echo "make reference: commit your changes first (the reference records the commit)"; exit 1; }
	$(UV_RUN) ponzoni-eval run --data data/raw/example --jobs $(JOBS) --force-prepare
	rm -rf papermill_runs/reference/tables
	cp -R papermill_runs/latest/tables papermill_runs/reference/tables
	cp papermill_runs/latest/manifest.json papermill_runs/latest/outputs.json papermill_runs/reference/

# The notebooks read the processed example data; prepare is idempotent, so it simply runs again.
processed: setup
	$(UV_RUN) ponzoni-eval prepare $(DATA) --out $(PROCESSED)

# The import contract first (docs/architecture.md): a module imports only from the layers below it.
# Then the tests and the package's docstring examples (pyproject: testpaths, --doctest-modules), every
# property test with its full example count (the `ci` hypothesis profile, tests/conftest.py), and nbval.
# Two workers: slow tests first, a module's shared fixture on one worker (tests/conftest.py).
# Chromium for the browser test (tests/pipeline/test_browser.py): the Debian package, installed when missing.
# Without root or without the Debian archive it cannot be installed; the test then skips and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  echo "Installing Chromium (Debian package chromium) for the browser test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; } \
	  || echo "Chromium could not be installed (needs root and the Debian archive): the browser test will be skipped"; }

# Open every page of a run in headless Chromium; screenshots in RUN/checks/ (default: the latest run).
RUN ?= papermill_runs/latest
browser-check: setup browser
	$(UV_RUN) python tests/browser.py $(RUN)

test: setup processed browser
	$(UV_RUN) lint-imports
	HYPOTHESIS_PROFILE=ci $(UV_RUN) pytest -n 2 --dist loadgroup --no-loadscope-reorder
	$(UV_RUN) $(NBVAL)

# Re-execute the notebooks in place from their .py (with the example data), storing the outputs
# that nbval compares against. Run after changing a notebook or the example data; commit the .ipynb.
notebooks: setup processed
	$(UV_RUN) python -c "import sys; from ponzoni_eval.pipeline import execute_in_place; [execute_in_place(p) for p in sys.argv[1:]]" notebooks/0*.py

# Not the notebooks and pipelines (`slow`), property tests with few examples (the `dev` profile).
test-fast: setup
	$(UV_RUN) lint-imports
	HYPOTHESIS_PROFILE=dev $(UV_RUN) pytest -m "not slow" -x -q

# As root (a container) Jupyter refuses to start without --allow-root: it is added when the user id is 0.
lab: setup
	$(UV_RUN) jupyter lab --notebook-dir=$(NOTEBOOKS) $$(test "$$(id -u)" = 0 && echo --allow-root) $(ARGS)

bench: setup
	$(UV_RUN) python benchmarks/bench.py

# The calibration study (issue 17): 2 worker processes, about 10-15 minutes on 2 free cores.
calibrate: setup
	$(UV_RUN) python benchmarks/calibrate.py

example: setup
	$(UV_RUN) ponzoni-eval example $(DATA)

dictionary: setup
	$(UV_RUN) ponzoni-eval dictionary docs/data-dictionary.md

lock: $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) $(TOOLS) $(STATE) data/processed/*.parquet data/processed/manifest.json
