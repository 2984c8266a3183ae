# shellcheck shell=bash
# Shared helpers for the infra scripts. Source it; it does not change shell options.

# Repo root = two levels above this file (infra/scripts/lib.sh); never hard-coded.
ROTA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ROTA_RUN="${ROTA_ROOT}/.run"
ROTA_CACHE="${ROTA_ROOT}/.cache"
ROTA_LOGS="${ROTA_RUN}/logs"
export ROTA_ROOT ROTA_RUN ROTA_CACHE ROTA_LOGS

log()  { printf '[%s] %s\n' "${ROTA_SCRIPT:-infra}" "$*"; }
warn() { printf '[%s] WARN: %s\n' "${ROTA_SCRIPT:-infra}" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "${ROTA_SCRIPT:-infra}" "$*" >&2; exit 1; }

# tcp_open HOST PORT -> 0 when something accepts TCP connections there (bash /dev/tcp, 2 s max).
tcp_open() {
  timeout 2 bash -c ": >/dev/tcp/$1/$2" 2>/dev/null
}

# pid_alive PIDFILE -> 0 when the file names a running process.
pid_alive() {
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(cat "$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# stop_pidfile NAME PIDFILE [MATCH] -> stops the process named in PIDFILE (only if its command line
# contains MATCH, so a recycled pid is never killed), waits up to STOP_TIMEOUT s (default 30), then
# SIGKILL. Removes the pid file. Does nothing when the file is absent or stale.
stop_pidfile() {
  local name="$1" file="$2" match="${3:-}" pid i
  if ! pid_alive "$file"; then
    [[ -e "$file" ]] && rm -f "$file" && log "$name: stale pid file removed"
    log "$name: not running (nothing started by us)"
    return 0
  fi
  pid="$(cat "$file")"
  if [[ -n "$match" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$match"; then
    warn "$name: pid $pid does not look like ours (no '$match' in its command line); leaving it alone"
    rm -f "$file"
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < ${STOP_TIMEOUT:-30} * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    warn "$name: pid $pid still alive after ${STOP_TIMEOUT:-30}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$file"
  log "$name: stopped"
}
