# Shared helpers for the stack scripts: paths, pid files, port checks, readiness waits.
# A service script (ops/services/NAME.sh) defines:
#   svc_ports    the loopback ports it will listen on (checked before start)
#   svc_install  installs what is missing (idempotent, quiet when already installed)
#   svc_start    starts the server in the background with `spawn NAME cmd...`
#   svc_ready    exits 0 once the service really answers (not merely listens)
#   svc_stop     optional: a clean stop; the default sends TERM to the pid file's process group
set -euo pipefail

SLOTSTREAM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SLOTSTREAM_ROOT
# shellcheck source=defaults.env
source "$SLOTSTREAM_ROOT/ops/defaults.env"

BIN_DIR=$SLOTSTREAM_HOME/bin
DATA_DIR=$SLOTSTREAM_HOME/data
LOG_DIR=$SLOTSTREAM_HOME/logs
RUN_DIR=$SLOTSTREAM_HOME/run
mkdir -p "$BIN_DIR" "$DATA_DIR" "$LOG_DIR" "$RUN_DIR"

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }

# Prints the pid if the service we started is alive.
running_pid() {
  local f
  f=$(pid_file "$1")
  [[ -f $f ]] || return 1
  local pid
  pid=$(<"$f")
  # A crashed process can linger as a zombie (state Z) for a moment: count it as dead.
  if kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
    echo "$pid"
    return 0
  fi
  rm -f "$f"
  return 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_ports_free() {
  local name=$1; shift
  local p
  for p in "$@"; do
    if port_in_use "$p"; then
      die "$name: port $p on 127.0.0.1 is already taken by another process (ss -ltnp 'sport = :$p' shows which); free it or set the port variable in ops/defaults.env"
    fi
  done
}

# spawn NAME CMD...: runs CMD in its own session (process group) with output in the service log.
spawn() {
  local name=$1; shift
  local log
  log=$(log_file "$name")
  printf '\n===== %s start %s =====\n' "$name" "$(date -Is)" >>"$log"
  # 9>&-: a server must not inherit ops/stack.sh's lock (it would hold it for as long as it runs).
  setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$(pid_file "$name")"
}

fail_with_log() {
  local name=$1 why=$2 log
  log=$(log_file "$name")
  say "$name: $why. Last lines of $log:"
  tail -n 40 "$log" >&2 || true
  exit 1
}

# wait_ready NAME SECONDS: polls svc_ready until it succeeds, the process dies, or time runs out.
wait_ready() {
  local name=$1 limit=$2 start=$SECONDS
  while ! svc_ready >/dev/null 2>&1; do
    running_pid "$name" >/dev/null || fail_with_log "$name" "exited before it was ready"
    (( SECONDS - start < limit )) || fail_with_log "$name" "not ready after ${limit}s"
    sleep 0.3
  done
}

# stop_group NAME: TERM the process group, then KILL what is left after a grace period.
stop_group() {
  local name=$1 grace=${2:-20} pid
  pid=$(running_pid "$name") || return 0
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$(pid_file "$name")"
}

# maven_fetch DIR POM [MVN_ARGS...]: copies a pom's dependencies into DIR/lib once (Maven Central only).
maven_fetch() {
  local dir=$1 pom=$2
  shift 2
  [[ -f $dir/.complete ]] && return 0
  mkdir -p "$dir"
  mvn -q -B -f "$pom" "$@" -DoutputDirectory="$dir/lib" dependency:copy-dependencies >"$LOG_DIR/maven-$(basename "$dir").log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/maven-$(basename "$dir").log" >&2; die "maven could not fetch $(basename "$dir")"; }
  touch "$dir/.complete"
}
