#!/usr/bin/env python3
"""Write the app's OpenAPI document to docs/openapi.json, or check that the committed copy is current.

    .venv/bin/python scripts/export_openapi.py            # regenerate docs/openapi.json
    .venv/bin/python scripts/export_openapi.py --client   # ... and the TypeScript client's types
    .venv/bin/python scripts/export_openapi.py --check    # exit 1, with a diff summary, if it is stale

The document is exactly what the app serves at /openapi.json (`create_app(...).openapi()`), in the
order FastAPI produces, indented by 2, with a trailing newline. It is built with fixed settings that
need no AWS, so nothing of the environment (table names, secrets, hosts) can reach it.
tests/test_openapi_document.py fails when the committed file differs from the app's document.
"""

from __future__ import annotations

import argparse
import base64
import difflib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"
CLIENT = ROOT / "clients" / "typescript"
REGENERATE = ".venv/bin/python scripts/export_openapi.py --client"
MAX_DIFF_LINES = 60

if str(ROOT) not in sys.path:  # run as a script: make `app` importable
    sys.path.insert(0, str(ROOT))


def export_settings(**overrides: Any) -> Any:
    """Settings that need no AWS and read nothing from the environment or a .env file."""
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

    from app.config import Settings

    class ExportSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)  # only the values below and the defaults: no environment variable, no .env

    values: dict[str, Any] = {
        "environment": "test",
        "table_name": "openapi-export",
        "dynamodb_endpoint_url": "http://127.0.0.1:9",
        "aws_region": "us-east-1",
        "log_level": "WARNING",
        "cors_origins": "",
        "jwt_secret": "openapi-export-" + "x" * 40,
        "ach_local_key": base64.b64encode(bytes(32)).decode(),
        "debug_db_metrics": False,
    }
    values.update(overrides)
    return ExportSettings(**values)


def build_document(**overrides: Any) -> dict[str, Any]:
    """The app's OpenAPI document, as GET /openapi.json serves it."""
    from app.main import create_app

    document: dict[str, Any] = create_app(export_settings(**overrides)).openapi()
    return document


def render(document: dict[str, Any]) -> str:
    """FastAPI's key order, 2-space indent, UTF-8 as is, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def diff_summary(committed: str, current: str, *, name: str = "docs/openapi.json", limit: int = MAX_DIFF_LINES) -> str:
    """A unified diff of the committed file against the app's document, cut to `limit` lines, with totals."""
    lines = list(difflib.unified_diff(committed.splitlines(), current.splitlines(), f"{name} (committed)", f"{name} (app)", lineterm=""))
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"... ({len(lines) - limit} more diff lines)")
    return "\n".join([f"{name}: {removed} line(s) removed, {added} added relative to the app's document", *shown])


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def check(path: Path = DOCUMENT) -> int:
    """0 when `path` holds the app's document; else print a diff summary and return 1."""
    current = render(build_document())
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed == current:
        print(f"{_shown(path)} is up to date")
        return 0
    print(diff_summary(committed, current, name=_shown(path)))
    print(f"\n{_shown(path)} is stale: run `{REGENERATE}` and commit the result.")
    return 1


def write(path: Path = DOCUMENT) -> None:
    text = render(build_document())
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        print(f"{_shown(path)} unchanged ({len(text.encode())} bytes)")
        return
    path.write_text(text, encoding="utf-8")
    print(f"wrote {_shown(path)} ({len(text.encode())} bytes)")


def regenerate_client() -> None:
    """clients/typescript: install the pinned packages if needed, then `npm run generate`."""
    npm = shutil.which("npm")
    if not npm:
        sys.exit("npm is needed to regenerate clients/typescript/src/schema.d.ts: install Node.js 20+ and npm.")
    if not (CLIENT / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=CLIENT, check=True)
    subprocess.run([npm, "run", "--silent", "generate"], cwd=CLIENT, check=True)
    print("regenerated clients/typescript/src/schema.d.ts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed file; exit 1 if it differs")
    parser.add_argument("--client", action="store_true", help="also regenerate the TypeScript client's types")
    args = parser.parse_args()
    if args.check:
        sys.exit(check())
    write()
    if args.client:
        regenerate_client()


if __name__ == "__main__":
    main()
