#!/usr/bin/env bash
# Make sure Debian's prometheus server is installed for the scrape test of /metrics
# (tests/metrics/test_prometheus_scrape.py runs /usr/bin/prometheus on loopback).
# As root with apt-get it installs the package; otherwise it warns and the test skips.
set -euo pipefail

[ -x /usr/bin/prometheus ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-prometheus: installing prometheus (scrape test of /metrics) with apt-get" >&2
  apt-get update -qq >/dev/null
  # --no-install-recommends: the server binary alone, without the node exporter and its service.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
    || echo "ensure-prometheus: warning: could not install prometheus; the scrape test will skip" >&2
  exit 0
fi
echo "ensure-prometheus: warning: /usr/bin/prometheus is missing (apt-get install prometheus);" \
  "the scrape test of /metrics will skip" >&2
