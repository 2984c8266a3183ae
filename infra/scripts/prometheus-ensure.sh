#!/usr/bin/env bash
# Ensures the `prometheus` and `promtool` binaries exist (Debian package `prometheus`), without
# leaving the package's own daemon running on :9090: the project runs Prometheus itself, with its
# own config (infra/prometheus, see docs/infrastructure.md). Idempotent; installs only when missing.
set -euo pipefail
ROTA_SCRIPT=prometheus-ensure
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 \
    || die "prometheus/promtool missing and no apt-get here: install Prometheus 2.x and put both on PATH"
  [[ "$(id -u)" == 0 ]] || die "prometheus/promtool missing: run as root, or: sudo apt-get install -y --no-install-recommends prometheus"

  # Keep maintainer scripts from starting the daemon (policy-rc.d exit 101 = "action forbidden").
  # An existing policy is left as it is; a temporary one is removed again on exit.
  created_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from rota prometheus-ensure.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[[ -n "$created_policy" ]] && rm -f /usr/sbin/policy-rc.d' EXIT

  log "installing Debian package prometheus (apt-get update + install, no recommends)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null

  # Whatever the init system, make sure the packaged service neither runs now nor at boot.
  if [[ "$(ps -p 1 -o comm= 2>/dev/null)" == systemd ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/prometheus ]]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi

# The Debian daemon runs as user `prometheus` with /etc/prometheus/prometheus.yml; stop exactly those
# processes (by pid) if the package, or an earlier boot, started them. Ours never use that config.
for pid in $(pgrep -u prometheus -x prometheus 2>/dev/null || true); do
  warn "stopping the Debian-packaged Prometheus daemon (pid $pid) so that :9090 stays free for ours"
  kill -TERM "$pid" 2>/dev/null || true
done

log "$(prometheus --version 2>&1 | head -n1)"
log "$(promtool --version 2>&1 | head -n1)"
