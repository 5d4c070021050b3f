#!/usr/bin/env bash
# Make sure the system tools a make target needs are on this machine. As root with apt-get it
# installs the missing Debian/Ubuntu packages (one `apt-get update`, only what is missing);
# otherwise it names them and the command that installs them.
#   scripts/ensure-tools.sh test      # make test: the whole suite's tools
#   scripts/ensure-tools.sh run       # make run: the Python venv module; bubblewrap optional
#   scripts/ensure-tools.sh services  # scripts/with-services.sh: PostgreSQL and Redis (nginx optional)
#   scripts/ensure-tools.sh venv      # make install: the Python venv module (unless $VENV exists)
#   add --dry-run to print what would be installed and change nothing
# A required tool that is still missing exits 2; a missing optional one is a warning (the
# tests that use it skip; for make run, Code-node runs are refused until bubblewrap is there).
set -euo pipefail

PYTHON=${PYTHON:-python3}  # the interpreter that creates the venv (the Makefile's PYTHON)
me="ensure-tools"

usage() { echo "usage: $0 test|run|services|venv [--dry-run]" >&2; exit 64; }

profile=${1:-}
dry_run=false
case "${2:-}" in --dry-run) dry_run=true ;; "") ;; *) usage ;; esac

# tool -> Debian package, and what it is for (shown when it is missing); plain functions, so
# that macOS' bash 3 runs `make run` too
package() {
  case "$1" in
    venv) echo python3-venv ;; postgres) echo postgresql ;; redis) echo redis-server ;;
    bwrap) echo bubblewrap ;; *) echo "$1" ;;  # chromium, nginx, prometheus
  esac
}
purpose() {
  case "$1" in
    venv)       echo "Python's venv module (ensurepip), which creates .venv" ;;
    postgres)   echo "PostgreSQL server binaries (initdb, pg_ctl) for the throw-away test database" ;;
    redis)      echo "Redis server for the throw-away test broker" ;;
    bwrap)      echo "bwrap, which confines the Code node's runs" ;;
    chromium)   echo "Debian's chromium for the browser test of the form pages" ;;
    nginx)      echo "nginx for the tests of the compose proxy" ;;
    prometheus) echo "Debian's prometheus for the metrics scrape test" ;;
  esac
}
# packages whose Debian install starts a system-wide service the tests do not use
SERVICES=(postgresql redis-server nginx prometheus)

case "$profile" in
  test)     required=(venv postgres redis bwrap); optional=(chromium nginx prometheus) ;;
  run)      required=(venv);                      optional=(bwrap) ;;
  services) required=(postgres redis);            optional=(nginx) ;;
  venv)     required=(venv);                      optional=() ;;
  *) usage ;;
esac

# an executable file on PATH (bash's `command -v` also names non-executable files)
found() { local path; path=$(command -v "$1" 2>/dev/null) && [ -f "$path" ] && [ -x "$path" ]; }
has() {
  case "$1" in
    venv)       [ -x "${VENV:-.venv}/bin/python" ] \
                  || "$PYTHON" -c 'import ensurepip, venv; ensurepip.version()' >/dev/null 2>&1 ;;
    postgres)   { [ -x "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | tail -1)" ] \
                  && [ -x "$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -1)" ]; } \
                  || { found initdb && found pg_ctl; } ;;
    redis)      found redis-server ;;
    bwrap)      found bwrap ;;
    chromium)   [ -x /usr/bin/chromium ] && [ -f /usr/bin/chromium ] ;;
    nginx)      found nginx || [ -x /usr/sbin/nginx ] ;;
    prometheus) found prometheus ;;
  esac
}

missing_required=() missing_optional=()
for tool in "${required[@]}"; do has "$tool" || missing_required+=("$tool"); done
for tool in "${optional[@]+"${optional[@]}"}"; do has "$tool" || missing_optional+=("$tool"); done
missing=("${missing_required[@]+"${missing_required[@]}"}" "${missing_optional[@]+"${missing_optional[@]}"}")
[ ${#missing[@]} = 0 ] && exit 0

packages() { local tool; for tool in "$@"; do printf '%s ' "$(package "$tool")"; done; }
describe() { local tool; for tool in "$@"; do echo "  $(package "$tool"): $(purpose "$tool")" >&2; done; }

can_install=true
if [ "$(id -u)" != 0 ]; then
  can_install=false why="not running as root"
elif ! found apt-get; then
  can_install=false why="no apt-get on this system"
fi

if ! $can_install; then
  if [ ${#missing_required[@]} != 0 ]; then
    echo "$me: missing ($why, so not installed):" >&2
    describe "${missing_required[@]}"
  fi
  if [ ${#missing_optional[@]} != 0 ]; then
    if [ "$profile" = run ]; then
      effect="Code-node runs are refused until it is installed, or set"
      effect="$effect CODE_SANDBOX_REQUIRE_ISOLATION=false to accept weaker isolation"
    else
      effect="the tests that use them skip"
    fi
    echo "$me: warning: missing ($effect):" >&2
    describe "${missing_optional[@]}"
  fi
  echo "$me: on Debian/Ubuntu: sudo apt-get install $(packages "${missing[@]}")" >&2
  case " ${missing[*]} " in
    *" postgres "*) echo "$me: elsewhere: the same tools from the system's packages (PostgreSQL's initdb and pg_ctl on PATH)" >&2 ;;
  esac
  [ ${#missing_required[@]} = 0 ] || exit 2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/ensure-tools.XXXXXX)
trap 'rm -f "$log"' EXIT
apt() {
  if $dry_run; then echo "$me: would run: apt-get $*" >&2; return 0; fi
  apt-get "$@" >"$log" 2>&1
}
apt_install() { apt install -y -qq --no-install-recommends "$@"; }

echo "$me: installing with apt-get: $(packages "${missing[@]}")" >&2
describe "${missing[@]}"
apt update -qq || { cat "$log" >&2; echo "$me: warning: apt-get update failed; trying the package lists on disk" >&2; }
if [ ${#missing_required[@]} != 0 ]; then
  # shellcheck disable=SC2046 # one word per package
  apt_install $(packages "${missing_required[@]}") \
    || { cat "$log" >&2; echo "$me: could not install $(packages "${missing_required[@]}")" >&2; exit 2; }
fi
if [ ${#missing_optional[@]} != 0 ]; then
  # shellcheck disable=SC2046
  apt_install $(packages "${missing_optional[@]}") || for tool in "${missing_optional[@]}"; do
    apt_install "$(package "$tool")" \
      || echo "$me: warning: could not install $(package "$tool"); the tests that use it skip" >&2
  done
fi
$dry_run && exit 0

for service in "${SERVICES[@]}"; do  # the packages start system-wide daemons; the tests run their own
  for tool in "${missing[@]}"; do
    if [ "$(package "$tool")" = "$service" ] && found invoke-rc.d; then
      invoke-rc.d "$service" stop >/dev/null 2>&1 || true
    fi
  done
done

still=()
for tool in "${missing_required[@]+"${missing_required[@]}"}"; do has "$tool" || still+=("$tool"); done
if [ ${#still[@]} != 0 ]; then
  echo "$me: still missing after apt-get install:" >&2
  describe "${still[@]}"
  exit 2
fi
