# attn-edu: two commands do everything on a fresh machine.
#   make lab   - create .venv, install attn_edu and its dependencies, open the book in JupyterLab
#   make test  - create or update .venv, then run the whole test suite
#   make book  - the HTML book in _build/html/, from the chapters as `make test` executed them
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.attn-edu-installed
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: lab test book venv clean

venv: $(STAMP)

# Reinstall whenever the dependency list, the pins or the JupyterLab settings change.
$(STAMP): pyproject.toml constraints.txt jupyter/overrides.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -m pip install $(PIP_QUIET) -c constraints.txt -e '.[test,nbgrader,book]' 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
	@mkdir -p $(VENV)/share/jupyter/lab/settings
	@cp jupyter/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	@touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

# The repository's root, so that book/ and exercises/ are both there; it opens on book/.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=. --ServerApp.default_url=/lab/tree/book $(ROOT_FLAG)

# One execution of the chapters serves both: nbval runs them in the first
# pytest (conftest.py keeps the outputs), the site is built from that run,
# then the browser tests check the site and JupyterLab.
test: $(STAMP)
	$(BIN)/python tools/build_notebooks.py
	$(BIN)/python -m pytest --ignore=tests/browser
	$(BIN)/python tools/build_book.py --quiet
	$(BIN)/python -m pytest tests/browser

# Executes the chapters (nbval) only if they have not been executed since they last changed.
book: $(STAMP)
	$(BIN)/python tools/build_notebooks.py
	$(BIN)/python tools/build_book.py --execute-missing

clean:
	rm -rf $(VENV) _build .pytest_cache .hypothesis
