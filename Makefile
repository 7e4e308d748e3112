# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   — set up .venv and run the demo (SQLite, local channel, no tokens, no network)
#   make test   — set up .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint typecheck clean i18n

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench,postgres,sim]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dutydesk demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/overlap.py
	$(BIN)/python bench/langid.py ../shared/langid-testdata/lingua
	$(BIN)/python bench/scheduler.py
	$(BIN)/python bench/telegram_send.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/failover.py
	$(BIN)/python bench/dashboard.py

lint: $(STAMP)
	$(BIN)/python -m ruff check .

typecheck: $(STAMP)
	$(BIN)/python -m mypy

# Texts: extract the message keys from the source (babel.cfg, bot/i18n/extract.py); when
# they changed, merge them into every language's catalogue (a new key arrives empty, and the
# catalogue tests fail until it is worded in each language); compile the .mo files the
# package ships. Unchanged keys leave the .pot and .po files as they are (no date churn).
LOCALE := bot/i18n/locale
CUSTOMER_KEYWORDS := -k text -k ntext:1,2 -k customer_key -k CommandError
STAFF_KEYWORDS := -k staff_text -k staff_ntext:1,2 -k staff_key -k StaffError -k desk_reason -k pgettext:1c,2
PYBABEL := $(BIN)/pybabel -q
EXTRACT := $(PYBABEL) extract -F babel.cfg --no-default-keywords --sort-output --add-location=file \
	--project=dutydesk --copyright-holder=dutydesk --no-wrap
UPDATE := $(PYBABEL) update -d $(LOCALE) --no-fuzzy-matching --ignore-obsolete --no-wrap

i18n: $(STAMP)
	$(EXTRACT) $(CUSTOMER_KEYWORDS) -o $(LOCALE)/customer.new.pot .
	$(EXTRACT) $(STAFF_KEYWORDS) -o $(LOCALE)/staff.new.pot .
	@for domain in customer staff; do \
	  if diff -q -I '^"POT-Creation-Date' $(LOCALE)/$$domain.pot $(LOCALE)/$$domain.new.pot >/dev/null 2>&1; then \
	    rm $(LOCALE)/$$domain.new.pot; \
	  else \
	    echo "$$domain: keys changed, updating the catalogues"; \
	    mv $(LOCALE)/$$domain.new.pot $(LOCALE)/$$domain.pot && $(UPDATE) -D $$domain -i $(LOCALE)/$$domain.pot || exit 1; \
	  fi; \
	done
	$(PYBABEL) compile -D customer -d $(LOCALE)
	$(PYBABEL) compile -D staff -d $(LOCALE)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
