#!/usr/bin/env bash
# Property-based fuzzing of the running REST API from its own OpenAPI document (schemathesis,
# from PyPI, in a venv under the target directory). Starts the real binary on a fresh SQLite
# data directory, creates a token with every scope through `atende admin`, seeds a ticket, and
# fails when any response is a 5xx or breaks the documented schema.
#
# Environment: ST_MAX_EXAMPLES (default 25 per operation), ST_SEED (for a reproducible run),
# CARGO_TARGET_DIR (default ./target).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=${CARGO_TARGET_DIR:-target}
VENV="$TARGET/schemathesis-venv"
ST_VERSION=${ST_VERSION:-"schemathesis>=4.3,<5"}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-25}

echo "== schemathesis: tools"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q "$ST_VERSION"
fi
"$VENV/bin/schemathesis" --version

cargo build -q --bin atende
BIN="$TARGET/debug/atende"

DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
export ATENDE_DATA_DIR="$DATA" ATENDE_LISTEN="127.0.0.1:$PORT" ATENDE_DEMO=true ATENDE_JOB_WORKERS=1
# The fuzzer sends far more than a client would: a limit that only a runaway loop reaches.
export ATENDE_API_RATE_PER_SEC=100000 ATENDE_API_RATE_BURST=100000 ATENDE_LOG_LEVEL=warn

"$BIN" serve >"$DATA/server.log" 2>&1 &
SERVER=$!
stop() {
  kill "$SERVER" 2>/dev/null || true
  wait "$SERVER" 2>/dev/null || true
  rm -rf "$DATA"
}
trap stop EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null

TOKEN=$("$BIN" admin token create --tenant demo --name schemathesis --scopes read,write,send |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
API="http://127.0.0.1:$PORT/api/v1"
# Something to find: a ticket with a message (a template opens it outside the window), a tag,
# a department of its own and a quick reply.
post() { curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$2" "$API$1" >/dev/null; }
post /messages '{"phone": "+55 11 98765-4321", "type": "template", "template": {"name": "hello_world", "language": "en_US"}}'
post /tags '{"name": "VIP"}'
post /departments '{"name": "Compras"}' # the demo ships Vendas, Suporte and Financeiro
post /quick-replies '{"shortcut": "ola", "body": "Olá {{nome}}!"}'

echo "== schemathesis: fuzzing $API ($MAX_EXAMPLES examples per operation)"
seed=()
[ -n "${ST_SEED:-}" ] && seed=(--seed "$ST_SEED")
status=0
"$VENV/bin/schemathesis" run "$API/openapi.json" \
  --url "$API" \
  --checks not_a_server_error,response_schema_conformance \
  --header "Authorization: Bearer $TOKEN" \
  --exclude-path /events \
  --max-examples "$MAX_EXAMPLES" \
  --phases examples,coverage,fuzzing \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none \
  --no-color \
  "${seed[@]}" || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis found failures; the server log follows"
  tail -n 80 "$DATA/server.log"
  exit "$status"
fi
if grep -q "panicked" "$DATA/server.log"; then
  echo "the server panicked during fuzzing"
  grep -A5 panicked "$DATA/server.log"
  exit 1
fi
echo "schemathesis: no server errors, every response matches the spec"
