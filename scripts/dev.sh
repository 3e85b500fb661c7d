#!/usr/bin/env bash
# Serve the API on http://127.0.0.1:8000 (/docs) with uvicorn --reload on DynamoDB Local, and run the
# worker (python -m app.worker: the emails of the table's stream, and the scheduled jobs) next to it with
# the same settings, sending to MailDev, a mail catcher whose web UI (http://127.0.0.1:1080) shows every email,
# an SFTP server on 127.0.0.1:2222 standing in for the bank (tools/sftp; its folders under .local/sftp,
# the ACH_* settings pointed at it) and the bank simulator behind it (tools/bank_simulator; its page on
# http://127.0.0.1:1090). Data persists under .local/dynamodb-data. Ctrl-C stops the app, the worker,
# MailDev, the bank simulator, the SFTP server and DynamoDB Local.
# With DYNAMODB_ENDPOINT_URL set, that DynamoDB is used and no local one is started; with SMTP_HOST set,
# that SMTP server is used and no MailDev is started.
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
mail_pid=""
bank_pid=""
sftp_pid=""
ddb_pid=""
stop_background() {
  for pid in $worker_pid $mail_pid $bank_pid $sftp_pid $ddb_pid; do
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

if [ -z "${SMTP_HOST:-}" ]; then
  # MailDev, pinned in tools/maildev (npm, installed on first use; node_modules is not committed)
  if [ ! -x tools/maildev/node_modules/.bin/maildev ]; then
    command -v npm >/dev/null || { echo "npm is needed for the mail catcher (MailDev): install Node.js 20+, or set SMTP_HOST" >&2; exit 1; }
    echo "Installing MailDev (tools/maildev) ..."
    (cd tools/maildev && npm ci --no-audit --no-fund --loglevel=error)
  fi
  mail_web_port="${MAIL_WEB_PORT:-1080}"
  export SMTP_HOST=127.0.0.1 SMTP_PORT="${SMTP_PORT:-1025}"
  tools/maildev/node_modules/.bin/maildev --ip 127.0.0.1 --smtp "$SMTP_PORT" --web "$mail_web_port" --silent &
  mail_pid=$!
  echo "Mail catcher (MailDev): SMTP on $SMTP_HOST:$SMTP_PORT, every email at http://127.0.0.1:$mail_web_port"
fi

if [ -z "${ACH_SFTP_HOST:-}" ]; then
  # The bank's stand-in: a real SFTP server on loopback (tools/sftp/server.py), and the rail's settings for it.
  sftp_port="${SFTP_LOCAL_PORT:-2222}"
  export ACH_ODFI_ROUTING="${ACH_ODFI_ROUTING:-091000019}" ACH_COMPANY_ID="${ACH_COMPANY_ID:-1234567890}"
  export ACH_COMPANY_NAME="${ACH_COMPANY_NAME:-LENDING DEV}" ACH_ARCHIVE_DIR="${ACH_ARCHIVE_DIR:-.local/ach-archive}"
  export ACH_SFTP_HOST=127.0.0.1 ACH_SFTP_PORT="$sftp_port" ACH_SFTP_USERNAME=lending ACH_SFTP_PASSWORD=dev-only-sftp-password
  python scripts/sftp_local.py run --root .local/sftp --port "$sftp_port" --username "$ACH_SFTP_USERNAME" --password "$ACH_SFTP_PASSWORD" &
  sftp_pid=$!
  python scripts/sftp_local.py wait --port "$sftp_port"
  echo "Bank SFTP (the ODFI's stand-in) on 127.0.0.1:$sftp_port, user $ACH_SFTP_USERNAME; its folders in .local/sftp (outbound/, inbound/)"
  # The bank behind it (a dev tool): collects outbound files, posts their entries, answers with returns
  # and NOCs for the README's test account numbers; its page shows every posted entry.
  bank_port="${BANK_SIMULATOR_PORT:-1090}"
  python tools/bank_simulator/simulator.py --root .local/sftp --state .local/bank --port "$bank_port" &
  bank_pid=$!
  echo "Bank simulator (pid $bank_pid): every posted entry, micro-deposits included, at http://127.0.0.1:$bank_port"
fi

python scripts/create_table.py
python -m app.worker &
worker_pid=$!
echo "Worker (pid $worker_pid): emails from the table's stream every second, the jobs of app/jobs every ${WORKER_INTERVAL_SECONDS:-60} s (not reloaded on code changes)"
echo "API on http://127.0.0.1:${PORT:-8000}  (docs: http://127.0.0.1:${PORT:-8000}/docs)"
uvicorn app.main:app --reload --reload-dir app --no-server-header --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
