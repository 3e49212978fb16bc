# vipquality — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= surveys
QUARTER ?=
OUT ?= reports

.DEFAULT_GOAL := help
.PHONY: help env extras report test test-spark lab sample bench snapshots validate clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (vipquality)" >/dev/null
	touch $@

env: $(BIN)/.installed  ## Create .venv from the pinned requirements and install vipquality

report: env  ## Run the full quarterly report on the sample workspace (WORKSPACE=, QUARTER=, OUT=); board-pack.pdf too when Chromium is installed
	$(BIN)/vipquality report --workspace $(WORKSPACE) --out $(OUT) $(if $(QUARTER),--quarter $(QUARTER)) $(if $(shell command -v chromium),--pdf)

test: env  ## Run the whole test suite (layer contracts, library, notebooks, end to end)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests vipquality --nbval-lax notebooks

$(BIN)/.extras: $(BIN)/.installed requirements-extra.txt
	$(BIN)/python -m pip install --quiet -r requirements-extra.txt
	touch $@

extras: $(BIN)/.extras  ## Install the optional extras (pyspark, psutil, pyinstrument)

test-spark: extras  ## Run the Spark engine tests on a local Spark session (needs Java 17+)
	VQ_REQUIRE_SPARK=1 $(BIN)/python -m pytest -q -k spark tests/test_spark.py tests/test_report_engine.py

lab: env  ## Open JupyterLab on the notebooks (sample workspace)
	$(BIN)/vipquality ingest --workspace $(WORKSPACE) --all
	cd notebooks && ../$(BIN)/jupyter lab

sample: env  ## Regenerate the bundled sample workspace (seeded, deterministic)
	$(BIN)/vipquality sample --workspace $(WORKSPACE)

bench: extras  ## Run the benchmarks and write benchmarks/RESULTS.md (about 25 min)
	$(BIN)/python -m benchmarks

snapshots: env  ## Regenerate the snapshot tables in tests/snapshots/ (review the diff)
	VQ_UPDATE_SNAPSHOTS=1 $(BIN)/python -m pytest -q tests/test_snapshots.py

validate: env  ## Coverage of every 95 % interval by simulation (4000 replicates): writes docs/validation.md (about 5 min)
	$(BIN)/python -m vipquality.metrics.validation docs/validation.md 4000

clean:  ## Remove the environment, the store and the reports
	rm -rf $(VENV) $(WORKSPACE)/store reports/*/ .pytest_cache
