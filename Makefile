# Each target creates the virtual environment it needs (.venv) on first use.
VENV ?= .venv
PYTHON ?= python3

.PHONY: demo test test-all lint

# The demo needs the runtime only (torch, torchvision and a few small packages); the tests
# need the dev extra too (pytest, ruff, timm, onnx, onnxruntime, the captioning toolkits).
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@# an editable install from pyproject.toml alone needs pip 21.3 or newer
	$(VENV)/bin/python -c "import pip, sys; sys.exit(tuple(map(int, pip.__version__.split('.')[:2])) < (21, 3))" \
		|| $(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e .
	touch $@

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime  ## the main job: train LeNet-5 (offline: on the embedded MNIST subset)
	$(VENV)/bin/keyarch train lenet5

test: $(VENV)/.installed  ## the default test suite (slow tests excluded)
	$(VENV)/bin/pytest

test-all: $(VENV)/.installed  ## every test, the slow ones too
	$(VENV)/bin/pytest -m "slow or not slow"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests
