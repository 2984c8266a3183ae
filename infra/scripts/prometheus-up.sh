#!/usr/bin/env bash
# Starts Prometheus (the system binary, see prometheus-ensure.sh) with the project's scrape config
# and rules (infra/prometheus), unless ours already runs. Idempotent; called by infra-up.sh.
#   data  .run/prometheus/data      log  .run/logs/prometheus.log      pid  .run/prometheus.pid
# Settings: PROMETHEUS_PORT (9090), PROMETHEUS_RETENTION (2d), PROMETHEUS_START_TIMEOUT (30 s).
# Exit codes: 0 running (started or already ours), 3 the port is held by another process, 1 failure.
set -euo pipefail
ROTA_SCRIPT=prometheus-up
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
PROMETHEUS_RETENTION="${PROMETHEUS_RETENTION:-2d}"
PROMETHEUS_START_TIMEOUT="${PROMETHEUS_START_TIMEOUT:-30}"
[[ "$PROMETHEUS_PORT" =~ ^[0-9]+$ ]] || die "PROMETHEUS_PORT must be a port number, got '$PROMETHEUS_PORT'"
name="prometheus"; [[ "$PROMETHEUS_PORT" == 9090 ]] || name="prometheus-${PROMETHEUS_PORT}"
PID_FILE="$ROTA_RUN/${name}.pid"
DATA_DIR="$ROTA_RUN/${name}/data"
LOG_FILE="$ROTA_LOGS/${name}.log"
CONFIG="$ROTA_ROOT/infra/prometheus/prometheus.yml"
URL="http://127.0.0.1:${PROMETHEUS_PORT}"

ready() { curl -fsS -m 2 "$URL/-/ready" >/dev/null 2>&1; }

if pid_alive "$PID_FILE"; then
  if ready; then
    log "already running (pid $(cat "$PID_FILE")) at $URL"
    exit 0
  fi
  die "pid $(cat "$PID_FILE") from $PID_FILE is alive but $URL/-/ready does not answer; see $LOG_FILE or run prometheus-down.sh"
fi
if tcp_open 127.0.0.1 "$PROMETHEUS_PORT"; then
  # Exit code 3 (not 1): infra-up.sh tells this case apart and carries on without our Prometheus.
  printf '[%s] ERROR: %s\n' "$ROTA_SCRIPT" "port $PROMETHEUS_PORT is taken by a process we did not start; stop it or set PROMETHEUS_PORT" >&2
  exit 3
fi

command -v prometheus >/dev/null 2>&1 || bash "$(dirname "${BASH_SOURCE[0]}")/prometheus-ensure.sh"
command -v curl >/dev/null 2>&1 || die "curl not found (apt-get install -y curl)"
# A config that does not load would only show up in the log; fail here with promtool's words.
promtool check config "$CONFIG" >/dev/null || die "promtool check config $CONFIG failed"

mkdir -p "$DATA_DIR" "$ROTA_LOGS"
log "starting on :$PROMETHEUS_PORT (config infra/prometheus/prometheus.yml, data ${DATA_DIR#"$ROTA_ROOT"/}, log ${LOG_FILE#"$ROTA_ROOT"/})"
# --web.enable-lifecycle: `curl -X POST $URL/-/reload` after editing rules, no restart needed.
setsid nohup prometheus \
  --config.file="$CONFIG" \
  --storage.tsdb.path="$DATA_DIR" \
  --storage.tsdb.retention.time="$PROMETHEUS_RETENTION" \
  --web.listen-address="127.0.0.1:${PROMETHEUS_PORT}" \
  --web.enable-lifecycle \
  >>"$LOG_FILE" 2>&1 </dev/null &
echo $! >"$PID_FILE"

for ((i = 0; i < PROMETHEUS_START_TIMEOUT * 10; i++)); do
  ready && break
  if ! pid_alive "$PID_FILE"; then
    tail -n 20 "$LOG_FILE" >&2 || true
    rm -f "$PID_FILE"
    die "prometheus exited during start-up; see $LOG_FILE"
  fi
  sleep 0.1
done
ready || die "prometheus did not become ready within ${PROMETHEUS_START_TIMEOUT}s; see $LOG_FILE"
log "ready at $URL (pid $(cat "$PID_FILE"))"
