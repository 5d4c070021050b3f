#!/usr/bin/env bash
# Make sure bubblewrap (bwrap) is installed: the Code node runs user code inside it.
# As root with apt-get it installs Debian's package; otherwise it says what to install.
#   scripts/ensure-bwrap.sh             # missing bwrap is an error (make test)
#   scripts/ensure-bwrap.sh --optional  # missing bwrap is a warning (make run)
set -euo pipefail

command -v bwrap >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-bwrap: installing bubblewrap (the Code node sandbox) with apt-get" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends bubblewrap >/dev/null
  exit 0
fi
missing="bubblewrap (bwrap) is missing; the Code node runs user code inside it. Install it:
  Debian/Ubuntu: sudo apt-get install bubblewrap    Fedora: sudo dnf install bubblewrap"
if [ "${1:-}" = "--optional" ]; then
  echo "ensure-bwrap: warning: $missing
Until then Code-node runs are refused (or set CODE_SANDBOX_REQUIRE_ISOLATION=false to accept weaker isolation)." >&2
  exit 0
fi
echo "ensure-bwrap: $missing" >&2
exit 2
