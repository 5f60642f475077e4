# `make demo` and `make test` each set up .venv on a fresh machine, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= out/demo

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/brianrflo train periodic --rule rflo --n-hidden 30 --period 200 \
		--trials 2000 --seed 0 --out $(DEMO_OUT) --overwrite

test: $(STAMP)
	$(BIN)/ruff check brianrflo models tasks tests benchmarks tools
	$(BIN)/pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_rflo.py

clean:
	rm -rf $(VENV) out build *.egg-info
