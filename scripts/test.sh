#!/usr/bin/env bash
# Set everything up, start a throwaway in-memory DynamoDB Local on a free port, run the whole
# test suite against it, and stop it whatever the outcome. Extra arguments go to pytest (and replace
# the coverage gate, which applies to the whole suite only).
# TEST_BACKEND=moto runs the suite on moto instead (no Java needed; quick, less faithful).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
install_chromium  # the browser tests' chromium (scripts/setup.sh): only the tests need it

if [ "${TEST_BACKEND:-dynamodb-local}" != "moto" ] && [ -z "${DYNAMODB_ENDPOINT_URL:-}" ]; then
  ddb_port="$(python scripts/dynamodb_local.py free-port)"
  python scripts/dynamodb_local.py run --port "$ddb_port" &
  ddb_pid=$!
  trap 'kill "$ddb_pid" 2>/dev/null || true; wait "$ddb_pid" 2>/dev/null || true' EXIT
  python scripts/dynamodb_local.py wait --port "$ddb_port"
  export DYNAMODB_ENDPOINT_URL="http://127.0.0.1:$ddb_port"
  export TEST_BACKEND=dynamodb-local
fi

if [ $# -eq 0 ]; then
  # The whole suite, in parallel (pytest-xdist: TEST_WORKERS processes, default 4 — the tests mostly wait
  # on DynamoDB Local, so more workers than this machine's 2 cores pay off; --dist loadfile keeps each
  # module's tests on one worker with their own table). Branch coverage of app/ must stay at or above
  # 95% (pyproject.toml [tool.coverage]).
  set -- -n "${TEST_WORKERS:-4}" --dist loadfile \
    --cov=app --cov-branch --cov-report=term-missing:skip-covered --cov-fail-under=95
fi
python -m pytest "$@"
