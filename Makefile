# Two commands do the whole set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)
DATABASE_NAME ?= rdv
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/$(DATABASE_NAME)

.PHONY: totp run test venv services test-services db demo lint bench-tenancy bench-onboarding bench-slots bench-messaging bench-public-booking bench-reporting bench-load clean-test-db run-prod-local

$(STAMP): requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "ERREUR : $(PYTHON) est introuvable. Installez Python 3.11 (python3.11 et python3.11-venv)."; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> Installation des dépendances (requirements.lock)"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

services:
	@bash deploy/local/ensure-services.sh

test-services:
	@bash deploy/local/ensure-services.sh --test

db: venv services
	@psql -h 127.0.0.1 -U postgres -Atqc "select 1 from pg_database where datname='$(DATABASE_NAME)'" | grep -q 1 || \
		{ echo "==> Création de la base $(DATABASE_NAME)"; createdb -h 127.0.0.1 -U postgres $(DATABASE_NAME); }
	@DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py migrate_schemas --executor=standard -v 0

demo: db
	@DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py bootstrap_demo

## make run: the whole product on http://localhost:8000 with two demo administrations.
run: demo
	@DJANGO_SETTINGS_MODULE=config.settings.dev bash deploy/local/run.sh

## make run-prod-local [PORT=8000]: production settings and processes (Procfile: gunicorn, worker, beat) on
## this machine, own database rdv_prod_local and Redis database 10; Ctrl-C stops all (deploy/local/run-prod.sh).
run-prod-local: venv services
	@PORT=$(or $(PORT),8000) bash deploy/local/run-prod.sh

## make test: the whole suite (reuses the test database locally, fresh in CI).
test: venv test-services
	@DJANGO_SETTINGS_MODULE=config.settings.test bash deploy/local/test.sh $(ARGS)

lint: venv
	@$(VENV)/bin/ruff check .

bench-tenancy: demo
	@DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) bench/tenancy.py

bench-onboarding: demo
	@DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) bench/onboarding.py

## make bench-slots [ARGS="--reuse"]: slots, next availability and booking on a generated administration (own database).
bench-slots: venv services
	@$(PY) bench/slots.py $(ARGS)

## make bench-public-booking [ARGS="--reuse"]: req/s of the usagers' week-of-slots page vs a trivial page (gunicorn + wrk).
bench-public-booking: venv services
	@command -v wrk >/dev/null || sudo -n apt-get install -y wrk || apt-get install -y wrk
	@$(PY) bench/public_booking.py $(ARGS)

## make bench-reporting [ARGS="--reuse"]: statistics page, CSV/XLSX exports and monthly PDF on 1,000,000 appointments (own database).
bench-reporting: venv services
	@$(PY) bench/reporting.py $(ARGS)

## make bench-messaging [ARGS="--count 5000"]: 100,000 SMS reminders through the outbox, a Celery worker and a fake Brevo (own database).
bench-messaging: venv services
	@$(PY) bench/messaging.py $(ARGS)

## make bench-load [ARGS="--duration 60 --faults"]: production processes under load, with faults, then checks (own database and Redis).
bench-load: venv services
	@$(PY) bench/load.py $(ARGS)

totp: venv
	@DJANGO_SETTINGS_MODULE=config.settings.dev $(PY) manage.py totp
