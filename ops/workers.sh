#!/usr/bin/env bash
# The Slotstream worker processes: ops/workers.sh up|down|status [WORKER...]
# Each worker is its own process (scale by starting more); pid files and logs sit beside the stack's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/node.sh" # every worker runs on the project's Node.js 24

# name → command (run from the repository root). Order: the decider first, the API last.
declare -A COMMANDS=(
  [processor]="node --import tsx processors/run.ts"
  [sink-postgres]="node --import tsx sinks/run.ts postgres"
  [sink-clickhouse]="node --import tsx sinks/run.ts clickhouse"
  [sink-payment]="node --import tsx sinks/run.ts payment"
  [sink-notification]="node --import tsx sinks/run.ts notification"
  [api]="node --import tsx api/server.ts"
)
ORDER=(processor sink-postgres sink-clickhouse sink-payment sink-notification api)
# Each worker's health endpoint: up waits until it answers.
declare -A HEALTH=(
  [processor]="http://127.0.0.1:${DECIDER_METRICS_PORT:-9460}/healthz"
  [sink-postgres]="http://127.0.0.1:9464/healthz"
  [sink-clickhouse]="http://127.0.0.1:9465/healthz"
  [sink-payment]="http://127.0.0.1:9466/healthz"
  [sink-notification]="http://127.0.0.1:9467/healthz"
  [api]="http://127.0.0.1:${API_PORT:-3000}/healthz"
)

worker_up() {
  local name=$1
  if pid=$(running_pid "$name"); then say "$name: already running (pid $pid)"; return; fi
  (cd "$SLOTSTREAM_ROOT" && spawn "$name" ${COMMANDS[$name]})
  local t0=$SECONDS
  until curl -fsS -o /dev/null "${HEALTH[$name]}" 2>/dev/null; do
    running_pid "$name" >/dev/null || fail_with_log "$name" "exited at start"
    (( SECONDS - t0 < ${READY_TIMEOUT:-120} )) || fail_with_log "$name" "not healthy after ${READY_TIMEOUT:-120}s"
    sleep 0.5
  done
  say "$name: running (pid $(running_pid "$name"), $((SECONDS - t0))s, log $(log_file "$name"))"
}

worker_down() {
  local name=$1
  running_pid "$name" >/dev/null || { say "$name: not running"; return; }
  stop_group "$name" 20
  say "$name: stopped"
}

cmd=${1:-status}
shift || true
workers=("$@")
[[ ${#workers[@]} -gt 0 ]] || workers=("${ORDER[@]}")
for w in "${workers[@]}"; do [[ -n ${COMMANDS[$w]:-} ]] || die "unknown worker '$w' (known: ${ORDER[*]})"; done
case $cmd in
  up) for w in "${workers[@]}"; do worker_up "$w"; done ;;
  down) for ((i = ${#workers[@]} - 1; i >= 0; i--)); do worker_down "${workers[i]}"; done ;;
  status)
    for w in "${workers[@]}"; do
      if pid=$(running_pid "$w"); then printf '%-22s running  pid %s\n' "$w" "$pid"; else printf '%-22s stopped\n' "$w"; fi
    done ;;
  *) die "usage: ops/workers.sh up|down|status [WORKER...]" ;;
esac
