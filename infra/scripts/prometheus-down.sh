#!/usr/bin/env bash
# Stops the Prometheus that prometheus-up.sh started (pid file), never another one. Idempotent.
# Settings: PROMETHEUS_PORT (9090) selects which of ours.
set -euo pipefail
ROTA_SCRIPT=prometheus-down
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
name="prometheus"; [[ "$PROMETHEUS_PORT" == 9090 ]] || name="prometheus-${PROMETHEUS_PORT}"
# The command line must name our config, so a recycled pid is never killed.
stop_pidfile "$name" "$ROTA_RUN/${name}.pid" "infra/prometheus/prometheus.yml"
