#!/usr/bin/env bash
# `pnpm infra:down`: stops only what infra-up.sh started (pid files / markers under .run), in reverse
# order. Servers that were already running before infra-up are left alone. Idempotent.
set -euo pipefail
ROTA_SCRIPT=infra-down
HERE="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=infra/scripts/lib.sh
source "$HERE/lib.sh"

# HOOK(prometheus-run): see infra-up.sh.
bash "$HERE/prometheus-down.sh"

bash "$HERE/kafka-down.sh"

stop_pidfile redis "$ROTA_RUN/redis.pid" redis-server

if [[ -s "$ROTA_RUN/postgres.started" ]]; then
  read -r pg_version pg_cluster <"$ROTA_RUN/postgres.started"
  log "postgres: stopping cluster ${pg_version}/${pg_cluster} (started by infra-up)"
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_cluster" stop || warn "pg_ctlcluster stop failed"
  rm -f "$ROTA_RUN/postgres.started"
else
  log "postgres: not started by infra-up; left alone"
fi
