# One entry point for every task. `make run` and `make test` work from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/opentrail serve

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.lookup
	$(BIN)/python -m bench.validate
	$(BIN)/python -m bench.delivery
	$(BIN)/python -m bench.selectors
	$(BIN)/python -m bench.nodes
	$(BIN)/python -m bench.abuse
	$(BIN)/python -m bench.patterns
	$(BIN)/python -m bench.streams
	$(BIN)/python -m bench.alarms

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
