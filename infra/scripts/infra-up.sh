#!/usr/bin/env bash
# `pnpm infra:up`: makes sure Postgres, Redis, Kafka and the Prometheus binaries are there, starting
# only what is missing (and remembering what it started, for infra-down.sh). Idempotent.
# Settings: DATABASE_URL, REDIS_URL, KAFKA_BROKERS (+ the kafka-up.sh ones); see docs/infrastructure.md.
set -euo pipefail
ROTA_SCRIPT=infra-up
HERE="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=infra/scripts/lib.sh
source "$HERE/lib.sh"
mkdir -p "$ROTA_RUN" "$ROTA_LOGS"

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/rota}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
PG_CLUSTER="${PG_CLUSTER:-main}"   # local cluster started when DATABASE_URL is unreachable (pg_lsclusters)
KAFKA_BROKERS="${KAFKA_BROKERS:-127.0.0.1:9092}"
export KAFKA_BROKERS
rows=()   # summary table: service|where|state
is_local() { [[ "$1" =~ ^(127\.0\.0\.1|localhost|::1|\[::1\])?$ ]]; }

# --- Postgres ------------------------------------------------------------------------------------
{ command -v psql && command -v pg_isready; } >/dev/null 2>&1 \
  || die "psql/pg_isready not found (apt-get install -y postgresql-client, or postgresql for a local server)"
pg_base="${DATABASE_URL%%\?*}"; pg_query="${DATABASE_URL#"$pg_base"}"
pg_db="${pg_base##*/}"; pg_admin_url="${pg_base%/*}/postgres${pg_query}"
pg_hostport="${pg_base#*://}"; pg_hostport="${pg_hostport#*@}"; pg_hostport="${pg_hostport%%/*}"
pg_host="${pg_hostport%:*}"
[[ "$pg_db" =~ ^[A-Za-z0-9_-]+$ ]] || die "DATABASE_URL must end in a plain database name, got '$pg_db'"
pg_state="reachable, reused"
if ! pg_isready -q -t 3 -d "$pg_admin_url"; then
  if is_local "$pg_host" && command -v pg_ctlcluster >/dev/null 2>&1 \
     && [[ -n "$(find /etc/postgresql -mindepth 1 -maxdepth 1 2>/dev/null)" ]]; then
    pg_version="${PG_VERSION:-$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1)}"
    log "Postgres unreachable at ${pg_hostport}; starting local cluster ${pg_version}/${PG_CLUSTER}"
    pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$PG_CLUSTER" start \
      || die "could not start Postgres cluster ${pg_version}/${PG_CLUSTER} (see /var/log/postgresql/)"
    echo "$pg_version $PG_CLUSTER" >"$ROTA_RUN/postgres.started"
    for _ in $(seq 1 60); do pg_isready -q -t 1 -d "$pg_admin_url" && break; sleep 0.5; done
    pg_isready -q -t 3 -d "$pg_admin_url" || die "Postgres cluster started but ${pg_hostport} still refuses connections"
  else
    die "Postgres unreachable at ${pg_hostport} (DATABASE_URL) and no local cluster to start; start one or fix DATABASE_URL"
  fi
fi
[[ -s "$ROTA_RUN/postgres.started" ]] && pg_state="started by infra-up (cluster $(cat "$ROTA_RUN/postgres.started"))"
if [[ "$(psql "$pg_admin_url" -XtAq -v ON_ERROR_STOP=1 -c "SELECT 1 FROM pg_database WHERE datname = '${pg_db}'")" != 1 ]]; then
  psql "$pg_admin_url" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"${pg_db}\"" || die "could not create database ${pg_db}"
  log "created database ${pg_db}"
  pg_state="${pg_state}; database ${pg_db} created"
fi
log "Postgres OK at ${pg_hostport}, database ${pg_db}"
rows+=("postgres|${pg_hostport}/${pg_db}|${pg_state}")

# --- Redis ---------------------------------------------------------------------------------------
redis_hostport="${REDIS_URL#*://}"; redis_hostport="${redis_hostport#*@}"; redis_hostport="${redis_hostport%%/*}"
redis_host="${redis_hostport%:*}"; redis_port="${redis_hostport##*:}"
[[ "$redis_hostport" == *:* ]] || redis_port=6379
redis_ping() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(timeout 3 redis-cli -u "$REDIS_URL" ping 2>/dev/null)" == PONG ]]
  else
    tcp_open "$redis_host" "$redis_port"
  fi
}
REDIS_PID="$ROTA_RUN/redis.pid"
if redis_ping; then
  if pid_alive "$REDIS_PID"; then redis_state="started by infra-up (pid $(cat "$REDIS_PID"))"; else redis_state="reachable, reused"; fi
else
  is_local "$redis_host" || die "Redis unreachable at ${redis_hostport} (REDIS_URL), which is not local; not starting one"
  command -v redis-server >/dev/null 2>&1 || die "Redis unreachable at ${redis_hostport} and redis-server not installed (apt-get install -y redis-server)"
  log "Redis unreachable at ${redis_hostport}; starting redis-server (no persistence), log $ROTA_LOGS/redis.log"
  mkdir -p "$ROTA_RUN/redis"
  redis-server --daemonize yes --bind "${redis_host:-127.0.0.1}" --port "$redis_port" --save "" --appendonly no \
    --dir "$ROTA_RUN/redis" --pidfile "$REDIS_PID" --logfile "$ROTA_LOGS/redis.log" \
    || die "redis-server failed to start; see $ROTA_LOGS/redis.log"
  for _ in $(seq 1 50); do redis_ping && break; sleep 0.1; done
  redis_ping || die "redis-server started but does not answer PING; see $ROTA_LOGS/redis.log"
  redis_state="started by infra-up (pid $(cat "$REDIS_PID"))"
fi
log "Redis OK at ${redis_hostport}"
rows+=("redis|${redis_hostport}|${redis_state}")

# --- Kafka ---------------------------------------------------------------------------------------
bash "$HERE/kafka-up.sh"
kafka_first="${KAFKA_BROKERS%%,*}"; kafka_port="${KAFKA_PORT:-${kafka_first##*:}}"
kafka_name="kafka"; [[ "$kafka_port" == 9092 ]] || kafka_name="kafka-${kafka_port}"
if pid_alive "$ROTA_RUN/${kafka_name}.pid"; then
  kafka_state="started by kafka-up.sh (pid $(cat "$ROTA_RUN/${kafka_name}.pid"), log .run/logs/${kafka_name}.log)"
else
  kafka_state="reachable, reused"
fi
rows+=("kafka|${KAFKA_BROKERS}|${kafka_state}")

# --- Prometheus ----------------------------------------------------------------------------------
bash "$HERE/prometheus-ensure.sh"
# HOOK(prometheus-run): Prometheus with the project's scrape config and rules (infra/prometheus),
# on PROMETHEUS_PORT (9090); prometheus-down.sh (called by infra-down.sh) stops it.
# A port held by another process (exit 3) is reported, not fatal: the tests start their own
# Prometheus on free ports, and nothing else needs ours to start.
prom_port="${PROMETHEUS_PORT:-9090}"; prom_name="prometheus"; [[ "$prom_port" == 9090 ]] || prom_name="prometheus-${prom_port}"
prom_rc=0
bash "$HERE/prometheus-up.sh" || prom_rc=$?
if [[ "$prom_rc" == 0 ]]; then
  rows+=("prometheus|http://127.0.0.1:${prom_port}|started by prometheus-up.sh (pid $(cat "$ROTA_RUN/${prom_name}.pid"), log .run/logs/${prom_name}.log)")
elif [[ "$prom_rc" == 3 ]]; then
  warn "Prometheus not started: port ${prom_port} belongs to another process (set PROMETHEUS_PORT to run ours elsewhere)"
  rows+=("prometheus|:${prom_port}|NOT started: port held by another process")
else
  die "prometheus-up.sh failed (exit ${prom_rc}); see .run/logs/${prom_name}.log"
fi

# --- summary -------------------------------------------------------------------------------------
echo
printf '%-11s %-36s %s\n' SERVICE WHERE STATE
for row in "${rows[@]}"; do
  IFS='|' read -r svc where state <<<"$row"
  printf '%-11s %-36s %s\n' "$svc" "$where" "$state"
done
