# Two commands from a clean clone:  make demo  |  make test
# The venv is built once (stamp file) and rebuilt when the pins change.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install bench airflow clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

airflow: $(STAMP)
	$(BIN)/listen --config $(or $(CONFIG),demo/listen.toml) airflow $(if $(CONFIG),,--demo)

clean:
	rm -rf $(VENV) demo reports
