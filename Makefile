# Two commands for a newcomer: `make run` (the whole pipeline on the embedded sample) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# test processes (pytest-xdist): the suite is mostly whole pipeline runs, two at a time on 2 cores
TEST_WORKERS ?= 2
# Python's compiled files are kept (__pycache__, ignored by git) even where the environment turns
# them off: every test process, and every process a test starts, would otherwise compile the
# project and rewrite the tests' assertions again (≈ 1 min of the suite on 2 cores)
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install run test lint sqlfix wheel-check dev sample dashboard screenshots clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: install  ## materialize every asset on the embedded sample, print the French summary
	$(BIN)/achats run

test: install  ## lint (Python and SQL), then the whole test suite (no network)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql --processes 2 --disable-progress-bar
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql --processes 2 --disable-progress-bar

sqlfix: install  ## let sqlfluff fix what it can in sql/ (review the diff)
	$(BIN)/sqlfluff fix sql --processes 2 --disable-progress-bar

wheel-check: install  ## the wheel alone, in a fresh virtual environment, runs the embedded sample (needs PyPI)
	bash .ci/wheel_check.sh "$(PYTHON)"

dev: install  ## Dagster UI on http://127.0.0.1:3000 over the embedded sample
	mkdir -p .dagster_home data/warehouse
	DAGSTER_HOME=$(CURDIR)/.dagster_home ACHATS_DATA_DIR=$(CURDIR)/data/sample \
	ACHATS_WAREHOUSE=$(CURDIR)/data/warehouse/dev.duckdb ACHATS_DASHBOARD_DIR=$(CURDIR)/dashboards/output \
	$(BIN)/dagster dev -m achats.pipelines.definitions -h 127.0.0.1 -p 3000

sample: install  ## rebuild data/sample from data/seed (deterministic)
	$(BIN)/python data/build_sample.py

dashboard: install
	$(BIN)/achats dashboard

screenshots: run  ## README pictures of the dashboard on the sample (needs Debian's chromium)
	$(BIN)/python dashboards/screenshot.py

clean:
	rm -rf $(VENV) data/warehouse dashboards/output .pytest_cache .ruff_cache
