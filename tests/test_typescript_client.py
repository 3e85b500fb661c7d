"""clients/typescript: its generated types match docs/openapi.json, it type-checks strictly, and its example works.

`npm ci` runs only when node_modules is missing or package.json / package-lock.json changed since
the last install (a stamp in node_modules), so repeated runs cost no network. Skipped without npm.
The example verifies its users' emails through INBOX_URL: a mailbox served by the test (tests/e2e/servers.py).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.e2e.servers import LiveApp, StaticSite
from tests.factories import verification_link_of

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "typescript"
SCHEMA = "src/schema.d.ts"
STAMP = CLIENT / "node_modules" / ".installed-lockfile.sha256"
REGENERATE = ".venv/bin/python scripts/export_openapi.py --client  (or: cd clients/typescript && npm run generate)"


def run(*command: str, timeout: int = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env} if env else None
    return subprocess.run(command, cwd=CLIENT, capture_output=True, text=True, timeout=timeout, check=False, env=environment)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"$ {shlex.join(result.args)}  (exit {result.returncode})\n{result.stdout}{result.stderr}"


def lockfile_digest() -> str:
    return hashlib.sha256((CLIENT / "package.json").read_bytes() + (CLIENT / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def npm() -> str:
    """npm, after `npm ci` if node_modules is missing or stale."""
    found = shutil.which("npm")
    if found is None:
        pytest.skip("npm is not installed: the TypeScript client cannot be checked (install Node.js 20+ and npm)")
    digest = lockfile_digest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        result = run(found, "ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=600)
        assert result.returncode == 0, output(result)
        STAMP.write_text(digest + "\n")
    return found


def bin_of(name: str) -> str:
    return str(CLIENT / "node_modules" / ".bin" / name)


def test_the_package_pins_exact_versions() -> None:
    package = json.loads((CLIENT / "package.json").read_text())
    pins = {**package["dependencies"], **package["devDependencies"]}
    assert {"openapi-fetch", "openapi-typescript", "typescript"} <= set(pins)
    loose = {name: spec for name, spec in pins.items() if not spec[:1].isdigit()}
    assert loose == {}, "package.json pins exact versions only"


def test_the_generated_types_match_docs_openapi_json(npm: str, tmp_path: Path) -> None:
    """Run the package's own "generate" script to a temporary file and compare it with the committed one."""
    script = shlex.split(json.loads((CLIENT / "package.json").read_text())["scripts"]["generate"])
    assert script[0] == "openapi-typescript" and SCHEMA in script, script
    fresh = tmp_path / "schema.d.ts"
    result = run(bin_of(script[0]), *[str(fresh) if arg == SCHEMA else arg for arg in script[1:]], timeout=120)
    assert result.returncode == 0, output(result)
    committed = (CLIENT / SCHEMA).read_text(encoding="utf-8") if (CLIENT / SCHEMA).exists() else ""
    current = fresh.read_text(encoding="utf-8")
    if committed != current:
        diff = list(difflib.unified_diff(committed.splitlines(), current.splitlines(), f"{SCHEMA} (committed)", "(generated)", lineterm=""))
        pytest.fail(
            f"clients/typescript/{SCHEMA} is not what docs/openapi.json generates: run `{REGENERATE}`\n" + "\n".join(diff[:60]),
            pytrace=False,
        )


def test_the_client_type_checks_strictly(npm: str) -> None:
    result = run("npx", "--no", "--", "tsc", "--strict", "--noEmit", "-p", ".")
    assert result.returncode == 0, output(result)


@pytest.fixture(scope="module")
def api(endpoint_url: str, table_name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, StaticSite]]:
    """The app under uvicorn, and the mailbox its users read their verification links from."""
    app = create_app(make_settings(endpoint_url, table_name))
    with LiveApp(app) as live, StaticSite(tmp_path_factory.mktemp("inbox"), inbox=lambda email: verification_link_of(app, email)) as inbox:
        yield live, inbox


def test_the_example_walks_the_story_against_the_running_api(npm: str, api: tuple[LiveApp, StaticSite]) -> None:
    """src/story.ts, compiled and run with node against the real app: every step answers as typed."""
    build = run(bin_of("tsc"), "-p", ".", "--outDir", "dist", "--noCheck")  # checked above; this only emits
    assert build.returncode == 0, output(build)
    live, inbox = api
    result = run("node", "dist/story.js", live.url, timeout=120, env={"INBOX_URL": f"http://127.0.0.1:{inbox.port}"})
    assert result.returncode == 0, output(result)
    assert "story complete" in result.stdout, output(result)
    assert "emailVerified true" in result.stdout, output(result)
    steps = ("register Bea", "verify Bea", "verify Lou", "create loan (retry)", "pending invitations", "accept", "read loan")
    for step in (*steps, "dashboard", "schedule"):
        assert step in result.stdout, output(result)
