# stripe-mock: a Stripe-compatible API server, built from the Go module proxy.
STRIPE_MOCK_BIN=$BIN_DIR/stripe-mock-$STRIPE_MOCK_VERSION

svc_ports() { echo "$STRIPE_MOCK_HTTP_PORT $STRIPE_MOCK_HTTPS_PORT"; }

svc_install() {
  [[ -x $STRIPE_MOCK_BIN ]] && return 0
  command -v go >/dev/null || { apt-get update -qq && apt-get install -y -qq golang >/dev/null; }
  say "stripe-mock: building $STRIPE_MOCK_VERSION with go install"
  local gobin
  gobin=$(mktemp -d)
  GOBIN=$gobin go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION" >>"$(log_file stripe-mock)" 2>&1 \
    || fail_with_log stripe-mock "go install failed"
  mv "$gobin/stripe-mock" "$STRIPE_MOCK_BIN"
  rmdir "$gobin"
}

svc_start() {
  spawn stripe-mock "$STRIPE_MOCK_BIN" -http-addr "127.0.0.1:$STRIPE_MOCK_HTTP_PORT" \
    -https-addr "127.0.0.1:$STRIPE_MOCK_HTTPS_PORT"
}

svc_ready() {
  curl -fsS -u sk_test_123: "http://127.0.0.1:$STRIPE_MOCK_HTTP_PORT/v1/payment_intents?limit=1" >/dev/null
}
