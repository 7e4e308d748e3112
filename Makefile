# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   — set up .venv and run the demo (SQLite, local channel, no tokens, no network)
#   make test   — set up .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint typecheck clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dutydesk demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/langid.py ../shared/langid-testdata/lingua
	$(BIN)/python bench/scheduler.py
	$(BIN)/python bench/telegram_send.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/dashboard.py

lint: $(STAMP)
	$(BIN)/python -m ruff check .

typecheck: $(STAMP)
	$(BIN)/python -m mypy

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
