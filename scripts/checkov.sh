#!/usr/bin/env bash
# Run checkov over terraform/ from its own throwaway venv (.local/tools/checkov-<version>), created on
# first use and reused after: checkov's dependencies clash with the app's pins, so it never enters .venv.
# Extra arguments go to checkov (e.g. -o json). Exit status is checkov's.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="3.3.30"
PYTHON="${PYTHON:-python3}"
venv=".local/tools/checkov-$CHECKOV_VERSION"

if [ ! -f "$venv/.installed" ]; then  # the stamp is written last: a half-made venv is rebuilt
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" >&2
  touch "$venv/.installed"
fi

# No platform calls, no version check, no telemetry: the scan is offline and local.
export BC_SKIP_MAPPING=TRUE CHECKOV_SKIP_VERSION_CHECK=TRUE ANSI_COLORS_DISABLED=TRUE
exec "$venv/bin/checkov" --directory terraform --framework terraform --skip-download --quiet --compact "$@"
