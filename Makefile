# Two commands for a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-test bench-clock bench-failover bench-pages bench-notify bench-http chromium pdf-libraries translations clean

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
run: install pdf-libraries
	@mkdir -p instance
	$(BIN)/flask db upgrade
	MFA_REQUIRED=0 $(BIN)/flask demo-data
	@# exec: make's SIGTERM (make killed) reaches serve-all itself, which stops its engine; --stop-with-parent for a SIGKILL.
	exec env MFA_REQUIRED=0 PORT=$(PORT) $(BIN)/flask serve-all --port $(PORT) --stop-with-parent

## The browser tests drive Debian's Chromium (Playwright cannot download its own here), with a CJK font for screenshots.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = "0" ]; then apt-get update -q && apt-get install -y -q chromium fonts-wqy-zenhei; \
		else echo "The browser tests need Chromium: run 'sudo apt-get install chromium fonts-wqy-zenhei' (Debian/Ubuntu)." >&2; exit 1; fi; \
	fi

## The auditor's pack renders PDFs with WeasyPrint: Pango and a CJK font from Debian. Without them (and not root to
## install them) `make run` still serves, and the pack answers 503 pdf_unavailable; `make test` needs them.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-wqy-zenhei
pdf-libraries:
	@if ! ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || [ ! -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then \
		if [ "$$(id -u)" = "0" ]; then apt-get update -q && apt-get install -y -q $(PDF_PACKAGES); \
		else echo "PDFs in the auditor's pack need Pango and a CJK font: run 'sudo apt-get install $(PDF_PACKAGES)' (Debian/Ubuntu)." >&2; \
			if [ -n "$(NEED_PDF)" ]; then exit 1; fi; fi; \
	fi

## make translations: collect the pages' messages, merge them into the zh-TW catalogue, compile it (the .mo is committed).
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o incident_service/translations/messages.pot .
	$(BIN)/pybabel update -i incident_service/translations/messages.pot -d incident_service/translations -l zh_Hant_TW --no-fuzzy-matching --width 120
	$(BIN)/pybabel compile -d incident_service/translations

## make test: the whole suite on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set (all but the browser
## walks, which drive the same pages the web tests check on both databases). Both cores (pytest-xdist, work stealing
## so the long tests do not leave a core idle; each worker has its own database beside TEST_DATABASE_URL).
test: install-test chromium
	@$(MAKE) --no-print-directory pdf-libraries NEED_PDF=1
	@echo "== import layers (import-linter) =="
	$(BIN)/lint-imports
	@echo "== test suite on SQLite =="
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -n auto --dist worksteal
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== test suite on $$TEST_DATABASE_URL =="; \
		$(BIN)/python -m pytest -n auto --dist worksteal -m "not browser"; \
	fi

## make bench-clock: 100,000 pending deadlines, 10,000 due in one minute, two engines on PostgreSQL (bench_clock_h14).
bench-clock: install-test
	$(BIN)/python -m bench.clock

## make bench-failover: two engines on PostgreSQL, 1,000 escalations to a loopback webhook, one killed mid-burst.
bench-failover: install-test
	$(BIN)/python -m bench.failover

bench-pages: install-test
	$(BIN)/python -m bench.pages

bench-notify: install-test
	$(BIN)/python -m bench.notify

## make bench-http: gunicorn + PostgreSQL (database bench_http) under wrk at 10,000 and 100,000 incidents.
bench-http: install-test
	$(BIN)/python -m bench.http

clean:
	rm -rf $(VENV) instance/*.db .pytest_cache
