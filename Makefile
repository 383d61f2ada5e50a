# cmsettle: `make demo` and `make test` are all a fresh machine needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help demo test bench sample clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q cmsettle  # an editable install leaves the package uncompiled (see README, Scale)
	touch $(STAMP)

demo: $(STAMP) ## install, settle the sample months in order, show where the outputs are
	$(BIN)/python scripts/demo.py

test: $(STAMP) ## install with the test extras and run the test suite
	$(BIN)/python -m pytest

bench: $(STAMP) ## time `settle month` against the floor (pyarrow read + group-by) at BENCH_TRADES (default 1000000)
	$(BIN)/python benchmarks/bench.py $(if $(BENCH_TRADES),--trades $(BENCH_TRADES))

sample: $(STAMP) ## regenerate sample_data/ with the deterministic generator
	$(BIN)/python scripts/gen_sample.py --out sample_data

clean: ## remove the virtual environment and demo outputs
	rm -rf $(VENV) demo_out
