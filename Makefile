# Each target creates the virtual environment it needs (.venv) on first use.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo test test-all lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed  ## the main job: train LeNet-5 (offline: on the embedded MNIST subset)
	$(VENV)/bin/keyarch train lenet5

test: $(VENV)/.installed  ## the default test suite (slow tests excluded)
	$(VENV)/bin/pytest

test-all: $(VENV)/.installed  ## every test, the slow ones too
	$(VENV)/bin/pytest -m "slow or not slow"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests
