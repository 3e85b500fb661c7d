#!/usr/bin/env python3
"""The app's own per-request CPU cost, with DynamoDB answering instantly: what the time goes to.

    .venv/bin/python scripts/bench_overhead.py                      # 2,000 requests per endpoint, in-process handler
    .venv/bin/python scripts/bench_overhead.py --profile /tmp/p.txt --requests 3000

Starts DynamoDB Local, builds the Lambda handler (`lambda_handler.handler`, Mangum -> the app) in this
process, seeds through it (two verified users, a funded loan with a repayment, a few more loans), and
records the DynamoDB answers of one real call of each endpoint. Then it replays: a botocore
`before-send` hook answers every DynamoDB request with the recorded HTTP body (botocore still builds,
signs and parses each request, as the floor's boto3 calls do), so the time of a request is the
app's share alone plus botocore's, with no socket, no DynamoDB Local and no other process on the CPUs.
The same stub under the floor's bare calls (scripts/bench_floor.py's) gives botocore's share; the
difference is the app's per-request cost. `--profile` writes a cProfile of the stubbed handler serving
get loan, my-loans and profile (sorted by own time, then cumulative). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import bench, dynamodb_local  # noqa: E402
from scripts.bench_memory import HandlerClient, quiet_access_log  # noqa: E402
from scripts.bench_workload import ACH, cents, json_text  # noqa: E402

PROFILED = ("get loan", "my-loans", "profile")


class _Raw:
    """What botocore's AWSResponse reads a body from (urllib3's stream())."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, *_: Any, **__: Any) -> Iterator[bytes]:
        yield self.body


class Recorder:
    """Records each DynamoDB operation's answer (after-call), then serves them back (before-send) without a socket."""

    def __init__(self) -> None:
        self.answers: dict[str, list[bytes]] = {}
        self.replaying = False
        self.served: dict[str, int] = {}

    def attach(self, client: Any) -> None:
        client.meta.events.register("after-call.dynamodb", self.after_call)
        client.meta.events.register("before-send.dynamodb", self.before_send)

    def after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if not self.replaying and http_response.status_code == 200:
            self.answers.setdefault(model.name, []).append(http_response.content)

    def before_send(self, request: Any, **_: Any) -> Any:
        if not self.replaying:
            return None
        from botocore.awsrequest import AWSResponse

        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
        answers = self.answers[operation]
        count = self.served.get(operation, 0)
        self.served[operation] = count + 1
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, _Raw(answers[count % len(answers)]))


def timed(call: Callable[[], Any], requests: int) -> list[float]:
    millis = []
    for _ in range(requests):
        started = time.perf_counter()
        call()
        millis.append((time.perf_counter() - started) * 1000)
    return millis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint and path (default 2000)")
    parser.add_argument("--profile", type=Path, help="write the cProfile of get loan, my-loans and profile here")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    port = dynamodb_local.free_port()
    ddb = dynamodb_local.start(port)
    try:
        url = f"http://127.0.0.1:{port}"
        from app.db.client import make_client
        from app.db.schema_admin import ensure_table

        admin = make_client(region="us-east-1", endpoint_url=url)
        ensure_table(admin, bench.TABLE)
        os.environ.update(bench.app_env(url))
        import lambda_handler
        from app.main import app

        handler = lambda_handler.handler
        quiet_access_log()
        api = HandlerClient(handler)
        recorder = Recorder()

        def call(method: str, path: str, token: str | None = None, body: Any = None) -> dict[str, Any]:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            response = api.request(method, path, content=None if body is None else json_text(body), headers=headers)
            if response.status_code >= 400:
                raise SystemExit(f"{method} {path} -> {response.status_code} {response.text[:300]}")
            return response.json() if response.text else {}

        users = []
        for n in range(2):
            email = f"overhead-{n}@example.com"
            registered = call(
                "POST", "/auth/register", body={"email": email, "password": bench.PASSWORD, "firstName": "O", "lastName": str(n)}
            )
            user_id = registered["user"]["userId"]
            call("POST", "/auth/verify-email", registered["accessToken"], {"token": bench.verification_link_token(admin, user_id)})
            token = call("POST", "/auth/login", body={"email": email, "password": bench.PASSWORD})["accessToken"]
            users.append({"email": email, "userId": user_id, "token": token})
        borrower, lender = users
        loan_body = {"amount": cents(250_000), "purpose": "overhead", "termMonths": 12, "interestRate": cents(725)}
        loan = call("POST", "/loans", borrower["token"], {**loan_body, "lenders": [{"email": lender["email"], "amount": cents(250_000)}]})
        call("PUT", f"/lender/accept/{loan['loanId']}", lender["token"], {"achDetails": ACH})
        call("POST", f"/loans/{loan['loanId']}/repayments", borrower["token"], {"amount": cents(10_000)})
        for _ in range(4):  # my-loans: a page of 5 loans
            call("POST", "/loans", borrower["token"], {**loan_body, "lenders": [{"email": lender["email"], "amount": cents(250_000)}]})

        loan_id = loan["loanId"]
        endpoints: dict[str, tuple[str, str, str]] = {
            "get loan": ("GET", f"/loans/{loan_id}", borrower["token"]),
            "my-loans": ("GET", "/loans/my-loans?limit=20", borrower["token"]),
            "profile": ("GET", "/user/profile", borrower["token"]),
            "dashboard": ("GET", "/user/dashboard", lender["token"]),
            "pending": ("GET", "/lender/pending?limit=20", lender["token"]),
            "schedule": ("GET", f"/loans/{loan_id}/schedule", borrower["token"]),
            "payoff": ("GET", f"/loans/{loan_id}/payoff", borrower["token"]),
            "repayments": ("GET", f"/loans/{loan_id}/repayments?limit=20", borrower["token"]),
            "statement": ("GET", f"/loans/{loan_id}/statement?format=json", borrower["token"]),
        }
        app_client = app.state.resources.db.client
        from scripts.bench_floor import FLOOR_OPERATIONS, Floor

        people = [{"email": u["email"], "userId": u["userId"], "token": u["token"]} for u in users]
        floor = Floor(admin, bench.TABLE, people, [(0, loan_id)], bench.PASSWORD, 0.0, [(0, loan_id)], [(0, loan_id)])

        results: dict[str, tuple[list[float], list[float]]] = {}
        for name, (method, path, token) in endpoints.items():
            recorder.answers.clear()
            recorder.replaying = False
            recorder.attach(app_client)
            call(method, path, token)  # one real call: record its answers
            app_answers = dict(recorder.answers)
            recorder.replaying = True
            app_millis = timed(lambda m=method, p=path, t=token: call(m, p, t), args.requests)
            app_client.meta.events.unregister("after-call.dynamodb", recorder.after_call)
            app_client.meta.events.unregister("before-send.dynamodb", recorder.before_send)
            recorder.answers, recorder.replaying = app_answers, True
            recorder.attach(admin)
            bare = getattr(floor, FLOOR_OPERATIONS[name])(random.Random(1))
            floor_millis = timed(bare, args.requests)
            admin.meta.events.unregister("after-call.dynamodb", recorder.after_call)
            admin.meta.events.unregister("before-send.dynamodb", recorder.before_send)
            results[name] = (app_millis, floor_millis)

        print(f"\n{args.requests} requests per endpoint, one at a time, DynamoDB answered by a stub (ms; load {os.getloadavg()[0]:.2f}):\n")
        rows = []
        for name, (app_millis, floor_millis) in results.items():
            app_p50, floor_p50 = statistics.median(app_millis), statistics.median(floor_millis)
            rows.append(
                [name, f"{app_p50:.3f}", f"{bench.percentile(app_millis, 0.95):.3f}", f"{floor_p50:.3f}", f"{app_p50 - floor_p50:.3f}"]
            )
        bench.table(["endpoint", "handler p50", "handler p95", "bare botocore calls p50", "the app's share p50"], rows)

        if args.profile:
            recorder.attach(app_client)
            profiler = cProfile.Profile()
            for name in PROFILED:
                method, path, token = endpoints[name]
                recorder.answers.clear()
                recorder.replaying = False
                call(method, path, token)
                recorder.replaying = True
                profiler.enable()
                timed(lambda m=method, p=path, t=token: call(m, p, t), args.requests)
                profiler.disable()
            profiler.dump_stats(args.profile.with_suffix(".prof"))  # for pstats / snakeviz
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(45)
            stats.sort_stats("cumulative").print_stats(90)
            args.profile.write_text(text.getvalue())
            print(f"\nprofile: {args.profile}")
    finally:
        ddb.terminate()
        ddb.wait(timeout=10)


if __name__ == "__main__":
    main()
