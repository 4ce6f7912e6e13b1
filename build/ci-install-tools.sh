#!/usr/bin/env bash
# Installs the tools some tests need beyond the .NET SDK. Called by .ci/run; safe to run twice.
#  - promtool (Debian package "prometheus") validates the Prometheus text the gateway renders.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1 && [ ! -x /usr/bin/promtool ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package starts a Prometheus server; the tests need only promtool.
  (systemctl stop prometheus 2>/dev/null || service prometheus stop 2>/dev/null || pkill -x prometheus || true) >/dev/null 2>&1
fi
promtool --version | head -n 1
