#!/usr/bin/env bash
# Serve the API on http://127.0.0.1:8000 (/docs) with uvicorn --reload on DynamoDB Local, and run the
# worker (python -m app.worker: the scheduled jobs, e.g. loan expiry) next to it with the same settings.
# Data persists under .local/dynamodb-data. Ctrl-C stops the app, the worker and DynamoDB Local.
# With DYNAMODB_ENDPOINT_URL set, that DynamoDB is used and no local one is started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh

export ENVIRONMENT="${ENVIRONMENT:-dev}"
export TABLE_NAME="${TABLE_NAME:-lending}"
if [ -z "${ACH_LOCAL_KEY:-}" ] && [ -z "${ACH_KMS_KEY_ID:-}" ]; then
  key_file=.local/ach-dev-key
  if [ ! -s "$key_file" ]; then
    mkdir -p .local && (umask 077 && python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())" > "$key_file")
    echo "Generated a local ACH encryption key in $key_file"
  fi
  ACH_LOCAL_KEY="$(cat "$key_file")"
  export ACH_LOCAL_KEY
fi

# Background processes are stopped on the way out (Ctrl-C, an error, or uvicorn ending): the worker
# first, as it uses DynamoDB, then DynamoDB Local; each gets SIGTERM and is waited for. (Background jobs
# of a script ignore Ctrl-C's SIGINT, so this is how they end; the worker finishes its run under way.)
worker_pid=""
ddb_pid=""
stop_background() {
  for pid in $worker_pid $ddb_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
trap stop_background EXIT

if [ -z "${DYNAMODB_ENDPOINT_URL:-}" ]; then
  ddb_port="${DYNAMODB_LOCAL_PORT:-8001}"
  python scripts/dynamodb_local.py run --port "$ddb_port" --db-path .local/dynamodb-data &
  ddb_pid=$!
  python scripts/dynamodb_local.py wait --port "$ddb_port"
  export DYNAMODB_ENDPOINT_URL="http://127.0.0.1:$ddb_port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT_URL (data in .local/dynamodb-data)"
fi

python scripts/create_table.py
python -m app.worker &
worker_pid=$!
echo "Worker (pid $worker_pid): the scheduled jobs of app/jobs every ${WORKER_INTERVAL_SECONDS:-60} s (not reloaded on code changes)"
echo "API on http://127.0.0.1:${PORT:-8000}  (docs: http://127.0.0.1:${PORT:-8000}/docs)"
uvicorn app.main:app --reload --reload-dir app --no-server-header --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
