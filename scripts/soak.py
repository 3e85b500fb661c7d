#!/usr/bin/env python3
"""Soak: a mixed funding + servicing workload for minutes, then the books checked through the API and the table.

    .venv/bin/python scripts/soak.py                 # 10 minutes
    .venv/bin/python scripts/soak.py --minutes 2 --concurrency 8

Starts its own in-memory DynamoDB Local and the app under uvicorn on 127.0.0.1 (scripts/bench.py's
start_app / stop), seeds users and loans through the API (bench.seed: half of the loans funded, so
active), then for --minutes runs bench_workload's mix (login, create, get, lists, accept, dashboard,
profile; re-accepting on purpose: a provoked 409) beside servicing threads that record repayments on
the active loans (installments, then the payoff) until they are repaid, and a thread that provokes
refusals on purpose (repaying a repaid loan: 409/422). Then checks, for every loan: fundedAmount
equals the sum of the accepted invitations (through the API and in the raw table); for every repaid
loan: each lender's principalRepaid equals their contribution. Prints errors (must be 0), provoked
refusals, requests per second and the uvicorn process's RSS at start and end. Exits 1 on an error
or a broken book. Stops everything it started. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import dynamodb_local
from scripts.bench import TABLE, seed, start_app, stop
from scripts.bench_workload import JSON_HEADERS, Workload, json_text


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def exact(response: httpx.Response) -> Any:
    import json

    return json.loads(response.text, parse_float=Decimal)


class Servicing:
    """Repays active loans (installments, then the payoff) and provokes refusals on purpose; counts its own requests."""

    def __init__(self, base_url: str, loans: list[tuple[str, str]], deadline: float) -> None:
        self.base_url, self.deadline = base_url, deadline
        self.queue = list(loans)  # (loan id, borrower token)
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []
        self.repaid: list[str] = []

    def _call(self, http: httpx.Client, method: str, url: str, token: str, body: Any = None, provoked: bool = False) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **(JSON_HEADERS if body is not None else {})}
        response = http.request(method, url, headers=headers, content=None if body is None else json_text(body))
        with self.lock:
            if response.status_code < 400:
                self.counts["ok"] += 1
            elif provoked and response.status_code in (409, 422):
                self.counts["provoked"] += 1
            else:
                self.counts["error"] += 1
                if len(self.failures) < 20:
                    self.failures.append(f"{method} {url} -> {response.status_code} {response.text[:200]}")
        return response

    def worker(self, seed_value: int) -> None:
        rng = random.Random(seed_value)
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            while time.monotonic() < self.deadline:
                with self.lock:
                    job = self.queue.pop() if self.queue else None
                if job is None:
                    return
                loan_id, token = job
                while time.monotonic() < self.deadline:
                    payoff = exact(self._call(http, "GET", f"/loans/{loan_id}/payoff", token))["amount"]
                    schedule = exact(self._call(http, "GET", f"/loans/{loan_id}/schedule", token))
                    if rng.random() < 0.3 or Decimal(payoff) <= Decimal(schedule["installmentAmount"]):  # paid off: repaid
                        self._call(http, "POST", f"/loans/{loan_id}/repayments", token, {"amount": payoff})
                        self._call(http, "POST", f"/loans/{loan_id}/repayments", token, {"amount": Decimal("1.00")}, provoked=True)
                        with self.lock:
                            self.repaid.append(loan_id)
                        break
                    self._call(http, "POST", f"/loans/{loan_id}/repayments", token, {"amount": schedule["installmentAmount"]})
                    self._call(http, "GET", f"/loans/{loan_id}/repayments", token)


def check_books(base_url: str, client: Any, loans: dict[str, str | None], repaid: list[str]) -> list[str]:
    """Broken books, described: fundedAmount vs accepted contributions (API and table), repaid loans' principal back."""
    broken: list[str] = []
    with httpx.Client(base_url=base_url, timeout=30) as http:
        for loan_id, token in loans.items():
            accepted: list[dict[str, Any]] = []
            if token is not None:  # through the API, as its borrower
                view = exact(http.get(f"/loans/{loan_id}", headers={"Authorization": f"Bearer {token}"}))
                accepted = [entry for entry in view["lenders"] if entry["status"] == "accepted"]
                if Decimal(view["fundedAmount"]) != sum((Decimal(entry["amount"]) for entry in accepted), Decimal(0)):
                    broken.append(f"{loan_id}: API fundedAmount {view['fundedAmount']} != accepted contributions")
            raw = client.query(
                TableName=TABLE,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": f"LOAN#{loan_id}"}},
                ConsistentRead=True,
            )["Items"]
            loan_item = next(item for item in raw if item["SK"]["S"].startswith("USER#"))
            invited = [item for item in raw if item["SK"]["S"].startswith("INVITE#") and item["status"]["S"] == "accepted"]
            if Decimal(loan_item["fundedAmount"]["N"]) != sum((Decimal(item["amount"]["N"]) for item in invited), Decimal(0)):
                broken.append(f"{loan_id}: table fundedAmount {loan_item['fundedAmount']['N']} != accepted invitations")
            if token is not None and loan_id in repaid:
                if view["status"] != "repaid":
                    broken.append(f"{loan_id}: paid off but {view['status']}")
                for entry in accepted:
                    if Decimal(entry["principalRepaid"]) != Decimal(entry["amount"]):
                        broken.append(f"{loan_id}: lender {entry['lenderId']} got {entry['principalRepaid']} of {entry['amount']}")
    return broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="how long the workload runs (default 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="workload threads (default 8; servicing adds 2)")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--loans", type=int, default=400)
    args = parser.parse_args()
    seconds = args.minutes * 60

    ddb_port, app_port = dynamodb_local.free_port(), dynamodb_local.free_port()
    ddb = dynamodb_local.start(ddb_port)
    app = None
    log = Path(tempfile.mkdtemp(prefix="soak-")) / "app.log"
    clean = False
    try:
        dynamodb_local.wait_until_ready(ddb_port)
        from app.db.client import make_client
        from app.db.schema_admin import ensure_table

        client = make_client(region="us-east-1", endpoint_url=f"http://127.0.0.1:{ddb_port}")
        ensure_table(client, TABLE)
        app = start_app(app_port, f"http://127.0.0.1:{ddb_port}", log)
        base_url = f"http://127.0.0.1:{app_port}"
        rss_start = rss_mib(app.pid)
        data, _ = seed(base_url, args.users, args.loans, args.concurrency, random.Random(7))
        borrower_of = {loan_id: data.users[index]["token"] for index, loan_id in data.visible_loans[: args.loans]}
        active = sorted({loan_id for _, loan_id in data.accepted_invitations})
        print(f"seeded {len(data.users)} users, {args.loans} loans ({len(active)} active); RSS {rss_start:.0f} MiB", flush=True)

        deadline = time.monotonic() + seconds
        servicing = Servicing(base_url, [(loan_id, borrower_of[loan_id]) for loan_id in active], deadline)
        workload = Workload(base_url, data, 12345)
        result: list[Any] = []
        threads = [threading.Thread(target=lambda: result.append(workload.run(args.concurrency, seconds)))]
        threads += [threading.Thread(target=servicing.worker, args=(n,)) for n in range(2)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        rss_end = rss_mib(app.pid)

        samples = result[0].samples
        errors = sum(1 for s in samples if (s.status >= 400 or s.status == 0) and not s.provoked) + servicing.counts["error"]
        provoked = sum(1 for s in samples if s.provoked) + servicing.counts["provoked"]
        requests = len(samples) + sum(servicing.counts.values())
        loans: dict[str, str | None] = {**borrower_of, **{loan_id: None for loan_id, _ in result[0].created_loans}}
        broken = check_books(base_url, client, loans, servicing.repaid)
        print(f"duration {elapsed:.0f} s, requests {requests} ({requests / elapsed:.0f}/s), errors {errors}, provoked refusals {provoked}")
        print(f"servicing: {sum(servicing.counts.values())} requests, {len(servicing.repaid)} loans repaid")
        print(f"uvicorn RSS: {rss_start:.0f} MiB at start, {rss_end:.0f} MiB at end")
        print(f"books: {len(loans)} loans checked, {len(servicing.repaid)} repaid; {'OK' if not broken else f'{len(broken)} BROKEN'}")
        for line in [*result[0].failures, *servicing.failures, *broken][:40]:
            print(f"  {line}")
        clean = errors == 0 and not broken
    finally:
        if app is not None:
            stop(app)
        ddb.terminate()
        ddb.wait(timeout=10)
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
