#!/usr/bin/env bash
# Idempotent set-up shared by dev.sh and test.sh: Python venv + pinned packages, Java + DynamoDB Local.
# Source it (". scripts/setup.sh") from the repo root; it leaves .venv/bin first on PATH. It installs
# only what both need: the browser of the browser tests is `install_chromium`, which test.sh calls.
# Every apt-get waits up to 10 minutes for the dpkg and lists locks (another apt on a shared machine)
# instead of failing at once.
set -euo pipefail

APT_LOCK_WAIT=(-o DPkg::Lock::Timeout=600)

PYTHON="${PYTHON:-python3}"
"$PYTHON" - <<'PY' || { echo "Python 3.11+ is required (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get "${APT_LOCK_WAIT[@]}" update -qq && DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" install -y -qq python3-venv
      rm -rf .venv && "$PYTHON" -m venv .venv
    else
      echo "Cannot create a virtualenv: install python3-venv (sudo apt-get install python3-venv)" >&2; exit 1
    fi
  fi
fi

stamp=.venv/.requirements.sha256
wanted="$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "Installing Python packages into .venv ..."
  # (this machine's pip config names local mirrors that lack most packages: drop pip's noise about them)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$wanted" > "$stamp"
fi
export PATH="$PWD/.venv/bin:$PATH"

if [ -z "${DYNAMODB_ENDPOINT_URL:-}" ] && [ "${TEST_BACKEND:-}" != "moto" ]; then
  python scripts/dynamodb_local.py install >/dev/null
fi

# A headless browser for tests/e2e: Debian's chromium, driven by Playwright for Python (its own browser
# download cannot be used here). `install_chromium` (called by test.sh only, never by dev.sh) installs
# it with apt when missing and we are root, like Java above; otherwise the browser tests skip and say
# why. CHROMIUM_PATH names another Chromium-based browser.
install_chromium() {
  if [ -n "${CHROMIUM_PATH:-}" ] || [ -x /usr/bin/chromium ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 0
  fi
  echo "Installing chromium for the browser tests ..."
  if ! apt-cache show chromium >/dev/null 2>&1 \
    || ! DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" install -y -qq chromium >/dev/null 2>&1; then
    apt-get "${APT_LOCK_WAIT[@]}" update -qq && DEBIAN_FRONTEND=noninteractive apt-get "${APT_LOCK_WAIT[@]}" install -y -qq chromium >/dev/null
  fi
}
