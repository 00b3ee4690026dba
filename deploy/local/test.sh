#!/usr/bin/env bash
# Run the whole suite. Locally the test database is kept between runs (--reuse-db); in CI it is
# created afresh. Browser tests are never skipped in CI.
set -uo pipefail
cd "$(dirname "$0")/../.."
args=()
if [ "${CI:-}" = "true" ]; then
  args+=(--create-db)
else
  args+=(--reuse-db)
fi
.venv/bin/python -m pytest "${args[@]}" "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "Aucun test n'a été exécuté." >&2
fi
exit $status
