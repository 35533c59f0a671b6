#!/usr/bin/env bash
# Schemathesis over the whole OpenAPI schema (/api/schema/), three kinds of caller:
# anonymous, an enterprise's token, staff tokens (each one a pass). Checks: no server error,
# answers match the schema for their status code, JSON where JSON is declared. Exits non-zero
# if any pass fails.
#
#   .ci/schemathesis.sh http://127.0.0.1:8000      a running server; tokens from the environment:
#       ST_ENTERPRISE_TOKEN=qh_…                  an enterprise account's token
#       ST_STAFF_TOKENS="qh_… qh_…"               staff tokens, e.g. the office, a commissioner,
#                                                  a department's handler and its head
#   .ci/schemathesis.sh                            no URL: builds a scratch SQLite database with
#                                                  the demo city, issues the tokens, serves it on a
#                                                  free local port, runs the passes, cleans up.
#
# Tuning: ST_MAX_EXAMPLES (25 per operation), ST_PHASES (examples,fuzzing,stateful; add
# `coverage` for its boundary values — it doubles the time), ST_SEED (fixed: reproducible
# runs), ST_WORKERS (1 per pass), ST_REPORT_DIR (the logs; a temporary folder otherwise). Run
# the server with high API_FILING_RATE / API_TRACKING_RATE, or filing and tracking mostly
# answer 429.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG=${DJANGO_DEBUG:-true}

ST=.venv/bin/st
[ -x "$ST" ] || { echo "schemathesis is not installed in .venv (pip install 'schemathesis~=4.32')" >&2; exit 2; }
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-25}
PHASES=${ST_PHASES:-examples,fuzzing,stateful}
SEED=${ST_SEED:-20260101}
WORKERS=${ST_WORKERS:-1}
CHECKS=not_a_server_error,response_schema_conformance,content_type_conformance
REPORT_DIR=${ST_REPORT_DIR:-$(mktemp -d -t schemathesis-report.XXXXXX)}
mkdir -p "$REPORT_DIR"

URL=${1:-}
SERVER_PID=""
SCRATCH=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$SCRATCH" ]; then rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT INT TERM

if [ -z "$URL" ]; then
  SCRATCH=$(mktemp -d -t schemathesis-var.XXXXXX)
  export VAR_DIR=$SCRATCH DATABASE_URL="sqlite:///$SCRATCH/db.sqlite3"
  export CELERY_TASK_ALWAYS_EAGER=true API_FILING_RATE=100000/minute API_TRACKING_RATE=100000/minute
  echo "→ scratch database in $SCRATCH (demo city, 40 appeals)"
  .venv/bin/python manage.py migrate --no-input -v0
  .venv/bin/python manage.py demo_data --appeals 40 >/dev/null
  token() { .venv/bin/python manage.py api_token_create --user "$1" --role "$2" --name schemathesis; }
  ST_ENTERPRISE_TOKEN=$(token enterprise1 enterprise)
  # The handler and the head of the land bureau (zrj), which leads the demo's land appeals: a
  # department caller who may act, not only one refused.
  ST_STAFF_TOKENS="$(token office office) $(token commissioner1 commissioner)"
  ST_STAFF_TOKENS+=" $(token zrj_handler handler) $(token zrj_head head)"
  PORT=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  URL=http://127.0.0.1:$PORT
  # Two worker processes: the passes run side by side and one process would serialise them.
  .venv/bin/gunicorn config.wsgi --bind "127.0.0.1:$PORT" --workers 2 --timeout 60 \
    >"$REPORT_DIR/server.log" 2>&1 &
  SERVER_PID=$!
fi
: "${ST_ENTERPRISE_TOKEN:?set ST_ENTERPRISE_TOKEN (the API token of an enterprise account)}"
: "${ST_STAFF_TOKENS:?set ST_STAFF_TOKENS (space-separated staff API tokens)}"

# name|Authorization header value ("" for anonymous)
passes=("anonymous|" "enterprise|Token $ST_ENTERPRISE_TOKEN")
i=0
for t in $ST_STAFF_TOKENS; do i=$((i + 1)); passes+=("staff$i|Token $t"); done

run_pass() {
  local name=$1 auth=$2 args=()
  [ -n "$auth" ] && args+=(-H "Authorization: $auth")
  "$ST" run "$URL/api/schema/" "${args[@]}" \
    --checks "$CHECKS" --phases "$PHASES" --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
    --workers "$WORKERS" \
    --wait-for-schema 60 --request-timeout 30 --no-color --output-sanitize true \
    --generation-database none --report junit --report-junit-path "$REPORT_DIR/$name.xml" \
    >"$REPORT_DIR/$name.log" 2>&1
}

# The passes run side by side: each spends most of its time waiting for the server.
start=$SECONDS
declare -A pids
for p in "${passes[@]}"; do
  name=${p%%|*}
  run_pass "$name" "${p#*|}" &
  pids[$name]=$!
done
failed=()
for p in "${passes[@]}"; do
  name=${p%%|*}
  if wait "${pids[$name]}"; then
    echo "== schemathesis $name: passed"
  else
    failed+=("$name")
    echo "== schemathesis $name: FAILED"
    cat "$REPORT_DIR/$name.log"
  fi
done
echo "== schemathesis: ${#passes[@]} passes in $((SECONDS - start)) s, logs in $REPORT_DIR"
[ ${#failed[@]} -eq 0 ] || { echo "failed passes: ${failed[*]}" >&2; exit 1; }
