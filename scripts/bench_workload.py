"""The client side of scripts/bench.py: a mixed workload over real HTTP (httpx), in its own process.

Each of `concurrency` threads loops until the deadline, picking an operation by weight, and records
one Sample per request: operation, status, latency, the server's X-DB-Requests count, and whether
the error was provoked on purpose (re-accepting an accepted invitation: 409 ALREADY_RESPONDED).
Request bodies are built as JSON text with exact decimals (never a float, see `json_text`).
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

WEIGHTS = {
    "login": 5,
    "create loan": 10,
    "get loan": 20,
    "my-loans": 12,
    "pending": 13,
    "accept": 15,
    "dashboard": 15,
    "profile": 10,
    "schedule": 6,
    "payoff": 6,
    "repayments": 6,
    "repay": 6,
    "statement": 6,
}
WRITES = frozenset({"login", "create loan", "accept", "repay"})
READS = ("get loan", "my-loans", "pending", "dashboard", "profile", "schedule", "payoff", "repayments", "statement")
ACH = {"accountHolderName": "Bench Lender", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking"}
REACCEPT_SHARE = 0.1  # this share of accepts re-accepts an accepted invitation on purpose: a provoked 409
PROVOKED = {"accept": {(409, "ALREADY_RESPONDED")}}  # the only errors the workload asks for


def json_text(value: Any) -> str:
    """JSON with Decimal written exactly as its digits (json.dumps would need a float)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(key))}:{json_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(item) for item in value) + "]"
    return json.dumps(value)


def cents(amount: int) -> Decimal:
    """An exact dollar amount from a whole number of cents: 12345 -> Decimal('123.45')."""
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def loan_body(rng: random.Random, lender_emails: list[str], purpose: str) -> str:
    """A valid POST /loans body: contributions in whole cents summing exactly to the amount."""
    shares = [cents(rng.randint(100, 500_000)) for _ in lender_emails]
    body = {
        "amount": sum(shares, Decimal("0")),
        "purpose": purpose,
        "termMonths": rng.choice([6, 12, 24, 36, 60]),
        "interestRate": cents(rng.randint(0, 2500)),  # 0.00 .. 25.00 percent, 2 decimals
        "lenders": [{"email": email, "amount": share} for email, share in zip(lender_emails, shares, strict=True)],
    }
    return json_text(body)


JSON_HEADERS = {"Content-Type": "application/json"}
SERVICING_PATHS = {
    "schedule": "/schedule",
    "payoff": "/payoff",
    "repayments": "/repayments?limit=20",
    "statement": "/statement?format=json",
}


@dataclass
class Sample:
    operation: str
    status: int  # 0: no HTTP answer (connection error, timeout)
    millis: float
    db_requests: int  # X-DB-Requests, -1 when absent
    provoked: bool
    code: str = ""  # the error envelope's code, for errors


@dataclass
class SeedData:
    """What the seeding produced: users (email, userId, token), loans by viewer, invitations by state."""

    users: list[dict[str, str]]
    visible_loans: list[tuple[int, str]]  # (user index, loan id) the user may see
    open_invitations: list[tuple[int, str]]  # (lender index, loan id) still "invited" on a pending loan
    accepted_invitations: list[tuple[int, str]]  # (lender index, loan id) already accepted during the seeding
    password: str
    serviced_loans: list[tuple[int, str]] = field(default_factory=list)  # (borrower or accepted lender, loan id) of active loans
    borrowed_active: list[tuple[int, str]] = field(default_factory=list)  # (borrower index, loan id) of active loans


@dataclass
class WorkloadResult:
    samples: list[Sample]
    failures: list[str]  # the first unexpected errors, described
    open_invitations_left: int
    accepts: int  # successful first acceptances
    final_accepts: int  # ... of which completed the funding (the loan became active)
    created_loans: list[tuple[str, int]]  # (loan id, lenders) of loans the workload created, for the item count check


class Workload:
    def __init__(self, base_url: str, seed: SeedData, seed_value: int) -> None:
        self.base_url = base_url
        self.seed = seed
        self.random = random.Random(seed_value)
        self.lock = threading.Lock()
        self.open = list(seed.open_invitations)
        self.random.shuffle(self.open)
        self.accepted: list[tuple[int, str]] = list(seed.accepted_invitations)
        self.samples: list[Sample] = []
        self.failures: list[str] = []
        self.accepts = self.final_accepts = 0
        self.created_loans: list[tuple[str, int]] = []
        self.names = list(WEIGHTS)
        self.weights = list(WEIGHTS.values())

    def _headers(self, index: int, *, body: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.seed.users[index]['token']}"}
        return {**headers, **JSON_HEADERS} if body else headers

    def _call(self, http: httpx.Client, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        started = time.perf_counter()
        response: httpx.Response | None = None
        try:
            response = http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            status, code, text = 0, type(exc).__name__, str(exc)
        millis = (time.perf_counter() - started) * 1000
        db_requests = -1
        if response is not None:
            status, code, text = response.status_code, "", ""
            db_requests = int(response.headers.get("x-db-requests", "-1"))
            if status >= 400:
                try:
                    error = response.json()["error"]
                    code, text = str(error.get("code", "")), f"{error.get('message', '')} (request id {error.get('requestId', '?')})"
                except (ValueError, KeyError, TypeError):
                    code, text = "?", response.text[:200]
        provoked = (status, code) in PROVOKED.get(operation, set())
        with self.lock:
            self.samples.append(Sample(operation, status, millis, db_requests, provoked, code))
            if (status >= 400 or status == 0) and not provoked and len(self.failures) < 20:
                self.failures.append(f"{operation}: {method} {path} -> {status} {code}: {text}")
        return response

    def _one(self, http: httpx.Client, rng: random.Random) -> None:
        operation = rng.choices(self.names, weights=self.weights)[0]
        users = self.seed.users
        me = rng.randrange(len(users))
        if operation == "login":
            body = json_text({"email": users[me]["email"], "password": self.seed.password})
            self._call(http, operation, "POST", "/auth/login", content=body, headers=JSON_HEADERS)
        elif operation == "create loan":
            others = [i for i in rng.sample(range(len(users)), 6) if i != me][: rng.randint(1, 5)]
            body = loan_body(rng, [users[i]["email"] for i in others], "bench: working capital")
            response = self._call(http, operation, "POST", "/loans", content=body, headers=self._headers(me, body=True))
            if response is not None and response.status_code == 201 and len(self.created_loans) < 200:
                with self.lock:
                    self.created_loans.append((response.json()["loanId"], len(others)))
        elif operation == "get loan":
            viewer, loan_id = rng.choice(self.seed.visible_loans)
            self._call(http, operation, "GET", f"/loans/{loan_id}", headers=self._headers(viewer))
        elif operation == "my-loans":
            self._call(http, operation, "GET", "/loans/my-loans?limit=20", headers=self._headers(me))
        elif operation == "pending":
            self._call(http, operation, "GET", "/lender/pending?limit=20", headers=self._headers(me))
        elif operation == "accept":
            self._accept(http, rng)
        elif operation == "dashboard":
            self._call(http, operation, "GET", "/user/dashboard", headers=self._headers(me))
        elif operation == "profile":
            self._call(http, operation, "GET", "/user/profile", headers=self._headers(me))
        elif operation == "repay":
            borrower, loan_id = rng.choice(self.seed.borrowed_active)
            body = json_text({"amount": cents(rng.randint(100, 2000))})  # 1.00 .. 20.00: never the payoff of a seeded loan
            self._call(http, operation, "POST", f"/loans/{loan_id}/repayments", content=body, headers=self._headers(borrower, body=True))
        else:
            viewer, loan_id = rng.choice(self.seed.serviced_loans)
            self._call(http, operation, "GET", f"/loans/{loan_id}{SERVICING_PATHS[operation]}", headers=self._headers(viewer))

    def _accept(self, http: httpx.Client, rng: random.Random) -> None:
        with self.lock:
            reaccept = bool(self.accepted) and (rng.random() < REACCEPT_SHARE or not self.open)
            pair = rng.choice(self.accepted) if reaccept else self.open.pop() if self.open else None
        if pair is None:
            return
        lender, loan_id = pair
        body = json_text({"achDetails": ACH})
        response = self._call(http, "accept", "PUT", f"/lender/accept/{loan_id}", content=body, headers=self._headers(lender, body=True))
        if not reaccept and response is not None and response.status_code == 200:
            final = response.json().get("loanStatus") == "active"
            with self.lock:
                self.accepted.append(pair)
                self.accepts += 1
                self.final_accepts += final

    def run(self, concurrency: int, seconds: float) -> WorkloadResult:
        deadline = time.monotonic() + seconds
        seeds = [self.random.random() for _ in range(concurrency)]

        def worker(number: int) -> None:
            rng = random.Random(seeds[number])
            with httpx.Client(base_url=self.base_url, timeout=30) as http:
                while time.monotonic() < deadline:
                    self._one(http, rng)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return WorkloadResult(self.samples, self.failures, len(self.open), self.accepts, self.final_accepts, self.created_loans)


def run_workload(base_url: str, seed: SeedData, concurrency: int, seconds: float, queue: Any) -> None:
    """Entry point of the workload process: runs, then puts its WorkloadResult on `queue`."""
    queue.put(Workload(base_url, seed, 12345).run(concurrency, seconds))
