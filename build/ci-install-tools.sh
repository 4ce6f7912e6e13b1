#!/usr/bin/env bash
# Installs the tools some tests need beyond the .NET SDK. Called by .ci/run; safe to run twice.
#  - promtool (Debian package "prometheus") validates the Prometheus text the gateway renders.
#  - redis-server (Debian package "redis-server"): the HardenedGateway.Redis tests start their own
#    instance on a free loopback port and stop it by its process id.
#  - chromium (Debian package "chromium"): the status page is tested in a real headless browser.
#
# No system service is started by the install: a policy-rc.d that answers 101 ("action forbidden")
# is in place while apt-get runs, so no process has to be stopped afterwards (and none is ever
# ended by name). An existing policy-rc.d is left as it was.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || [ -x /usr/bin/promtool ] || need+=(prometheus)
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium fonts-dejavu-core)

if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    created_policy=1
  fi
  trap '[ "$created_policy" -eq 1 ] && rm -f "$policy"' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

promtool --version 2>&1 | head -n 1
redis-server --version | head -n 1
chromium --version 2>/dev/null | head -n 1 || true
