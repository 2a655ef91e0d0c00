#!/usr/bin/env bash
# The Slotstream worker processes: ops/workers.sh up|down|status [WORKER...]
# Each worker is its own process (scale by starting more); pid files and logs sit beside the stack's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# name → command (run from the repository root). Order: the decider first, the API last.
declare -A COMMANDS=(
  [processor]="node --import tsx processors/run.ts"
)
ORDER=(processor)

worker_up() {
  local name=$1
  if pid=$(running_pid "$name"); then say "$name: already running (pid $pid)"; return; fi
  (cd "$SLOTSTREAM_ROOT" && spawn "$name" ${COMMANDS[$name]})
  sleep 1
  running_pid "$name" >/dev/null || fail_with_log "$name" "exited at start"
  say "$name: started (pid $(running_pid "$name"), log $(log_file "$name"))"
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
