#!/usr/bin/env python3
"""Benchmark: latency, throughput and DynamoDB requests per endpoint, against their physical floor.

    python scripts/bench.py [--seconds 60] [--concurrency 8] [--users 500] [--loans 1000]

Starts its own in-memory DynamoDB Local and the app under uvicorn (1 worker, DEBUG_DB_METRICS on),
seeds users and loans through the API (half the loans fully funded), drives a mixed workload from a
separate process with a real HTTP client, then measures the floor: the same DynamoDB calls issued
bare with boto3 at the same concurrency. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import dynamodb_local  # noqa: E402
from scripts.bench_floor import Floor, measure  # noqa: E402
from scripts.bench_workload import ACH, WEIGHTS, Sample, SeedData, run_workload  # noqa: E402

PASSWORD = "bench-password-0123456789"
TABLE = "bench"


def start_app(port: int, ddb_url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ENVIRONMENT": "dev",
        "TABLE_NAME": TABLE,
        "DYNAMODB_ENDPOINT_URL": ddb_url,
        "JWT_SECRET": secrets.token_urlsafe(48),
        "ACH_LOCAL_KEY": base64.b64encode(os.urandom(32)).decode(),
        "DEBUG_DB_METRICS": "true",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log", "--no-server-header"],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the app did not become healthy")


def seed(base_url: str, users: int, loans: int, rng: random.Random) -> SeedData:
    """Users, then loans with 1-10 invitations each; every other loan fully funded by its lenders."""
    http = httpx.Client(base_url=base_url, timeout=60)
    pool = ThreadPoolExecutor(max_workers=8)

    def register(n: int) -> dict[str, str]:
        body = {"email": f"bench-{n}@example.com", "password": PASSWORD, "firstName": "Bench", "lastName": f"User{n}"}
        response = http.post("/auth/register", json=body)
        response.raise_for_status()
        data = response.json()
        return {"email": body["email"], "userId": data["user"]["userId"], "token": data["accessToken"]}

    people = list(pool.map(register, range(users)))
    plans = []
    for _ in range(loans):
        borrower = rng.randrange(users)
        lenders = [n for n in rng.sample(range(users), 11) if n != borrower][: rng.randint(1, 10)]
        shares = [rng.randint(1, 1000) * 5 for _ in lenders]
        plans.append((borrower, lenders, shares))

    def create(plan: tuple[int, list[int], list[int]]) -> tuple[str, int, list[int]]:
        borrower, lenders, shares = plan
        body = {
            "amount": sum(shares), "purpose": "seeded loan", "termMonths": 24, "interestRate": 6.5,
            "lenders": [{"email": people[n]["email"], "amount": share} for n, share in zip(lenders, shares, strict=True)],
        }
        response = http.post("/loans", json=body, headers={"Authorization": f"Bearer {people[borrower]['token']}"})
        response.raise_for_status()
        return response.json()["loanId"], borrower, lenders

    created = list(pool.map(create, plans))
    funded, open_ = created[::2], created[1::2]

    def accept(pair: tuple[int, str]) -> None:
        lender, loan_id = pair
        response = http.put(f"/lender/accept/{loan_id}", json={"achDetails": ACH}, headers={"Authorization": f"Bearer {people[lender]['token']}"})
        response.raise_for_status()

    list(pool.map(accept, [(lender, loan_id) for loan_id, _, lenders in funded for lender in lenders]))
    visible = [(borrower, loan_id) for loan_id, borrower, _ in created] + [(lenders[0], loan_id) for loan_id, _, lenders in created]
    invitations = [(lender, loan_id) for loan_id, _, lenders in open_ for lender in lenders]
    return SeedData(users=people, visible_loans=visible, open_invitations=invitations, password=PASSWORD)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(samples: list[Sample], seconds: float, floors: dict[str, float]) -> None:
    by_operation: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_operation[sample.operation].append(sample)
    header = f"| {'endpoint':12} | {'requests':>8} | {'errors':>6} | {'provoked':>8} | {'req/s':>6} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} | {'DDB/call':>8} | {'floor p50':>9} | {'p50/floor':>9} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for operation in WEIGHTS:
        group = by_operation.get(operation, [])
        if not group:
            continue
        ok = [s for s in group if s.status < 400]
        errors = sum(1 for s in group if s.status >= 400 and not s.expected_error)
        provoked = sum(1 for s in group if s.expected_error)
        millis = [s.millis for s in ok] or [0.0]
        db = sorted({s.db_requests for s in ok})
        db_text = str(db[0]) if len(db) == 1 else f"{db[0]}-{db[-1]}" if db else "-"
        p50 = statistics.median(millis)
        floor = floors.get(operation, float("nan"))
        print(
            f"| {operation:12} | {len(group):8} | {errors:6} | {provoked:8} | {len(group) / seconds:6.1f} | {p50:7.1f} | "
            f"{percentile(millis, 0.95):7.1f} | {percentile(millis, 0.99):7.1f} | {db_text:>8} | {floor:9.1f} | {p50 / floor:9.2f} |"
        )
    total = len(samples)
    print(f"\n{total} requests in {seconds:.0f} s = {total / seconds:.1f} req/s overall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--loans", type=int, default=1000)
    parser.add_argument("--floor-seconds", type=float, default=5)
    args = parser.parse_args()

    ddb_port, app_port = dynamodb_local.free_port(), dynamodb_local.free_port()
    ddb = dynamodb_local.start(ddb_port)
    app = None
    try:
        ddb_url = f"http://127.0.0.1:{ddb_port}"
        from app.db.dynamo import make_client  # noqa: PLC0415
        from app.db.schema_admin import ensure_table  # noqa: PLC0415

        client = make_client(region="us-east-1", endpoint_url=ddb_url)
        ensure_table(client, TABLE)
        app = start_app(app_port, ddb_url)
        base_url = f"http://127.0.0.1:{app_port}"
        started = time.perf_counter()
        data = seed(base_url, args.users, args.loans, random.Random(7))
        print(f"seeded {len(data.users)} users and {args.loans} loans in {time.perf_counter() - started:.0f} s", flush=True)

        queue: multiprocessing.Queue[list[Sample]] = multiprocessing.get_context("spawn").Queue()
        worker = multiprocessing.get_context("spawn").Process(target=run_workload, args=(base_url, data, args.concurrency, args.seconds, queue))
        worker.start()
        samples = queue.get(timeout=args.seconds + 300)
        worker.join()
        app.terminate()
        app.wait(timeout=10)
        app = None

        from app.auth.passwords import hash_password, verify_password  # noqa: PLC0415

        stored = hash_password(PASSWORD)
        floor = Floor(client, TABLE, data.users, [loan for _, loan in data.visible_loans], lambda: verify_password(PASSWORD, stored))
        floors = {operation: measure(floor, operation, args.concurrency, args.floor_seconds) for operation in WEIGHTS}
        print(f"\nworkload: {args.seconds:.0f} s at concurrency {args.concurrency}, uvicorn 1 worker, DynamoDB Local in memory\n")
        report(samples, args.seconds, floors)
    finally:
        if app is not None:
            app.terminate()
        ddb.terminate()
        ddb.wait(timeout=10)


if __name__ == "__main__":
    main()
