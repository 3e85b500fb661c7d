"""The ASGI app's outer behaviour on DynamoDB Local: health, envelope, request ids, limits, CORS, logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.observability import JsonFormatter
from app.routing import JsonRoute
from app.schemas import StrictInput
from tests.conftest import TEST_ORIGIN, make_settings
from tests.support.clock import FakeClock


class Echo(StrictInput):
    name: str


probe = APIRouter(route_class=JsonRoute)


@probe.post("/_probe/echo")
def echo(body: Echo) -> Echo:
    return body


@probe.get("/_probe/async-echo")
async def async_echo() -> Echo:
    return Echo(name="async")


@probe.get("/_probe/boom")
def boom() -> None:
    raise RuntimeError("internal detail: password=hunter2")


@pytest.fixture
def probing_client(app: FastAPI) -> TestClient:
    app.include_router(probe)
    return TestClient(app, raise_server_exceptions=False)


def assert_envelope(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["requestId"] == response.headers["x-request-id"]
    assert isinstance(error["message"], str) and isinstance(error["details"], list)
    return error


def test_health_touches_the_table(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["checks"] == {"dynamodb": "ok"} and body["version"]
    assert int(response.headers["x-db-requests"]) == 1


def test_health_is_degraded_when_dynamodb_is_unreachable(table_name: str) -> None:
    settings = make_settings("http://127.0.0.1:9", table_name)
    with TestClient(create_app(settings, clock=FakeClock()), raise_server_exceptions=False) as dead:
        response = dead.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["checks"] == {"dynamodb": "unavailable"}
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["error"]["requestId"] == response.headers["x-request-id"]


def test_request_id_is_echoed_when_sane(client: TestClient) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc-123.def"}).headers["x-request-id"] == "abc-123.def"


@pytest.mark.parametrize("unsafe", ["has space", "x" * 200, "semi;colon", "new\tline"])
def test_unsafe_request_id_is_replaced(client: TestClient, unsafe: str) -> None:
    echoed = client.get("/health", headers={"X-Request-ID": unsafe}).headers["x-request-id"]
    assert echoed != unsafe and len(echoed) == 36


def test_request_id_is_generated_when_missing(client: TestClient) -> None:
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]
    assert first and second and first != second


def test_unknown_route_is_404_in_the_envelope(client: TestClient) -> None:
    assert_envelope(client.get("/no/such/route"), 404, "NOT_FOUND")


def test_wrong_method_is_405_in_the_envelope(client: TestClient) -> None:
    assert_envelope(client.delete("/health"), 405, "METHOD_NOT_ALLOWED")


def test_malformed_json_is_400(probing_client: TestClient) -> None:
    response = probing_client.post("/_probe/echo", content=b'{"name": ', headers={"content-type": "application/json"})
    assert_envelope(response, 400, "BAD_REQUEST")


def test_duplicate_json_keys_are_400(probing_client: TestClient) -> None:
    response = probing_client.post("/_probe/echo", content=b'{"name": "a", "name": "b"}', headers={"content-type": "application/json"})
    assert_envelope(response, 400, "BAD_REQUEST")


def test_wrong_content_type_is_400(probing_client: TestClient) -> None:
    response = probing_client.post("/_probe/echo", content=b"name=a", headers={"content-type": "application/x-www-form-urlencoded"})
    assert_envelope(response, 400, "BAD_REQUEST")


def test_validation_error_names_the_field(probing_client: TestClient) -> None:
    error = assert_envelope(probing_client.post("/_probe/echo", json={"nam": "typo"}), 422, "VALIDATION_ERROR")
    fields = {detail["field"] for detail in error["details"]}
    assert {"name", "nam"} <= fields


def test_body_over_64_kib_is_413(probing_client: TestClient) -> None:
    big = json.dumps({"name": "x" * (70 * 1024)}).encode()
    assert_envelope(
        probing_client.post("/_probe/echo", content=big, headers={"content-type": "application/json"}), 413, "PAYLOAD_TOO_LARGE"
    )


def test_chunked_body_over_64_kib_is_413(probing_client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "'
        for _ in range(70):
            yield b"x" * 1024
        yield b'"}'

    response = probing_client.post("/_probe/echo", content=chunks(), headers={"content-type": "application/json"})
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


def test_body_just_under_the_limit_is_accepted(probing_client: TestClient) -> None:
    name = "x" * (64 * 1024 - len('{"name": ""}'))
    response = probing_client.post(
        "/_probe/echo", content=json.dumps({"name": name}).encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200


def test_unhandled_error_is_500_without_internals(probing_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="app"):
        response = probing_client.get("/_probe/boom")
    error = assert_envelope(response, 500, "INTERNAL_ERROR")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert error["message"] == "Internal server error"
    assert any(getattr(r, "request_id", None) == error["requestId"] for r in caplog.records)


def test_cors_preflight_for_configured_origin(client: TestClient) -> None:
    response = client.options(
        "/health",
        headers={"Origin": TEST_ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"},
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == TEST_ORIGIN


def test_cors_preflight_refused_for_other_origin(client: TestClient) -> None:
    response = client.options("/health", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 400


def test_one_json_access_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        response = client.get("/health", headers={"Authorization": "Bearer secret-token-value"})
    lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["method"] == "GET" and line["route"] == "/health" and line["status"] == 200
    assert line["request_id"] == response.headers["x-request-id"] and line["duration_ms"] >= 0
    assert "secret-token-value" not in lines[0]


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["info"]["title"] == "Lending marketplace API"
    assert "swagger" in client.get("/docs").text.lower()


def test_every_response_forbids_mime_sniffing(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/nowhere"), client.post("/auth/login", content=b"{")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers


def test_authenticated_answers_are_never_cached(client: TestClient) -> None:
    response = client.get("/user/profile", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"
    assert "no-store" not in client.get("/health").headers.get("cache-control", "")


def test_an_unreachable_table_is_503_on_every_route(table_name: str, clock: FakeClock) -> None:
    down = create_app(make_settings("http://127.0.0.1:9", table_name), clock=clock)
    from app.auth.tokens import issue_access_token

    token = issue_access_token(settings=down.state.settings, user_id="u-1", email="a@example.com", now=clock.now())
    with TestClient(down, raise_server_exceptions=False) as client:
        response = client.get("/user/profile", headers={"Authorization": f"Bearer {token}"})
    error = assert_envelope(response, 503, "SERVICE_UNAVAILABLE")
    assert response.headers["retry-after"] == "1" and "127.0.0.1" not in error["message"]


def test_async_routes_are_rendered_like_sync_ones(probing_client: TestClient) -> None:
    response = probing_client.get("/_probe/async-echo")
    assert response.status_code == 200 and response.json() == {"name": "async"}
