#!/usr/bin/env bash
# Stops the Kafka broker that kafka-up.sh started (pid file), never any other. Idempotent.
# Honours the same KAFKA_HOST/KAFKA_PORT/KAFKA_BROKERS selection as kafka-up.sh.
set -euo pipefail
ROTA_SCRIPT=kafka-down
# shellcheck source=infra/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n "${KAFKA_HOST:-}${KAFKA_PORT:-}" ]]; then
  KAFKA_PORT="${KAFKA_PORT:-9092}"
else
  first_broker="${KAFKA_BROKERS:-127.0.0.1:9092}"; first_broker="${first_broker%%,*}"
  KAFKA_PORT="${first_broker##*:}"
fi
NAME="kafka"; [[ "$KAFKA_PORT" == 9092 ]] || NAME="kafka-${KAFKA_PORT}"

# Kafka flushes and closes its logs on SIGTERM; give it time before stop_pidfile escalates.
STOP_TIMEOUT="${STOP_TIMEOUT:-60}" stop_pidfile "$NAME" "${ROTA_RUN}/${NAME}.pid" "${ROTA_RUN}/${NAME}/server.properties"
