#!/usr/bin/env python3
"""Benchmark: N concurrent repayments on ONE loan, how many are applied (201), refused (409/503), and how long they take.

    .venv/bin/python scripts/bench_contention.py                  # 10, 20 and 50 at once, 3 rounds each
    .venv/bin/python scripts/bench_contention.py --sizes 10 20 50 100 --rounds 5

What it does: starts its own in-memory DynamoDB Local and the app under uvicorn (1 worker, as
scripts/bench.py does), seeds a few users and active loans through the API, then for each size N
releases N repayments of 1.00 on one loan at the same moment (N threads behind a barrier, one HTTP
client each) and counts the answers. Every repayment fits inside the payoff, so each must be applied
(docs/api.md: contention on one loan is served one write after the other). Prints per N: the statuses,
p50/p99/max latency, and beside them their floor in the same run: one repayment alone on an
uncontended loan (p50 of 20, one at a time), times the N/2 (p50) or N (max) writes that must go
before the last one when they are applied one after the other. Exits 1 unless every repayment was 201.
Not part of the test suite; figures in docs/performance.md ("Contention on one loan").
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import dynamodb_local
from scripts.bench import JSON_HEADERS, TABLE, machine, percentile, seed, start_app, stop

REPAYMENT = json.dumps({"amount": 1.00})


def repay(base_url: str, token: str, loan_id: str) -> tuple[int, float]:
    with httpx.Client(base_url=base_url, timeout=60) as http:
        started = time.perf_counter()
        response = http.post(
            f"/loans/{loan_id}/repayments", content=REPAYMENT, headers={**JSON_HEADERS, "Authorization": f"Bearer {token}"}
        )
        return response.status_code, (time.perf_counter() - started) * 1000


def burst(base_url: str, token: str, loan_id: str, size: int) -> list[tuple[int, float]]:
    """`size` repayments on one loan, released together."""
    barrier = threading.Barrier(size)

    def one(_: int) -> tuple[int, float]:
        barrier.wait()
        return repay(base_url, token, loan_id)

    with ThreadPoolExecutor(max_workers=size) as pool:
        return list(pool.map(one, range(size)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 50], help="concurrent repayments per burst (default 10 20 50)")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per size, each on its own loan (default 3)")
    args = parser.parse_args()
    print("machine:")
    for line in machine():
        print(f"  {line}")
    ddb_port, app_port = dynamodb_local.free_port(), dynamodb_local.free_port()
    ddb = dynamodb_local.start(ddb_port)
    app = None
    log = Path(tempfile.mkdtemp(prefix="bench-contention-")) / "app.log"
    clean = True
    try:
        ddb_url = f"http://127.0.0.1:{ddb_port}"
        from app.db.client import make_client
        from app.db.schema_admin import ensure_table

        client = make_client(region="us-east-1", endpoint_url=ddb_url)
        ensure_table(client, TABLE)
        app = start_app(app_port, ddb_url, log)
        base_url = f"http://127.0.0.1:{app_port}"
        loans_needed = 2 * (len(args.sizes) * args.rounds + 1) + 4  # half of the seeded loans are funded
        data, _ = seed(base_url, client, 24, loans_needed, 4, random.Random(11))
        loans = [(data.users[borrower]["token"], loan_id) for borrower, loan_id in data.borrowed_active]
        if len(loans) < len(args.sizes) * args.rounds + 1:
            raise SystemExit(f"seeding gave {len(loans)} active loans; need {len(args.sizes) * args.rounds + 1}")
        token, loan_id = loans.pop()
        alone = [repay(base_url, token, loan_id) for _ in range(20)]
        if any(status != 201 for status, _ in alone):
            raise SystemExit(f"a repayment alone failed: {Counter(status for status, _ in alone)}")
        single = statistics.median(millis for _, millis in alone)
        print(f"\nfloor: one repayment alone, one at a time: p50 {single:.1f} ms (20 repayments)\n")
        header = f"{'N':>4} {'bursts':>6} {'201':>5} {'409':>5} {'503':>5} {'other':>5} | {'p50':>8} {'floor':>8} | "
        header += f"{'p99':>8} {'max':>8} {'floor':>8}"
        print(header)
        print("-" * len(header))
        for size in args.sizes:
            answers: list[tuple[int, float]] = []
            for _ in range(args.rounds):
                token, loan_id = loans.pop()
                answers += burst(base_url, token, loan_id, size)
            statuses = Counter(status for status, _ in answers)
            millis = [value for _, value in answers]
            other = sum(count for status, count in statuses.items() if status not in (201, 409, 503))
            clean = clean and statuses[201] == len(answers)
            print(
                f"{size:>4} {args.rounds:>6} {statuses[201]:>5} {statuses[409]:>5} {statuses[503]:>5} {other:>5} | "
                f"{percentile(millis, 0.50):>6.0f}ms {single * size / 2:>6.0f}ms | "
                f"{percentile(millis, 0.99):>6.0f}ms {max(millis):>6.0f}ms {single * size:>6.0f}ms"
            )
        print("\nfloor: p50 = N/2 x one repayment alone, max = N x one alone (the writes before it, one after the other)")
    finally:
        if app is not None:
            stop(app)
        ddb.terminate()
        ddb.wait(timeout=10)
    if not clean:
        print(f"\nnot every repayment was applied; the app's log: {log}")
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
