#!/usr/bin/env bash
# Runs a command with the project's Node.js (ops/node.sh) first on PATH: `npm test` and `npm start` go
# through it, so every process runs on Node 24 whatever `node` the machine has.
set -euo pipefail
source "$(dirname "$0")/node.sh"
exec "$@"
