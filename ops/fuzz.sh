#!/usr/bin/env bash
# `npm run fuzz [-- --max-examples N] [-- --url URL]`: property-based fuzzing of every route in the API's
# served OpenAPI document with Schemathesis. Checks that no answer is a 5xx, that every answer's status is
# documented and its body matches the documented schema, and that its content type is the documented one.
#
# Without --url it starts an API of its own (api/fuzz-target.ts: database slotstream_fuzz, topics fuzz.*,
# a fresh admin key) against the running stack and stops it afterwards; with --url it fuzzes that API (e.g.
# the one `npm start` runs) with the admin key in FUZZ_API_KEY. Any further arguments go to `st run`, which
# runs in .slotstream/fuzz-run (reports land there).
# Schemathesis is installed into .slotstream/fuzz-venv (pinned; it needs Python 3.9+).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

SCHEMATHESIS_VERSION=${SCHEMATHESIS_VERSION:-4.32.5}
max_examples=50
url=
extra=()
while (($#)); do
  case $1 in
    -n | --max-examples) max_examples=$2; shift 2 ;;
    --max-examples=*) max_examples=${1#*=}; shift ;;
    --url) url=$2; shift 2 ;;
    --url=*) url=${1#*=}; shift ;;
    *) extra+=("$1"); shift ;;
  esac
done

venv=.slotstream/fuzz-venv
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "[fuzz] installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

pid=
cleanup() {
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "${out:-}"
}
trap cleanup EXIT

if [[ -z $url ]]; then
  out=$(mktemp)
  # One process (no npx/tsx wrapper), so the TERM below reaches the API itself.
  node --import tsx api/fuzz-target.ts >"$out" &
  pid=$!
  for _ in $(seq 1 120); do
    grep -q '^{"url"' "$out" && break
    kill -0 "$pid" 2>/dev/null || { echo "[fuzz] the API did not start" >&2; exit 1; }
    sleep 0.5
  done
  ready=$(grep -m1 '^{"url"' "$out") || { echo "[fuzz] the API did not start within 60 s" >&2; exit 1; }
  url=$(node -p 'JSON.parse(process.argv[1]).url' "$ready")
  FUZZ_API_KEY=$(node -p 'JSON.parse(process.argv[1]).key' "$ready")
fi
: "${FUZZ_API_KEY:?set FUZZ_API_KEY to an admin key of the API at --url}"
echo "[fuzz] fuzzing $url with $max_examples examples per operation" >&2

# Run from a directory of its own: Schemathesis keeps examples and a crash cache where it runs.
work=.slotstream/fuzz-run
mkdir -p "$work"
cd "$work"
"$root/$venv/bin/st" run "$url/docs/json" \
  --url "$url" \
  -H "Authorization: Bearer $FUZZ_API_KEY" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-examples "$max_examples" \
  --generation-database "$root/$venv/examples" \
  --workers 2 \
  --no-color \
  ${extra[@]+"${extra[@]}"}
