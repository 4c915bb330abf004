# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-test bench-clock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make run: set up, migrate the SQLite database, load demo data once, serve web + API + clock engine.
run: install
	@mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask demo-data
	PORT=$(PORT) $(BIN)/flask serve-all --port $(PORT)

## make test: the whole suite on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.
test: install-test
	@echo "== test suite on SQLite =="
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== test suite on $$TEST_DATABASE_URL =="; \
		$(BIN)/python -m pytest; \
	fi

bench-clock: install-test
	$(BIN)/python -m bench.clock

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache
