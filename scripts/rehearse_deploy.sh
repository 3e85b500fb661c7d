#!/usr/bin/env bash
# Rehearse the deploy on moto (README "Deploy" / "Rehearsal"): terraform/ applied with
# environments/dev.tfvars to a moto server on 127.0.0.1, the app's whole story in prod on what it
# created (uvicorn and lambda_handler.handler) with its emails (lambda_handler.stream_handler through
# moto's SES), an empty second plan, destroy. Runs
# tests/ops/test_deploy_rehearsal.py (machinery: scripts/rehearse_deploy.py); ./scripts/test.sh runs
# the same module as part of the suite.
#
#   scripts/rehearse_deploy.sh [--zip dist/lambda.zip] [pytest arguments...]
#
# --zip (or REHEARSAL_LAMBDA_ZIP) rehearses that package, e.g. the one a pipeline is about to deploy;
# without it the zip is built (scripts/build_lambda.sh, cached wheels). Terraform installs the AWS
# provider offline from TF_PLUGIN_MIRROR (default /opt/tf-plugins). Unlike the test suite, which
# skips the rehearsal where terraform or the mirror is missing, this script fails there.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--zip" ]; then
  [ $# -ge 2 ] || { echo "--zip needs a path" >&2; exit 2; }
  REHEARSAL_LAMBDA_ZIP="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
  export REHEARSAL_LAMBDA_ZIP
  shift 2
fi

# The rehearsal starts its own moto server: no DynamoDB Local (nor Java) needed for it.
export TEST_BACKEND="${TEST_BACKEND:-moto}"
. scripts/setup.sh

export REHEARSAL_REQUIRED=1
python -m pytest tests/ops/test_deploy_rehearsal.py -o addopts="" -p no:cacheprovider -ra -s "$@"
