#!/usr/bin/env bash
# `npm stop`: stops everything `npm start` started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/workers.sh" down
bash "$here/stack.sh" down
