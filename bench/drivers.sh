#!/usr/bin/env bash
# The two PostgreSQL drivers in one batch: executions.py then webhook_intake.py on psycopg 3,
# the same on psycopg2, and again (A/B/A/B...), so that the box's drift and the load of
# anything else running hits both alike. Prints each run's summary line at the end.
#   scripts/with-services.sh bench/drivers.sh [ROUNDS]          (2 rounds by default)
# EXECUTIONS_ARGS / WEBHOOK_ARGS: extra options of the two scripts; OUT: where the full
# reports go (a new /tmp folder by default). See bench/README.md, "PostgreSQL drivers".
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
base=${DATABASE_URL:?run it with scripts/with-services.sh}
out=${OUT:-$(mktemp -d /tmp/fluxolab-drivers.XXXXXX)}
mkdir -p "$out"
python=${PYTHON:-.venv/bin/python}
for round in $(seq "$rounds"); do
  for driver in psycopg psycopg2; do
    export DATABASE_URL="postgresql+$driver://${base#*://}"
    for script in executions webhook_intake; do
      args=${EXECUTIONS_ARGS:-}
      [ "$script" = webhook_intake ] && args=${WEBHOOK_ARGS:-}
      echo "drivers: round $round, $driver, $script.py $args ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      # shellcheck disable=SC2086
      "$python" "bench/$script.py" $args >"$out/$script-$driver-$round.txt"
    done
  done
done
echo "drivers: reports in $out" >&2
for script in executions webhook_intake; do
  for round in $(seq "$rounds"); do
    for driver in psycopg psycopg2; do
      echo "$script round $round $driver: $(tail -n 1 "$out/$script-$driver-$round.txt")"
    done
  done
done
