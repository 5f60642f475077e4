# `make demo` and `make test` each set up .venv on a fresh machine, then run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= out/demo

# The demo's one definition: tools/readme_demo.py reads this line to write README's demo section.
DEMO_ARGS := train periodic --rule rflo --n-hidden 30 --period 200 --trials 2000 --seed 0

.PHONY: demo test test-random lint bench clean docs notebooks paper paper-methods paper-notebook

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/brianrflo $(DEMO_ARGS) --out $(DEMO_OUT) --overwrite

# --dist loadgroup: tests are spread over the workers one by one, except those of a
# module marked xdist_group (an expensive module fixture: computed on one worker only).
PYTEST := $(BIN)/pytest -q -p no:cacheprovider -n auto --dist loadgroup --durations=15

# ruff, and mypy over the package laid out as installed (tools/typecheck.py).
lint: $(STAMP)
	$(BIN)/ruff check brianrflo models tasks tests benchmarks tools
	$(BIN)/python tools/typecheck.py

test: lint
	$(PYTEST) -p no:randomly

# The same suite with the test modules and tests in a random order (pytest-randomly);
# the seed is in the command make prints, and `make test-random SEED=N` repeats an order.
SEED ?= $(shell date +%s)
test-random: lint
	$(PYTEST) --randomly-seed=$(SEED)

# The documentation site (Sphinx, sources in docs/) into docs/_build/html.
docs: $(STAMP)
	$(BIN)/sphinx-build -j 1 -b html docs docs/_build/html
	@echo "open docs/_build/html/index.html"

# The tutorials in JupyterLab (the `notebooks` extra, installed on first use).
notebooks: $(STAMP)
	$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install -q -e ".[notebooks]"
	$(BIN)/jupyter lab notebooks/

# The paper's figures at the paper's sizes (many CPU-hours; docs/results.md), most
# wanted first, into out/paper (the Methods' initialisation) and out/paper-notebook (the
# authors' notebook's). Each grid runs as one stack checkpointed in OUT/cache: `make paper`
# run again goes on where it stopped (finished grids are read from the cache). The two
# chains share no grid: `make -j2 paper` runs them side by side, one core each.
PAPER_OUT ?= out/paper
paper: paper-methods paper-notebook

paper-methods: $(STAMP)
	for f in fig2d fig2b fig3 fig4 fig2a fig2c; do \
	    $(BIN)/brianrflo figure $$f --workers 0 --out $(PAPER_OUT) || exit 1; done

paper-notebook: $(STAMP)
	for f in fig2b fig3; do \
	    $(BIN)/brianrflo figure $$f --workers 0 --init notebook --out $(PAPER_OUT)-notebook \
	    || exit 1; done

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_rflo.py

clean:
	rm -rf $(VENV) out build *.egg-info docs/_build docs/api
