# ClickHouse for the local stack (sourced by ops/stack.sh; contract at the top of ops/lib.sh).
# Debian's clickhouse-server is from 2018, so the engine comes from the PyPI wheel chdb-core, which carries
# the whole ClickHouse server including its HTTP and native protocol servers; ops/clickhouse/launcher.py
# turns it into a server (see the launcher's docstring for how, and why KILL QUERY is not granted).
# Clients: http://127.0.0.1:$CLICKHOUSE_HTTP_PORT and native 127.0.0.1:$CLICKHOUSE_TCP_PORT,
# user `default`, no password (loopback only). Data: $DATA_DIR/clickhouse/db (survives down/up).

CLICKHOUSE_CHDB_DIR=$BIN_DIR/chdb
CLICKHOUSE_HOME=$DATA_DIR/clickhouse

svc_ports() { echo "$CLICKHOUSE_HTTP_PORT $CLICKHOUSE_TCP_PORT"; }

clickhouse_python() {
  command -v python3 >/dev/null || die "clickhouse: python3 (3.9 or newer) is needed to run chdb-core"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
    || die "clickhouse: python3 is $(python3 -V 2>&1); chdb-core needs 3.9 or newer"
  echo python3
}

svc_install() {
  local dist=chdb_core-$CLICKHOUSE_VERSION.dist-info
  [[ -d $CLICKHOUSE_CHDB_DIR/$dist ]] && return 0
  local py tmp log
  py=$(clickhouse_python)
  tmp=$BIN_DIR/chdb.installing.$$
  log=$LOG_DIR/clickhouse-install.log
  say "clickhouse: installing chdb-core $CLICKHOUSE_VERSION from PyPI (about 180 MB, unpacks to 530 MB)"
  rm -rf "$tmp"
  # --no-deps: the engine needs none of chdb-core's Python dependencies (pandas, pyarrow).
  PIP_ROOT_USER_ACTION=ignore "$py" -m pip install --no-deps --no-input --disable-pip-version-check \
    --target "$tmp" "chdb-core==$CLICKHOUSE_VERSION" >"$log" 2>&1 \
    || { rm -rf "$tmp"; tail -n 30 "$log" >&2; die "clickhouse: pip failed on chdb-core (log: $log)"; }
  [[ -d $tmp/$dist ]] || { rm -rf "$tmp"; die "clickhouse: pip finished but installed no $dist (log: $log)"; }
  rm -rf "$CLICKHOUSE_CHDB_DIR"
  mv "$tmp" "$CLICKHOUSE_CHDB_DIR"
}

svc_start() {
  local py
  py=$(clickhouse_python)
  mkdir -p "$CLICKHOUSE_HOME"
  # -u: the launcher's lines reach the log as they happen.
  spawn "$1" "$py" -u "$SLOTSTREAM_ROOT/ops/clickhouse/launcher.py" \
    --chdb-dir "$CLICKHOUSE_CHDB_DIR" --home "$CLICKHOUSE_HOME" \
    --http-port "$CLICKHOUSE_HTTP_PORT" --tcp-port "$CLICKHOUSE_TCP_PORT"
}

# Really answers: a query goes through the HTTP interface and comes back with its result.
svc_ready() {
  local out
  out=$(curl -fsS --max-time 5 "http://127.0.0.1:$CLICKHOUSE_HTTP_PORT/?query=SELECT%201") || return 1
  [[ $out == 1 ]]
}

# TERM makes the launcher cancel its keep-alive query, so the engine shuts down cleanly (about 1-3 s: the
# keep-alive notices between two 3 s sleeps); stop_group KILLs the group only if it takes longer than 40 s.
svc_stop() { stop_group "$1" 40; }
