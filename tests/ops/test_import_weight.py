"""Each Lambda handler imports only what it runs (the cold start: docs/performance.md "Cold start").

Every check runs in a fresh interpreter, the way a Lambda sandbox starts, and reads `sys.modules`
after the handler ran: the jobs and notifications functions never load the web framework, and the
API function never loads what only the jobs, the emails or /openapi.json need.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENT = Path(__file__).resolve().parent / "events" / "http_api_v2.json"

# The web framework and what only the API's routes or the OpenAPI document load.
WEB = ("fastapi", "mangum", "pydantic.v1", "app.main", "app.api", "app.openapi", "app.middleware")
# What only an email or a token needs: the templates engine, and PyJWT with cryptography's public-key algorithms.
EMAIL = ("jinja2", "app.notifications.render")
PUBLIC_KEY_CRYPTO = (
    "jwt",
    "cryptography.x509",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "cryptography.hazmat.primitives.asymmetric.ec",
)
JOBS_ONLY = ("app.notifications", "app.jobs", "email_validator.deliverability", "dns")

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import lambda_handler
{body}
wanted = {watched!r}
print("LOADED " + json.dumps(sorted(name for name in wanted if name in sys.modules)))
"""


def loaded_after(body: str, watched: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """Which of `watched` a fresh interpreter has in sys.modules after importing lambda_handler and running `body`."""
    code = PROBE.format(root=str(ROOT), body=body, watched=watched)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED "))
    loaded: list[str] = json.loads(line.removeprefix("LOADED "))
    return loaded


@pytest.fixture(scope="module")
def env(endpoint_url: str, table_name: str) -> dict[str, str]:
    return {**os.environ, "ENVIRONMENT": "test", "DYNAMODB_ENDPOINT_URL": endpoint_url, "TABLE_NAME": table_name, "LOG_LEVEL": "WARNING"}


def test_importing_lambda_handler_loads_no_handler_s_dependencies(env: dict[str, str]) -> None:
    """The settings and the table handle only: what all three functions share."""
    assert loaded_after("", (*WEB, *EMAIL, *PUBLIC_KEY_CRYPTO, "starlette"), env) == []


def test_the_jobs_function_runs_every_job_without_the_web_framework(env: dict[str, str]) -> None:
    body = """
from app.jobs import JOBS
for name in JOBS:
    report = lambda_handler.scheduled_handler({"job": name}, None)
    assert report["job"] == name, report
"""
    assert loaded_after(body, (*WEB, *PUBLIC_KEY_CRYPTO, "starlette"), env) == []


def test_the_notifications_function_answers_a_batch_without_the_web_framework(env: dict[str, str]) -> None:
    body = """
assert lambda_handler.stream_handler({"Records": []}, None) == {"batchItemFailures": []}
"""
    assert loaded_after(body, (*WEB, *PUBLIC_KEY_CRYPTO, "starlette"), env) == []


def test_the_api_function_answers_health_without_emails_jobs_or_public_key_crypto(env: dict[str, str]) -> None:
    body = f"""
result = lambda_handler.handler(json.load(open({str(EVENT)!r})), None)
assert result["statusCode"] == 200, result
"""
    assert loaded_after(body, (*EMAIL, *PUBLIC_KEY_CRYPTO, *JOBS_ONLY), env) == []


def test_the_openapi_document_is_built_on_its_first_request_only(env: dict[str, str]) -> None:
    """Neither the import nor a first API request builds the document; /openapi.json does, once."""
    body = f"""
from app.main import app
event = json.load(open({str(EVENT)!r}))
assert lambda_handler.handler(event, None)["statusCode"] == 200
assert app.openapi_schema is None
event["rawPath"] = event["requestContext"]["http"]["path"] = "/openapi.json"
result = lambda_handler.handler(event, None)
assert result["statusCode"] == 200, result
assert "getHealth" in result["body"] and app.openapi_schema is not None
"""
    assert loaded_after(body, (), env) == []


GC_PROBE = """
import gc, sys
sys.path.insert(0, {root!r})
try:
    import lambda_handler
except Exception as exc:
    print("FAILED", type(exc).__name__, gc.isenabled())
    raise SystemExit(0)
print("IMPORTED", gc.isenabled(), gc.get_freeze_count() > 0)
lambda_handler.handler
print("BUILT", gc.isenabled())
"""


def test_the_gc_paused_for_the_init_is_running_again_after_it_even_when_the_init_fails(env: dict[str, str]) -> None:
    """lambda_handler pauses the cyclic GC while it imports and builds (the cold start), never longer."""
    code = GC_PROBE.format(root=str(ROOT))
    ok = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    assert ok.stdout.split() == ["IMPORTED", "True", "True", "BUILT", "True"], ok.stderr[-2000:]
    misconfigured = {**env, "ENVIRONMENT": "prod", "JWT_SECRET": "short"}
    failed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=misconfigured, timeout=120, check=True)
    assert failed.stdout.split() == ["FAILED", "ValidationError", "True"], failed.stderr[-2000:]
