#!/usr/bin/env bash
# Run a command with throw-away PostgreSQL and Redis on loopback, torn down afterwards
# (also on failure or Ctrl-C). Exports DATABASE_URL and REDIS_URL, and FLUXOLAB_SERVICES_DIR,
# FLUXOLAB_PG_CTL and FLUXOLAB_PG_USER for the benchmarks that restart them.
#   scripts/with-services.sh pytest -x
set -euo pipefail

die() { echo "with-services: $*" >&2; exit 2; }

# DATABASE_DRIVER=psycopg2 runs the command on the other PostgreSQL driver (README: "PostgreSQL driver").
DATABASE_DRIVER=${DATABASE_DRIVER:-psycopg}
case $DATABASE_DRIVER in psycopg|psycopg2) ;; *) die "DATABASE_DRIVER must be psycopg or psycopg2" ;; esac

find_pg_bin() {
  local name=$1 candidate
  for candidate in "$(command -v "$name" 2>/dev/null || true)" /usr/lib/postgresql/*/bin/"$name"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] && { echo "$candidate"; return; }
  done
  die "PostgreSQL binary '$name' not found (install the PostgreSQL server binaries)"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# PostgreSQL and redis-server (nginx optional: its tests skip without it when not root),
# installed with apt-get when missing and run as root
"$(dirname "$0")/ensure-tools.sh" services
INITDB=$(find_pg_bin initdb)
PG_CTL=$(find_pg_bin pg_ctl)

WORK=$(mktemp -d /tmp/fluxolab-services.XXXXXX)
PG_PORT=$(free_port)
REDIS_PORT=$(free_port)
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$WORK"
  as_pg=(runuser -u postgres --)
fi

cleanup() {
  local rc=$?
  "${as_pg[@]}" "$PG_CTL" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true
  if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
  sleep 0.2
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_pg[@]}" "$INITDB" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; die "initdb failed"; }
"${as_pg[@]}" "$PG_CTL" -D "$WORK/pg" -l "$WORK/pg.log" -w -t 30 start \
  -o "-p $PG_PORT -k $WORK -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  >/dev/null || { cat "$WORK/pg.log" >&2; die "PostgreSQL did not start"; }

# In a config file, so that a benchmark can restart Redis as it was (bench/chaos.py).
cat >"$WORK/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
save ""
appendonly no
dir $WORK
pidfile $WORK/redis.pid
daemonize yes
logfile $WORK/redis.log
EOF
redis-server "$WORK/redis.conf" >/dev/null
for _ in $(seq 50); do [ -f "$WORK/redis.pid" ] && break; sleep 0.1; done

export DATABASE_URL="postgresql+$DATABASE_DRIVER://postgres@127.0.0.1:$PG_PORT/postgres"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
export FLUXOLAB_SERVICES_DIR="$WORK"
# How to restart them (bench/chaos.py): PostgreSQL's data is in $WORK/pg, Redis reads $WORK/redis.conf.
export FLUXOLAB_PG_CTL="$PG_CTL"
export FLUXOLAB_PG_USER="${as_pg[2]:-}"
echo "with-services: PostgreSQL on 127.0.0.1:$PG_PORT ($DATABASE_DRIVER), Redis on 127.0.0.1:$REDIS_PORT" >&2
"$@"
