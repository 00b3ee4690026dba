#!/bin/sh
# One image, four roles, the commands of the Procfile: `web` (gunicorn, the default), `worker` (Celery
# worker), `beat` (Celery beat: run exactly one), `migrate` (one-shot migrate_schemas before a roll-out,
# after `check --deploy`). Anything else is executed as is, e.g.
#   docker run --rm --env-file ... rdv-service-public python manage.py create_administration ...
set -eu
cd "$(dirname "$0")/.."  # /app in the image

procfile_command() {
  sed -n "s/^$1: *//p" Procfile
}

role=${1:-web}
case "$role" in
  web|worker|beat|release|migrate)
    [ "$#" -gt 0 ] && shift
    if [ "$role" = migrate ]; then
      python manage.py check --deploy --fail-level WARNING
      role=release
    fi
    command=$(procfile_command "$role")
    [ -n "$command" ] || { echo "Procfile has no '$role' process" >&2; exit 1; }
    # The Procfile line is expanded by the shell (its ${VAR:-default}); extra arguments are appended.
    exec sh -c "exec $command \"\$@\"" "$role" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
