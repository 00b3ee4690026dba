#!/usr/bin/env bash
# Start the web server, a Celery worker and Celery beat together; Ctrl-C stops all three.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-config.settings.dev}
PORT=${PORT:-8000}
export SITE_PORT=$PORT
mkdir -p var

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> Arrêt du serveur web, du worker et de beat"
  kill "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  exit 0
}
trap stop INT TERM EXIT

$PY -m celery -A config worker --loglevel=INFO --concurrency=2 --hostname="dev@%h" &
pids+=($!)
$PY -m celery -A config beat --loglevel=INFO --schedule=var/celerybeat-schedule &
pids+=($!)
$PY manage.py runserver "127.0.0.1:$PORT" &
pids+=($!)

sleep 2
$PY manage.py bootstrap_demo --summary-only
wait -n "${pids[@]}"
echo "Un des processus s'est arrêté ; arrêt des autres." >&2
stop
