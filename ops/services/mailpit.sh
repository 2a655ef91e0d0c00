# Mailpit: an SMTP server with an HTTP API (used by tests to read what was delivered), built from the Go module proxy.
MAILPIT_BIN=$BIN_DIR/mailpit-$MAILPIT_VERSION

svc_ports() { echo "$MAILPIT_SMTP_PORT $MAILPIT_HTTP_PORT"; }

svc_install() {
  [[ -x $MAILPIT_BIN ]] && return 0
  command -v go >/dev/null || { apt-get update -qq && apt-get install -y -qq golang >/dev/null; }
  say "mailpit: building $MAILPIT_VERSION with go install"
  local gobin
  gobin=$(mktemp -d)
  GOBIN=$gobin go install "github.com/axllent/mailpit@$MAILPIT_VERSION" >>"$(log_file mailpit)" 2>&1 \
    || fail_with_log mailpit "go install failed"
  mv "$gobin/mailpit" "$MAILPIT_BIN"
  rmdir "$gobin"
}

svc_start() {
  mkdir -p "$DATA_DIR/mailpit"
  spawn mailpit "$MAILPIT_BIN" --disable-version-check --listen "127.0.0.1:$MAILPIT_HTTP_PORT" \
    --smtp "127.0.0.1:$MAILPIT_SMTP_PORT" --smtp-auth-accept-any --smtp-auth-allow-insecure \
    --database "$DATA_DIR/mailpit/mailpit.db" --max 50000
}

svc_ready() { curl -fsS "http://127.0.0.1:$MAILPIT_HTTP_PORT/api/v1/info" >/dev/null; }
