# Two commands on a fresh machine:
#   make run    set up .venv and run the whole workflow on the demo data
#   make test   set up .venv (if needed) and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/config.yaml
CORES ?= 2

.PHONY: run test test-cluster validate bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sinks run $(CONFIG) --cores $(CORES)

validate: $(STAMP)
	$(BIN)/sinks validate $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest

# Opt-in, not part of `make test` or CI: a single-node SLURM on this machine (root, apt-get) and
# a dask.distributed cluster, each running the tiny case; outputs compared with a local run.
$(VENV)/.cluster: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,cluster]'
	touch $@

test-cluster: $(VENV)/.cluster
	scripts/cluster/start_slurm.sh start
	$(BIN)/python -m pytest tests/cluster --cluster

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_stock_sink.py
	$(BIN)/sinks run $(CONFIG) --cores $(CORES)
	$(BIN)/python benchmarks/bench_uncertainty.py
	$(BIN)/python benchmarks/bench_biomass.py

clean:
	rm -rf data/processed .snakemake
