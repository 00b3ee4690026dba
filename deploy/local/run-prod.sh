#!/usr/bin/env bash
# make run-prod-local: the production settings (config.settings.prod) and processes (the Procfile: gunicorn,
# Celery worker, Celery beat) on this machine, against the local PostgreSQL and Redis, in the foreground.
# Ctrl-C stops all three; if one of them dies, the others are stopped too.
#
# Own database (PROD_LOCAL_DATABASE, default rdv_prod_local, created if missing), own Redis database
# (PROD_LOCAL_REDIS_URL, default redis://127.0.0.1:6379/10), own Celery queue and cache prefix: it never
# mixes with `make run`. A SECRET_KEY is generated once into var/prod-local/secret-key. Plain HTTP on
# loopback (SITE_SCHEME=http, no TLS redirect): http://localhost:$PORT/ and http://<slug>.localhost:$PORT/.
# gunicorn believes X-Real-IP from 127.0.0.1 (as from nginx in production), so a load tool on loopback
# may give each simulated usager its own address.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
export PATH="$root/.venv/bin:$PATH"

port=${PORT:-8000}
database=${PROD_LOCAL_DATABASE:-rdv_prod_local}
mkdir -p var/prod-local
key_file=var/prod-local/secret-key
if [ ! -s "$key_file" ]; then
  (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(64))' > "$key_file")
fi

export DJANGO_SETTINGS_MODULE=config.settings.prod
export DJANGO_SECRET_KEY="$(cat "$key_file")"
export BASE_DOMAIN=localhost
export ALLOWED_HOSTS=localhost,.localhost
export DATABASE_URL=${PROD_LOCAL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/$database}
export REDIS_URL=${PROD_LOCAL_REDIS_URL:-redis://127.0.0.1:6379/10}
export CELERY_QUEUE=rdv-prod-local
export CACHE_KEY_PREFIX=rdv-prod-local
export DEFAULT_FROM_EMAIL="RDV Service Public <ne-pas-repondre@rdv.localhost>"
# No SMTP server here: e-mails are accepted and dropped (never printed: logs carry no personal data).
export EMAIL_BACKEND=${EMAIL_BACKEND:-django.core.mail.backends.dummy.EmailBackend}
export SITE_SCHEME=http SITE_PORT=$port SECURE_SSL_REDIRECT=false SECURE_HSTS_SECONDS=0
export MEDIA_ROOT=$root/var/prod-local/media EXPORTS_ROOT=$root/var/prod-local/exports
export TMPDIR=$root/var/prod-local
export GUNICORN_BIND=127.0.0.1:$port
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
export CELERY_WORKER_CONCURRENCY=${CELERY_WORKER_CONCURRENCY:-2}
export GUNICORN_GRACEFUL_TIMEOUT=${GUNICORN_GRACEFUL_TIMEOUT:-5}
unset SENTRY_DSN

procfile_command() { sed -n "s/^$1: *//p" Procfile; }
die() { printf 'ERREUR : %s\n' "$*" >&2; exit 1; }

if [ -z "${PROD_LOCAL_DATABASE_URL:-}" ]; then
  psql -h 127.0.0.1 -U postgres -Atqc "select 1 from pg_database where datname='$database'" | grep -q 1 || {
    echo "==> Création de la base $database"
    createdb -h 127.0.0.1 -U postgres "$database" || die "impossible de créer la base $database"
  }
fi
# `run-prod.sh manage <command> ...`: a management command with this environment (e.g. create_administration).
if [ "${1:-}" = manage ]; then
  shift
  exec python manage.py "$@"
fi

echo "==> Migrations (Procfile: release)"
bash -c "$(procfile_command release) -v 0" || die "les migrations ont échoué"
# collectstatic compresses every file (a minute on a busy machine): skipped when the manifest is newer than
# the project's static sources and the installed packages (requirements.lock).
stamp=var/prod-local/collectstatic.done
if [ -f staticfiles/staticfiles.json ] && [ -f "$stamp" ] && \
   [ -z "$(find static requirements.lock -newer "$stamp" -print -quit)" ]; then
  echo "==> Fichiers statiques déjà à jour (staticfiles/)"
else
  echo "==> Fichiers statiques (collectstatic dans staticfiles/)"
  touch "$stamp.new"
  python manage.py collectstatic --noinput -v 0 || die "collectstatic a échoué"
  mv "$stamp.new" "$stamp"
fi

pids=()
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap - INT TERM
  echo; echo "==> Arrêt de gunicorn, du worker et de beat"
  # Each process leads its own group: its children (gunicorn's workers, Celery's pool) go with it, even
  # when its master died first.
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null; done
  wait 2>/dev/null
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

for name in web worker beat; do
  command=$(procfile_command "$name")
  [ -n "$command" ] || die "le Procfile n'a pas de processus $name"
  # Its own process group (setsid; Ctrl-C reaches only this script, which stops the groups in order);
  # each line of output is prefixed with its process name.
  setsid bash -c "exec $command" > >(sed -u "s/^/$name | /") 2>&1 &
  pids+=($!)
done

for _ in $(seq 1 150); do
  if python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=2)" 2>/dev/null
  then
    echo "==> Prêt : http://localhost:$port/ (plateforme), http://<administration>.localhost:$port/, /healthz"
    break
  fi
  sleep 0.2
done

wait -n "${pids[@]}"
status=$?
sleep 0.5  # a signal that came with the exit: let the trap run first
[ "$stopping" = 1 ] && exit 0
echo "Un des processus s'est arrêté (code $status) ; arrêt des autres." >&2
stop
exit 1
