# The two commands of the README: `make serve` runs the index, `make test` runs every test.
#   make serve PORT=8001            another port (HOST=0.0.0.0 to listen beyond loopback)
#   make serve ARGS="--workers 4"   any other option of `bastion serve`
#   make wait PORT=8001 PID=$!      returns once the index there answers, or says that the
#                                   `make serve &` started just before (PID=$!) has stopped;
#                                   PROJECT=name: then waits until it has a published file
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve wait test install install-test system-deps lint

# The virtual environment; its pip comes with the interpreter (ensurepip), nothing downloaded.
$(PY):
	$(PYTHON) -m venv $(VENV)

# What serving needs: bastion and its runtime dependencies, nothing else.
$(VENV)/.installed-runtime: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

# What the tests and lint need on top (pytest, playwright, mypy, twine, uv...).
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-runtime
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed-runtime

install-test: $(VENV)/.installed-test

serve: $(VENV)/.installed-runtime
	$(VENV)/bin/bastion serve --host $(HOST) --port $(PORT) $(ARGS)

wait:
	@$(PYTHON) scripts/wait-for-index.py http://$(HOST):$(PORT) $(if $(PROJECT),--project $(PROJECT)) $(if $(PID),--pid $(PID))

system-deps:
	scripts/system-deps.sh

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests
	$(VENV)/bin/mypy

test: $(VENV)/.installed-test system-deps
	scripts/test.sh
