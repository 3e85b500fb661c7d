"""The same app through the Lambda adapter (Mangum, in process): answers as over HTTP, with the route's
synchronous code run inline (one request at a time per execution environment: app/routing.py)."""

from __future__ import annotations

import json
import threading
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from mangum import Mangum

from tests.factories import a_user
from tests.loans.helpers import create_loan


def http_api_event(method: str, path: str, headers: dict[str, str], body: str | None = None) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.com", **{k.lower(): v for k, v in headers.items()}},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": "req-1",
            "stage": "$default",
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "timeEpoch": 0,
        },
        "body": body,
        "isBase64Encoded": False,
    }


class Context:
    aws_request_id = "lambda-1"


def worker_threads() -> set[int]:
    return {t.ident or 0 for t in threading.enumerate() if t.name.startswith("AnyIO worker thread")}


def test_reads_and_writes_answer_through_mangum_as_over_http_and_run_inline(app: FastAPI, client: TestClient) -> None:
    borrower, lender = a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lender, "100.00")])
    handler = Mangum(app, lifespan="off")
    reads = [(f"/loans/{loan['loanId']}", borrower), ("/user/profile", lender), (f"/loans/{loan['loanId']}/events", borrower)]
    over_http = {path: client.get(path, headers=user.headers) for path, user in reads}
    before = worker_threads()  # HTTP requests ran in the worker pool (uvicorn serves many at once)

    # reads: the same status and body as over HTTP
    for path, user in reads:
        through_lambda = handler(http_api_event("GET", path, user.headers), Context())
        assert through_lambda["statusCode"] == over_http[path].status_code == 200, path
        assert json.loads(through_lambda["body"]) == over_http[path].json(), path

    # a write (a decline) and an error envelope (401 without a token)
    declined = handler(http_api_event("PUT", f"/lender/decline/{loan['loanId']}", lender.headers), Context())
    assert declined["statusCode"] == 200 and json.loads(declined["body"])["status"] == "declined"
    refused = handler(http_api_event("GET", "/user/profile", {}), Context())
    assert refused["statusCode"] == 401 and json.loads(refused["body"])["error"]["code"] == "UNAUTHENTICATED"

    # each Mangum invocation runs its own event loop: had anything gone to the worker pool, new workers would exist
    assert worker_threads() <= before
