#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, and (with --test) that the Debian packages
# the tests need are installed. Starts what is installed but stopped; installs with apt-get when
# run as root on Debian/Ubuntu; otherwise says exactly what to do and fails.
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_PORT=6379
want_test_packages=0
[ "${1:-}" = "--test" ] && want_test_packages=1

say() { printf '==> %s\n' "$*"; }
die() { printf 'ERREUR : %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
have_apt() { command -v apt-get >/dev/null 2>&1; }
apt_updated=0
apt_install() {
  is_root && have_apt || return 1
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null || \
  (command -v psql >/dev/null && psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -Atqc 'select 1' >/dev/null 2>&1); }
redis_up() {
  if command -v redis-cli >/dev/null 2>&1; then
    [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]
  else
    (exec 3<>/dev/tcp/127.0.0.1/$REDIS_PORT && printf 'PING\r\n' >&3 && head -c5 <&3 | grep -q PONG) 2>/dev/null
  fi
}

# --- PostgreSQL ---------------------------------------------------------------------------------
if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    say "PostgreSQL absent : installation (apt-get install postgresql)"
    apt_install postgresql postgresql-contrib || die "PostgreSQL ne répond pas sur $PG_HOST:$PG_PORT et ne peut pas être installé automatiquement.
  Installez PostgreSQL 15 (sudo apt-get install postgresql), autorisez l'utilisateur postgres sans mot de passe
  sur 127.0.0.1 (méthode trust dans pg_hba.conf), démarrez-le, puis relancez cette commande."
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
  [ -n "$version" ] || die "Aucun cluster PostgreSQL trouvé dans /etc/postgresql."
  hba=/etc/postgresql/$version/main/pg_hba.conf
  if is_root && [ -f "$hba" ] && ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  say "Démarrage de PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start || \
    die "PostgreSQL n'a pas démarré : lancez « pg_ctlcluster $version main start » et lisez son message."
  for _ in $(seq 1 30); do pg_up && break; sleep 0.5; done
  pg_up || die "PostgreSQL ne répond toujours pas sur $PG_HOST:$PG_PORT."
fi

# --- Redis --------------------------------------------------------------------------------------
if ! redis_up; then
  if ! command -v redis-server >/dev/null 2>&1; then
    say "Redis absent : installation (apt-get install redis-server)"
    apt_install redis-server || die "Redis ne répond pas sur 127.0.0.1:$REDIS_PORT et ne peut pas être installé automatiquement.
  Installez Redis (sudo apt-get install redis-server) et démarrez-le, puis relancez cette commande."
  fi
  say "Démarrage de Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no >/dev/null
  for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
  redis_up || die "Redis ne répond toujours pas sur 127.0.0.1:$REDIS_PORT."
fi

# --- Packages for the tests: Chromium (browser tests), libharfbuzz-subset0 (WeasyPrint PDFs) -----
if [ "$want_test_packages" = 1 ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  dpkg -s libharfbuzz-subset0 >/dev/null 2>&1 || missing+=(libharfbuzz-subset0)
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
  if [ ${#missing[@]} -gt 0 ]; then
    say "Installation des paquets nécessaires aux tests : ${missing[*]}"
    apt_install "${missing[@]}" || die "Paquets manquants pour les tests : ${missing[*]}.
  Installez-les (sudo apt-get install ${missing[*]}) puis relancez « make test »."
  fi
fi
exit 0
