"""The client side of scripts/bench.py: a mixed workload over real HTTP, in its own process.

Each of `concurrency` threads loops until the deadline, picking an operation by weight. Every call
records (operation, status, latency, X-DB-Requests, expected-error?) into a list sent back to the parent.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
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
}
ACH = {"accountHolderName": "Bench Lender", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking"}
REACCEPT_SHARE = 0.1  # this share of accepts re-accepts a loan on purpose: a provoked 409


@dataclass
class Sample:
    operation: str
    status: int
    millis: float
    db_requests: int
    expected_error: bool


@dataclass
class SeedData:
    """What the seeding produced: users (email, password, token, id), loan ids by viewer, open invitations."""

    users: list[dict[str, str]]
    visible_loans: list[tuple[int, str]]  # (user index, loan id) the user may see
    open_invitations: list[tuple[int, str]]  # (lender index, loan id) still "invited" on a pending loan
    password: str
    samples: list[Sample] = field(default_factory=list)


class Workload:
    def __init__(self, base_url: str, seed: SeedData, seed_value: int) -> None:
        self.base_url = base_url
        self.seed = seed
        self.random = random.Random(seed_value)
        self.lock = threading.Lock()
        self.open = list(seed.open_invitations)
        self.random.shuffle(self.open)
        self.accepted: list[tuple[int, str]] = []
        self.samples: list[Sample] = []

    def _pick(self, rng: random.Random) -> str:
        return rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]

    def _headers(self, index: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.seed.users[index]['token']}"}

    def _call(self, http: httpx.Client, operation: str, method: str, path: str, expected: set[int], **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        response = http.request(method, path, **kwargs)
        millis = (time.perf_counter() - started) * 1000
        provoked = response.status_code in expected and response.status_code >= 400
        sample = Sample(operation, response.status_code, millis, int(response.headers.get("x-db-requests", "-1")), provoked)
        with self.lock:
            self.samples.append(sample)
        return response

    def _one(self, http: httpx.Client, rng: random.Random) -> None:
        operation = self._pick(rng)
        users = self.seed.users
        me = rng.randrange(len(users))
        if operation == "login":
            body = {"email": users[me]["email"], "password": self.seed.password}
            self._call(http, operation, "POST", "/auth/login", set(), json=body)
        elif operation == "create loan":
            others = [i for i in rng.sample(range(len(users)), 6) if i != me][: rng.randint(1, 5)]
            shares = [rng.randint(1, 500) * 10 for _ in others]
            body = {
                "amount": sum(shares), "purpose": "bench", "termMonths": 12, "interestRate": 7,
                "lenders": [{"email": users[i]["email"], "amount": share} for i, share in zip(others, shares, strict=True)],
            }
            self._call(http, operation, "POST", "/loans", set(), json=body, headers=self._headers(me))
        elif operation == "get loan":
            viewer, loan_id = rng.choice(self.seed.visible_loans)
            self._call(http, operation, "GET", f"/loans/{loan_id}", set(), headers=self._headers(viewer))
        elif operation == "my-loans":
            self._call(http, operation, "GET", "/loans/my-loans?limit=20", set(), headers=self._headers(me))
        elif operation == "pending":
            self._call(http, operation, "GET", "/lender/pending?limit=20", set(), headers=self._headers(me))
        elif operation == "accept":
            self._accept(http, rng)
        elif operation == "dashboard":
            self._call(http, operation, "GET", "/user/dashboard", set(), headers=self._headers(me))
        else:
            self._call(http, operation, "GET", "/user/profile", set(), headers=self._headers(me))

    def _accept(self, http: httpx.Client, rng: random.Random) -> None:
        with self.lock:
            reaccept = bool(self.accepted) and (rng.random() < REACCEPT_SHARE or not self.open)
            pair = rng.choice(self.accepted) if reaccept else self.open.pop() if self.open else None
        if pair is None:
            return
        lender, loan_id = pair
        expected = {409} if reaccept else set()
        response = self._call(http, "accept", "PUT", f"/lender/accept/{loan_id}", expected, json={"achDetails": ACH}, headers=self._headers(lender))
        if response.status_code == 200:
            with self.lock:
                self.accepted.append(pair)

    def run(self, concurrency: int, seconds: float) -> list[Sample]:
        deadline = time.monotonic() + seconds

        def worker(number: int) -> None:
            rng = random.Random(self.random.random() + number)
            with httpx.Client(base_url=self.base_url, timeout=30) as http:
                while time.monotonic() < deadline:
                    self._one(http, rng)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.samples


def run_workload(base_url: str, seed: SeedData, concurrency: int, seconds: float, queue: Any) -> None:
    """Entry point of the workload process: runs, then puts its samples on `queue`."""
    queue.put(Workload(base_url, seed, 12345).run(concurrency, seconds))
