#!/usr/bin/env bash
# Run checkov over terraform/ from its own throwaway venv (.local/tools/checkov-<version>), created on
# first use and reused after: checkov's dependencies clash with the app's pins, so it never enters .venv.
#
#   scripts/checkov.sh              human summary of the failures only (exit 1 when any check fails)
#   scripts/checkov.sh -o json      extra arguments replace the summary flags (tests/ops use -o json)
#
# A finding we accept is skipped in the .tf itself, next to the resource, with its reason:
#   #checkov:skip=CKV_AWS_117:why this does not apply here
# Delete .local/tools/checkov-* to rebuild the venv. Exit status is checkov's.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="3.3.30"
PYTHON="${PYTHON:-python3}"
venv=".local/tools/checkov-$CHECKOV_VERSION"

if [ ! -f "$venv/.installed" ]; then  # the stamp is written last: a half-made venv is rebuilt
  rm -rf "$venv"
  echo "Installing checkov $CHECKOV_VERSION into $venv ..." >&2
  "$PYTHON" -m venv "$venv"
  # (this machine's pip config names local mirrors that lack most packages: drop pip's noise about them)
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  touch "$venv/.installed"
fi

if [ $# -eq 0 ]; then set -- --quiet --compact; fi
# No platform calls, no version check, no telemetry: the scan is offline and local.
export BC_SKIP_MAPPING=TRUE CHECKOV_SKIP_VERSION_CHECK=TRUE ANSI_COLORS_DISABLED=TRUE
exec "$venv/bin/checkov" --directory terraform --framework terraform --skip-download "$@"
