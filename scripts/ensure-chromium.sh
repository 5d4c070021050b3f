#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser test of the public form pages
# (tests/forms/test_browser.py drives /usr/bin/chromium with Playwright; no browser download).
# As root with apt-get it installs the package; otherwise it warns and the test skips.
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: installing chromium (browser test of the form pages) with apt-get" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null \
    || echo "ensure-chromium: warning: could not install chromium; the browser test will skip" >&2
  exit 0
fi
echo "ensure-chromium: warning: /usr/bin/chromium is missing (apt-get install chromium);" \
  "the browser test of the form pages will skip" >&2
