#!/usr/bin/env bash
# `pnpm start` / `pnpm stop`: the three services in the background, logs under .run/logs, pids
# under .run. Settings come from the environment (docs/configuration.md); the defaults work on a
# machine prepared by `pnpm infra:up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# ROTA_RUN_DIR: where pids and logs go (tests use their own).
RUN="${ROTA_RUN_DIR:-.run}"
LOGS=$RUN/logs
mkdir -p "$LOGS"
SERVICES=(api scheduler-worker cache-invalidator)
PORT="${PORT:-3000}"

pid_of() { [[ -s "$RUN/$1.pid" ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null && cat "$RUN/$1.pid"; }

start() {
  for s in "${SERVICES[@]}"; do
    local main="services/$s/src/main.ts"
    if [[ ! -f "$main" ]]; then echo "services: $s not present, skipped"; continue; fi
    if pid=$(pid_of "$s"); then echo "services: $s already running (pid $pid)"; continue; fi
    # setsid: own process group, so stop can end the service and anything it spawned.
    setsid pnpm exec node "$main" >>"$LOGS/$s.log" 2>&1 < /dev/null &
    echo $! >"$RUN/$s.pid"
    echo "services: started $s (pid $!, log $LOGS/$s.log)"
  done
  for _ in $(seq 1 60); do
    curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && { echo "services: API ready on http://127.0.0.1:$PORT (docs: /docs, metrics: /metrics)"; return 0; }
    sleep 0.5
  done
  echo "services: API did not become ready on port $PORT; see $LOGS/api.log" >&2
  tail -n 20 "$LOGS/api.log" >&2 || true
  return 1
}

# Seconds stop waits after SIGTERM before SIGKILL. The worker lets an active job run for
# SHUTDOWN_GRACE_SECONDS (default 60), then hands it back, and exits by force 30 s after that
# (services/scheduler-worker/src/main.ts): killing it sooner would cut a solve or a hand-back.
stop_wait() {
  if [[ "$1" == scheduler-worker ]]; then echo $(( ${SHUTDOWN_GRACE_SECONDS:-60} + 35 )); else echo 20; fi
}

stop() {
  for s in "${SERVICES[@]}"; do
    if pid=$(pid_of "$s"); then
      local wait_s; wait_s=$(stop_wait "$s")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 $(( wait_s * 5 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; echo "services: $s killed after $wait_s s"; else echo "services: stopped $s"; fi
    fi
    rm -f "$RUN/$s.pid"
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) for s in "${SERVICES[@]}"; do if pid=$(pid_of "$s"); then echo "$s running (pid $pid)"; else echo "$s stopped"; fi; done ;;
  *) echo "usage: services.sh start|stop|status" >&2; exit 2 ;;
esac
