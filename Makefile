# attn-edu: two commands do everything on a fresh machine.
#   make lab   - create .venv, install attn_edu and its dependencies, open the book in JupyterLab
#   make test  - create or update .venv, then run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.attn-edu-installed
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: lab test venv clean

venv: $(STAMP)

# Reinstall whenever the dependency list or the pins change.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install $(PIP_QUIET) -c constraints.txt -e '.[test,nbgrader]' 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=book $(ROOT_FLAG)

test: $(STAMP)
	$(BIN)/python tools/build_notebooks.py
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) _build .pytest_cache .hypothesis
