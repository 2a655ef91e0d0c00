#!/usr/bin/env bash
# Runs a command with the local stack up (starting whatever is not running yet); the stack stays up afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/stack.sh" up
exec "$@"
