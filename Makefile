# Two commands from a clean clone:  make demo  |  make test
# The venv is built once (stamp file) and rebuilt when the pins change.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

WHEEL_CHECK := build/wheel-check

.PHONY: demo test wheel-demo install bench airflow clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, from the local CPU wheel: otherwise pip resolves a multi-GB CUDA build for sentence-transformers
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/listen demo --dir demo

test: wheel-demo
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The package as `pip install .` ships it: build the wheel, install only it (the dependencies are the venv's) into
# a folder of its own, and run its `listen demo` from another directory, so nothing can come from the checkout.
wheel-demo: $(STAMP)
	rm -rf build/lib dist $(WHEEL_CHECK)
	$(BIN)/python -m pip wheel -q --no-deps --no-build-isolation -w dist .
	$(BIN)/python -m pip install -q --no-deps --target $(WHEEL_CHECK)/site dist/*.whl
	cd $(WHEEL_CHECK) && PYTHONPATH=$(abspath $(WHEEL_CHECK))/site $(abspath $(BIN))/python -c \
	  "import pipelines, sys; sys.exit(0 if pipelines.__file__.startswith('$(abspath $(WHEEL_CHECK))') else \
	  'pipelines was imported from ' + pipelines.__file__ + ', not from the wheel')"
	cd $(WHEEL_CHECK) && PYTHONPATH=$(abspath $(WHEEL_CHECK))/site $(abspath $(WHEEL_CHECK))/site/bin/listen demo \
	  --dir $(abspath $(WHEEL_CHECK))/demo

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

airflow: $(STAMP)
	$(BIN)/listen --config $(or $(CONFIG),demo/listen.toml) airflow $(if $(CONFIG),,--demo)

clean:
	rm -rf $(VENV) demo reports build dist
