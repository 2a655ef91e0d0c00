#!/usr/bin/env bash
# The local stack: ops/stack.sh up|down|status|logs [SERVICE...]
# Installs what is missing from the package registries, starts each service on loopback, waits until
# it really answers, and stops only what it started (pid files under .slotstream/run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

# Start order matters: the registry keeps its schemas in PostgreSQL.
ALL_SERVICES=(postgres kafka registry clickhouse stripe-mock mailpit)

in_service() { # in_service NAME FUNCTION: runs one hook of one service in a subshell
  local name=$1 fn=$2
  (
    source "$here/services/$name.sh"
    "$fn" "$name"
  )
}

svc_up() {
  local name=$1 t0=$SECONDS
  (
    source "$here/services/$name.sh"
    if pid=$(running_pid "$name"); then
      if svc_ready >/dev/null 2>&1; then say "$name: already running (pid $pid)"; exit 0; fi
      wait_ready "$name" "${READY_TIMEOUT:-120}"
      say "$name: running (pid $pid)"
      exit 0
    fi
    check_ports_free "$name" $(svc_ports)
    svc_install "$name"
    svc_start "$name"
    wait_ready "$name" "${READY_TIMEOUT:-120}"
    [[ $(type -t svc_after_ready) == function ]] && svc_after_ready "$name"
    say "$name: ready on $(svc_ports | tr ' ' ',') (pid $(running_pid "$name"), $((SECONDS - t0))s)"
  )
}

svc_down() {
  local name=$1
  (
    source "$here/services/$name.sh"
    running_pid "$name" >/dev/null || { say "$name: not running"; exit 0; }
    if [[ $(type -t svc_stop) == function ]]; then svc_stop "$name"; else stop_group "$name"; fi
    say "$name: stopped"
  )
}

svc_status() {
  local name=$1
  (
    source "$here/services/$name.sh"
    if pid=$(running_pid "$name"); then
      if svc_ready >/dev/null 2>&1; then state=ready; else state=starting-or-unhealthy; fi
      printf '%-12s %-22s pid %-8s ports %s\n' "$name" "$state" "$pid" "$(svc_ports)"
    else
      printf '%-12s %-22s %-12s ports %s\n' "$name" stopped - "$(svc_ports)"
    fi
  )
}

cmd=${1:-status}
shift || true
services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=("${ALL_SERVICES[@]}")
for s in "${services[@]}"; do
  [[ -f $here/services/$s.sh ]] || die "unknown service '$s' (known: ${ALL_SERVICES[*]})"
done

# One `up`, `down` or `install` at a time: two at once would both find a service stopped and both start it.
# A second one waits for the first, then finds what it started.
if [[ $cmd == up || $cmd == down || $cmd == install ]]; then
  mkdir -p "$RUN_DIR"
  exec 9>"$RUN_DIR/stack.lock"
  if ! flock -n 9; then
    say "another ops/stack.sh $cmd is running; waiting for it"
    flock -w "${STACK_LOCK_TIMEOUT:-900}" 9 || die "ops/stack.sh is still locked after ${STACK_LOCK_TIMEOUT:-900}s ($RUN_DIR/stack.lock)"
  fi
fi

case $cmd in
  up) for s in "${services[@]}"; do svc_up "$s"; done ;;
  down)
    # Reverse order: dependants first.
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do svc_down "${services[i]}"; done ;;
  status) for s in "${services[@]}"; do svc_status "$s"; done ;;
  logs)
    files=()
    for s in "${services[@]}"; do files+=("$(log_file "$s")"); done
    tail -n 50 -F "${files[@]}" ;;
  install) for s in "${services[@]}"; do in_service "$s" svc_install; done ;;
  *) die "usage: ops/stack.sh up|down|status|logs|install [SERVICE...]" ;;
esac
