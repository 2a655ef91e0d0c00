# PostgreSQL 15 from Debian, as a cluster of our own (initdb + postgres run as the `postgres` user).
PG_BIN=/usr/lib/postgresql/15/bin

# initdb and postgres run as the `postgres` user, who must be able to reach the cluster's directories. A
# clone inside a directory others cannot enter (root's home, a `mktemp -d` folder) keeps its cluster under
# /var/lib/slotstream/<id of the clone> instead; everything else stays in .slotstream/.
others_can_enter() {
  local dir=$1 mode
  while [[ $dir != / && -n $dir ]]; do
    if [[ -d $dir ]]; then
      mode=$(stat -c %a "$dir")
      (( 8#$mode & 1 )) || return 1
    fi
    dir=$(dirname "$dir")
  done
}
if others_can_enter "$SLOTSTREAM_HOME"; then
  PG_DATA=$DATA_DIR/postgres
  PG_SOCKET_DIR=$RUN_DIR/postgres-socket
else
  PG_HOME=/var/lib/slotstream/$(printf %s "$SLOTSTREAM_HOME" | sha256sum | cut -c1-16)
  PG_DATA=$PG_HOME/postgres
  PG_SOCKET_DIR=$PG_HOME/postgres-socket
fi

svc_ports() { echo "$POSTGRES_PORT"; }

svc_install() {
  if [[ ! -x $PG_BIN/postgres ]]; then
    say "postgres: installing postgresql-15 from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  fi
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  if [[ -n ${PG_HOME:-} ]]; then
    say "postgres: $SLOTSTREAM_HOME is closed to other users; the cluster lives in $PG_HOME"
    mkdir -p "$PG_HOME"
    chmod 755 /var/lib/slotstream "$PG_HOME"
    echo "$SLOTSTREAM_HOME" >"$PG_HOME/clone"
  fi
  mkdir -p "$PG_SOCKET_DIR"
  chown postgres "$PG_SOCKET_DIR"
  if [[ ! -f $PG_DATA/PG_VERSION ]]; then
    mkdir -p "$PG_DATA"
    chown postgres "$PG_DATA"
    chmod 700 "$PG_DATA"
    local pwfile
    pwfile=$(mktemp)
    echo "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile"
    (cd / && runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8) >>"$(log_file postgres)" 2>&1 \
      || { rm -f "$pwfile"; fail_with_log postgres "initdb failed"; }
    rm -f "$pwfile"
  fi
}

svc_start() {
  local extra=()
  # Relaxed durability only when asked (tests/CI); never for `npm start`.
  if [[ $POSTGRES_FAST_UNSAFE == 1 ]]; then extra=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off); fi
  spawn postgres runuser -u postgres -- "$PG_BIN/postgres" -D "$PG_DATA" -p "$POSTGRES_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$PG_SOCKET_DIR" -c max_connections=200 \
    -c shared_buffers=256MB "${extra[@]}"
}

# From /: the `postgres` user may not be allowed into the current directory (a clone closed to others).
pg_psql() { (cd / && runuser -u postgres -- psql -h "$PG_SOCKET_DIR" -p "$POSTGRES_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"); }

svc_ready() { pg_psql -d postgres -c 'select 1' | grep -qx 1; }

# Our role and databases: the app's and the schema registry's. Idempotent.
svc_after_ready() {
  pg_psql -d postgres <<SQL
SELECT 'CREATE ROLE $POSTGRES_USER LOGIN PASSWORD ''$POSTGRES_PASSWORD'' CREATEDB'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$POSTGRES_USER')\gexec
SELECT 'CREATE DATABASE $POSTGRES_DB OWNER $POSTGRES_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$POSTGRES_DB')\gexec
SELECT 'CREATE DATABASE registry OWNER $POSTGRES_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'registry')\gexec
SQL
}

svc_stop() {
  # SIGINT is PostgreSQL's "fast shutdown": clean, without waiting for clients to leave.
  local pid
  pid=$(running_pid postgres) || return 0
  pkill -INT -P "$pid" postgres 2>/dev/null || true
  kill -INT -- "-$pid" 2>/dev/null || true
  stop_group postgres 30
}
