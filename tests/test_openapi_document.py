"""docs/openapi.json is the app's OpenAPI document, byte for byte, and carries nothing of the environment.

The TypeScript client (clients/typescript) is generated from that file; when this fails, run
`.venv/bin/python scripts/export_openapi.py --client` and commit docs/openapi.json and the client's types.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.export_openapi import DOCUMENT, REGENERATE, ROOT, build_document, check, diff_summary, render


def test_the_committed_document_is_the_apps() -> None:
    current = render(build_document())
    committed = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
    if committed != current:  # pytest.fail, not assert: a readable summary instead of pytest's diff of two huge strings
        pytest.fail(
            f"docs/openapi.json differs from the app's OpenAPI document: run `{REGENERATE}` and commit the result.\n\n"
            + diff_summary(committed, current),
            pytrace=False,
        )


def test_the_document_is_what_the_app_serves() -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app
    from scripts.export_openapi import export_settings

    with TestClient(create_app(export_settings())) as client:
        served = client.get("/openapi.json").json()
    assert served == json.loads(render(build_document()))


def test_the_document_does_not_depend_on_settings() -> None:
    other = build_document(
        table_name="sentinel-table-7f3a",
        dynamodb_endpoint_url="http://sentinel-host.invalid:8123",
        aws_region="eu-west-3",
        cors_origins="https://sentinel-origin.invalid",
        jwt_secret="sentinel-secret-" + "q" * 40,
        ach_local_key=base64.b64encode(b"s" * 32).decode(),
        debug_db_metrics=True,
    )
    assert render(other) == render(build_document())
    text = render(other)
    for leaked in ("sentinel-table-7f3a", "sentinel-host", "eu-west-3", "sentinel-origin", "sentinel-secret"):
        assert leaked not in text


def test_the_document_is_pretty_printed_in_fastapis_order() -> None:
    text = DOCUMENT.read_text(encoding="utf-8")
    document = json.loads(text)
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "openapi": ')
    assert list(document)[:2] == ["openapi", "info"]  # FastAPI's order, not sorted keys


def test_check_mode_exit_status() -> None:
    """The command line: exit 0 when docs/openapi.json is current, 1 with the hint when not."""
    current = DOCUMENT.exists() and DOCUMENT.read_text(encoding="utf-8") == render(build_document())
    result = subprocess.run(
        [sys.executable, "scripts/export_openapi.py", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == (0 if current else 1), result.stdout[-2000:] + result.stderr
    assert ("is up to date" if current else "is stale") in result.stdout


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = json.loads(render(build_document()))
    stale["info"]["title"] = "A stale title"
    target = tmp_path / "openapi.json"
    target.write_text(render(stale), encoding="utf-8")

    assert check(target) == 1

    out = capsys.readouterr().out
    assert '-    "title": "A stale title",' in out
    assert "1 line(s) removed, 1 added" in out
    assert f"run `{REGENERATE}`" in out


def test_check_mode_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(tmp_path / "absent.json") == 1
    assert "is stale" in capsys.readouterr().out
