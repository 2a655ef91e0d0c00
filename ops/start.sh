#!/usr/bin/env bash
# `npm start`: installs what is missing, starts the local stack, creates the topics, registers the
# schemas and starts every worker process.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cd "$root"
source ops/node.sh # Node.js 24, the project's own
[[ -d node_modules ]] || npm ci --no-audit --no-fund
bash ops/stack.sh up
npm run topics:create
npm run -s schemas:check
npm run -s schemas:register >/dev/null
npm run -s db:migrate
npm run -s ch:migrate
npm run -s api:migrate
bash ops/workers.sh up
SLOTSTREAM_ROOT=$root
source ops/defaults.env
cat <<TXT

Slotstream is up (ops/stack.sh status, ops/workers.sh status; logs in .slotstream/logs; stop with npm stop):
  API              http://127.0.0.1:${API_PORT:-3000}  (docs: /docs; a key: npm run api:keys -- create --role admin --name me)
  Kafka            127.0.0.1:${KAFKA_PORT:-9092}
  Schema registry  http://127.0.0.1:${REGISTRY_PORT:-8081}/apis/ccompat/v7
  PostgreSQL       postgres://slotstream:slotstream@127.0.0.1:${POSTGRES_PORT:-5432}/slotstream
  ClickHouse       http://127.0.0.1:${CLICKHOUSE_HTTP_PORT:-8123}
  stripe-mock      http://127.0.0.1:${STRIPE_MOCK_HTTP_PORT:-12111}
  Decider metrics  http://127.0.0.1:9460/metrics
  Mailpit          http://127.0.0.1:${MAILPIT_HTTP_PORT:-8025} (SMTP 127.0.0.1:${MAILPIT_SMTP_PORT:-1025})
TXT
