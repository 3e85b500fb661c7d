#!/usr/bin/env bash
# Serve the API on http://127.0.0.1:8000 (/docs) with uvicorn --reload on DynamoDB Local.
# Data persists under .local/dynamodb-data. Ctrl-C stops both the app and DynamoDB Local.
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

if [ -z "${DYNAMODB_ENDPOINT_URL:-}" ]; then
  ddb_port="${DYNAMODB_LOCAL_PORT:-8001}"
  python scripts/dynamodb_local.py run --port "$ddb_port" --db-path .local/dynamodb-data &
  ddb_pid=$!
  trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT
  python scripts/dynamodb_local.py wait --port "$ddb_port"
  export DYNAMODB_ENDPOINT_URL="http://127.0.0.1:$ddb_port"
  echo "DynamoDB Local on $DYNAMODB_ENDPOINT_URL (data in .local/dynamodb-data)"
fi

python scripts/create_table.py
echo "API on http://127.0.0.1:${PORT:-8000}  (docs: http://127.0.0.1:${PORT:-8000}/docs)"
uvicorn app.main:app --reload --reload-dir app --no-server-header --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
