"""lambda_handler.handler answers real-shaped API Gateway events (HTTP API 2.0 and REST API 1.0); scheduled_handler runs a job."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
V2 = str(HERE / "events" / "http_api_v2.json")
V1 = str(HERE / "events" / "rest_api_v1.json")


def invoke(env_overrides: dict[str, str], *specs: str) -> list[dict]:  # type: ignore[type-arg]
    env = {**os.environ, "ENVIRONMENT": "test", **env_overrides}
    result = subprocess.run(
        [sys.executable, str(HERE / "lambda_driver.py"), *specs],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return [json.loads(line.removeprefix("RESULT ")) for line in result.stdout.splitlines() if line.startswith("RESULT ")]


def headers_of(result: dict) -> dict[str, str]:  # type: ignore[type-arg]
    merged = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        merged[name.lower()] = values[-1]
    return merged


@pytest.fixture(scope="module")
def results(endpoint_url: str, table_name: str) -> list[dict]:  # type: ignore[type-arg]
    env = {"DYNAMODB_ENDPOINT_URL": endpoint_url, "TABLE_NAME": table_name}
    return invoke(env, V2, V1, f"{V2}:GET:/no/such/route", f"{V1}:DELETE:/health")


def test_http_api_v2_health(results: list[dict]) -> None:  # type: ignore[type-arg]
    result = results[0]
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["status"] == "ok"
    headers = headers_of(result)
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "apigw-v2-request-1"


def test_rest_api_v1_health(results: list[dict]) -> None:  # type: ignore[type-arg]
    result = results[1]
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["checks"] == {"dynamodb": "ok"}
    assert headers_of(result)["x-request-id"]


def test_http_api_v2_error_path_is_the_envelope(results: list[dict]) -> None:  # type: ignore[type-arg]
    result = results[2]
    assert result["statusCode"] == 404
    body = json.loads(result["body"])
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["error"]["requestId"] == headers_of(result)["x-request-id"]


def test_rest_api_v1_error_path_is_the_envelope(results: list[dict]) -> None:  # type: ignore[type-arg]
    result = results[3]
    assert result["statusCode"] == 405
    assert json.loads(result["body"])["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_unreachable_table_gives_503_through_lambda(table_name: str) -> None:
    result = invoke({"DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:9", "TABLE_NAME": table_name}, V2)[0]
    assert result["statusCode"] == 503
    assert json.loads(result["body"])["status"] == "degraded"


# lambda_handler.scheduled_handler: the jobs function (terraform/jobs.tf) runs the same zip with this handler.
SCHEDULED = """
import json, sys
import lambda_handler
result = lambda_handler.scheduled_handler({"job": "expire-loans"}, None)
print("RESULT " + json.dumps({"result": result, "api_modules": [name for name in ("app.main", "mangum") if name in sys.modules]}))
"""


def test_scheduled_handler_runs_a_job_without_building_the_api(endpoint_url: str, table_name: str) -> None:
    env = {**os.environ, "ENVIRONMENT": "test", "DYNAMODB_ENDPOINT_URL": endpoint_url, "TABLE_NAME": table_name}
    done = subprocess.run([sys.executable, "-c", SCHEDULED], cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    answer = json.loads(line.removeprefix("RESULT "))
    assert answer["result"] == {"job": "expire-loans", "due": 0, "expired": 0}
    assert answer["api_modules"] == [], "the jobs function's cold start never builds the ASGI app"
