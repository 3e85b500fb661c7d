"""CORS as the SPA on another origin sees it, and the Allow header of a 405, on DynamoDB Local.

A browser lets JavaScript read a cross-origin answer only when it carries Access-Control-Allow-Origin,
and read a header only when Access-Control-Expose-Headers names it. So every answer to the SPA's
origin carries both, including the 413 and 500 that RequestContextMiddleware writes itself (outside
CORSMiddleware); a refused preflight is an error like any other (the JSON envelope, X-Request-ID).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import TEST_ORIGIN
from tests.support.clock import FakeClock

OTHER_ORIGIN = "https://evil.example"
EXPOSED = {"x-request-id", "retry-after", "idempotent-replayed"}
BIG_BODY = json.dumps({"name": "x" * (70 * 1024)}).encode()

probe = APIRouter()


@probe.get("/_cors_probe/boom")
def boom() -> None:
    raise RuntimeError("internal detail that must not leak")


@probe.post("/_cors_probe/echo")
def echo(body: dict[str, Any]) -> dict[str, Any]:
    return body


@pytest.fixture
def probing_client(settings: Settings) -> Iterator[TestClient]:
    probing = create_app(settings, clock=FakeClock())
    probing.include_router(probe)
    with TestClient(probing, raise_server_exceptions=False) as test_client:
        yield test_client


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"code", "message", "details", "requestId"}
    assert error["code"] == code
    assert error["requestId"] == response.headers["x-request-id"]
    return error


def exposed(response: httpx.Response) -> set[str]:
    return {name.strip().lower() for name in response.headers.get("access-control-expose-headers", "").split(",") if name.strip()}


def assert_readable_by(response: httpx.Response, origin: str) -> None:
    """What a browser needs to hand the answer (and its X-Request-ID, Retry-After, ...) to the SPA."""
    assert response.headers["access-control-allow-origin"] == origin
    assert exposed(response) >= EXPOSED, response.headers
    assert "origin" in {part.strip().lower() for part in response.headers["vary"].split(",")}


def assert_not_readable(response: httpx.Response) -> None:
    assert "access-control-allow-origin" not in response.headers


# Access-Control-Expose-Headers


def test_a_simple_answer_exposes_request_id_retry_after_and_idempotent_replayed(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": TEST_ORIGIN})
    assert response.status_code == 200
    assert_readable_by(response, TEST_ORIGIN)


def test_an_error_from_a_route_is_readable_by_the_spa(client: TestClient) -> None:
    response = client.get("/user/profile", headers={"Origin": TEST_ORIGIN})
    assert_envelope(response, 401, "UNAUTHENTICATED")
    assert_readable_by(response, TEST_ORIGIN)


def test_another_origin_is_not_allowed_to_read(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": OTHER_ORIGIN})
    assert response.status_code == 200
    assert_not_readable(response)


# The answers RequestContextMiddleware writes itself


def test_a_declared_oversized_body_is_a_413_the_spa_can_read(probing_client: TestClient) -> None:
    response = probing_client.post(
        "/_cors_probe/echo", content=BIG_BODY, headers={"Origin": TEST_ORIGIN, "Content-Type": "application/json"}
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert_readable_by(response, TEST_ORIGIN)


def test_a_streamed_oversized_body_is_a_413_the_spa_can_read(probing_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(BIG_BODY), 4096):
            yield BIG_BODY[start : start + 4096]

    response = probing_client.post(
        "/_cors_probe/echo", content=chunks(), headers={"Origin": TEST_ORIGIN, "Content-Type": "application/json"}
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert_readable_by(response, TEST_ORIGIN)


def test_a_413_for_another_origin_does_not_allow_it(probing_client: TestClient) -> None:
    response = probing_client.post(
        "/_cors_probe/echo", content=BIG_BODY, headers={"Origin": OTHER_ORIGIN, "Content-Type": "application/json"}
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
    assert_not_readable(response)


def test_an_unhandled_error_is_a_500_the_spa_can_read(probing_client: TestClient) -> None:
    response = probing_client.get("/_cors_probe/boom", headers={"Origin": TEST_ORIGIN})
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "internal detail" not in response.text and error["message"] == "Internal server error"
    assert_readable_by(response, TEST_ORIGIN)


def test_a_500_for_another_origin_does_not_allow_it(probing_client: TestClient) -> None:
    response = probing_client.get("/_cors_probe/boom", headers={"Origin": OTHER_ORIGIN})
    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert_not_readable(response)


def test_a_500_without_origin_has_no_cors_headers(probing_client: TestClient) -> None:
    response = probing_client.get("/_cors_probe/boom")
    assert_envelope(response, 500, "INTERNAL_ERROR")
    assert not [name for name in response.headers if name.startswith("access-control-")]


# Preflights


def test_an_allowed_preflight_is_answered(client: TestClient) -> None:
    response = client.options(
        "/loans/some-loan/repayments",
        headers={
            "Origin": TEST_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == TEST_ORIGIN
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    allowed_headers = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id"} <= allowed_headers
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        (OTHER_ORIGIN, "GET", None),
        (TEST_ORIGIN, "TRACE", None),
        (TEST_ORIGIN, "POST", "authorization, x-evil"),
    ],
    ids=["origin", "method", "header"],
)
def test_a_refused_preflight_is_a_400_in_the_envelope(client: TestClient, origin: str, method: str, request_headers: str | None) -> None:
    headers = {"Origin": origin, "Access-Control-Request-Method": method, "X-Request-ID": "preflight-1"}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    response = client.options("/loans", headers=headers)
    error = assert_envelope(response, 400, "BAD_REQUEST")
    assert error["requestId"] == "preflight-1"
    assert "CORS" in error["message"]
    assert response.headers["x-content-type-options"] == "nosniff"
    if origin == OTHER_ORIGIN:
        assert_not_readable(response)


def test_a_refused_preflight_gets_a_fresh_request_id_when_none_is_sent(client: TestClient) -> None:
    response = client.options("/health", headers={"Origin": OTHER_ORIGIN, "Access-Control-Request-Method": "GET"})
    error = assert_envelope(response, 400, "BAD_REQUEST")
    assert len(error["requestId"]) == 36


# 405: Allow names every method the path serves


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/user/profile", "GET, PATCH"),
        ("OPTIONS", "/user/profile", "GET, PATCH"),  # an OPTIONS that is not a preflight
        ("DELETE", "/loans/some-loan/repayments", "GET, POST"),
        ("PUT", "/loans/some-loan/repayments", "GET, POST"),
        ("GET", "/loans", "POST"),
        ("DELETE", "/health", "GET"),
    ],
)
def test_a_405_allows_every_method_of_the_path(client: TestClient, method: str, path: str, allow: str) -> None:
    response = client.request(method, path, headers={"Origin": TEST_ORIGIN})
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allow
    assert_readable_by(response, TEST_ORIGIN)


def api_paths(app: FastAPI) -> dict[str, set[str]]:
    """Path template -> every method served there."""
    served: dict[str, set[str]] = {}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.route, APIRoute):
            served.setdefault(str(context.path), set()).update(context.methods or ())
    return served


def test_every_api_path_answers_405_with_all_its_methods(app: FastAPI, client: TestClient) -> None:
    paths = api_paths(app)
    assert len(paths) > 10
    for template, methods in paths.items():
        path = template.replace("{loanId}", "some-loan")
        refused = next(m for m in ("DELETE", "PUT", "PATCH") if m not in methods)
        response = client.request(refused, path)
        assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == ", ".join(sorted(methods)), f"{refused} {template}"
