#!/usr/bin/env python3
"""Benchmark: latency, throughput and DynamoDB requests per endpoint, against their physical floor.

    .venv/bin/python scripts/bench.py                    # the full run: 500 users, 1,000 loans, 60 s at concurrency 8
    .venv/bin/python scripts/bench.py --quick            # a smoke run: 50 users, 100 loans, 10 s, 2 s per floor
    .venv/bin/python scripts/bench.py --seconds 120 --concurrency 16

Options (each overrides --quick's value):
  --seconds N          how long the mixed workload runs (default 60; --quick 10; at most 1200)
  --concurrency N      client threads of the workload, and threads of each floor measurement (default 8)
  --users N            users registered through the API (default 500; --quick 50)
  --loans N            loans created through the API, 1-10 invitations each, every other one
                       fully funded by its lenders (default 1000; --quick 100)
  --floor-seconds N    how long each endpoint's floor is measured (default 5; --quick 2)
  --png PATH           the picture of each endpoint's p50/p95 beside its floor's (default docs/bench.png;
                       --quick: a temporary file)

What it does: starts its own in-memory DynamoDB Local and the app under uvicorn (1 worker,
DEBUG_DB_METRICS=true, so every response carries X-DB-Requests: the DynamoDB calls the request
made, counted in the server by a botocore event hook), seeds the data through the API (each user
verifies their email and logs in again, so the token carries the "ev" claim), drives a mixed workload
(login, create loan, get loan, my-loans, pending, accept, dashboard, profile, and on active loans
schedule, payoff, repayments, repay, statement) from a separate process with httpx, stops the app,
then measures each endpoint's floor: the same DynamoDB
calls issued bare with boto3 against the same DynamoDB Local at the same concurrency (login: plus
one argon2id verify); see scripts/bench_floor.py. Prints per endpoint: requests, unexpected errors,
provoked errors (re-accepting an accepted invitation: 409 ALREADY_RESPONDED, asked for on purpose),
throughput, p50/p95/p99 latency of the successful requests, DynamoDB requests per call, the floor's
p50 and calls, and endpoint-p50 / floor-p50; then the DynamoDB requests per call against the
targets in docs/performance.md; and draws each endpoint's p50/p95 beside its floor's into a PNG
(docs/bench.png). Exits 1 when a request failed unexpectedly. Not part of the test suite.
scripts/bench_lambda.py measures each endpoint alone at concurrency 1 (the Lambda-like figures).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import multiprocessing
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import dynamodb_local  # noqa: E402
from scripts.bench_floor import Floor, FloorResult, measure, measure_mix  # noqa: E402
from scripts.bench_workload import (  # noqa: E402
    ACH,
    JSON_HEADERS,
    READS,
    WEIGHTS,
    WRITES,
    Sample,
    SeedData,
    WorkloadResult,
    json_text,
    loan_body,
    run_workload,
)

PASSWORD = "bench-password-0123456789"  # noqa: S105 - a throwaway benchmark account
TABLE = "bench"
QUICK = {"seconds": 10.0, "users": 50, "loans": 100, "floor_seconds": 2.0}
FULL = {"seconds": 60.0, "users": 500, "loans": 1000, "floor_seconds": 5.0}
PICTURE = ROOT / "docs" / "bench.png"
MAX_SECONDS = 1200  # access tokens live 30 minutes (the maximum the app allows); seeding needs a few
# The DynamoDB requests per call (the most a successful call may make) and latency targets.
DB_TARGETS = {
    "get loan": 1,
    "my-loans": 1,
    "profile": 1,
    "pending": 2,
    "dashboard": 2,
    "register": 2,
    "accept": 3,
    "login": 4,
    "create loan": 1,
    "schedule": 2,
    "payoff": 2,
    "repayments": 2,
    "statement": 2,
    "repay": 3,
}
DB_TARGET_NOTES = {
    "create loan": "1 transaction (+ the idempotency record when a key is sent)",
    "repay": "+3 per retry when two repayments of one loan race",
}
READ_RATIO, WRITE_RATIO = 1.5, 2.0


# --- the machine ----------------------------------------------------------------------------------


def machine() -> list[str]:
    def first(path: str, prefix: str) -> str:
        try:
            return next(line.split(":", 1)[1].strip() for line in Path(path).read_text().splitlines() if line.startswith(prefix))
        except (OSError, StopIteration):
            return "?"

    memory = first("/proc/meminfo", "MemTotal")
    memory = f"{int(memory.split()[0]) / 1024 / 1024:.1f} GiB" if memory != "?" else memory
    folder = dynamodb_local.jar_dir()
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr.splitlines()
    return [
        f"cpus (nproc): {os.cpu_count()}, memory: {memory}, cpu: {first('/proc/cpuinfo', 'model name')}",
        f"python {platform.python_version()} ({sys.executable}), {platform.platform()}",
        f"DynamoDB Local: {folder.name.removeprefix('dynamodb_local_') if folder else '?'} ({dynamodb_local.PACKAGE}), "
        f"java: {java[0] if java else '?'}",
        f"load average at start: {' '.join(f'{value:.2f}' for value in os.getloadavg())}",
    ]


# --- processes ------------------------------------------------------------------------------------


JWT_SECRET = secrets.token_urlsafe(48)  # the app's, chosen here so the seeding can derive each user's verification link


def app_env(ddb_url: str) -> dict[str, str]:
    """The app's environment for every run of this benchmark (uvicorn here, the Mangum handler in bench_lambda.py)."""
    return {
        **os.environ,
        "ENVIRONMENT": "dev",
        "TABLE_NAME": TABLE,
        "DYNAMODB_ENDPOINT_URL": ddb_url,
        "JWT_SECRET": JWT_SECRET,
        "ACCESS_TOKEN_TTL_SECONDS": "1800",
        "ACH_LOCAL_KEY": base64.b64encode(os.urandom(32)).decode(),
        "DEBUG_DB_METRICS": "true",
        "EMAIL_VERIFICATION": "required",
        "LOG_LEVEL": "INFO",  # one JSON access line per request, as in production (to a file here)
    }


def uvicorn_command(target: str, port: int) -> list[str]:
    """`target` under uvicorn, 1 worker, on `port`, logging only warnings (the app writes its own access lines)."""
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return [*command, "--log-level", "warning", "--no-access-log", "--no-server-header"]


def start_app(port: int, ddb_url: str, log: Path, command: list[str] | None = None) -> subprocess.Popen[bytes]:
    """`command` (the API under uvicorn by default) with the app's environment, its output to `log`;
    returns once GET /health on `port` answers 200."""
    env = app_env(ddb_url)
    command = command or uvicorn_command("app.main:app", port)
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the app did not become healthy; its log: {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- seeding --------------------------------------------------------------------------------------


def _checked(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise SystemExit(f"seeding failed: {what} -> {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    return body


def verification_link_token(client: Any, user_id: str) -> str:
    """The token of the user's latest `verification_requested` event (what the emailed link carries), derived
    as the notifications code derives it: from the event's nonce and the app's JWT_SECRET."""
    from app.auth.service import verification_token

    response = client.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :event)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user_id}"}, ":event": {"S": "EVENT#"}},
        ConsistentRead=True,
    )
    events = [item for item in response["Items"] if item.get("type", {}).get("S") == "verification_requested"]
    if not events:
        raise SystemExit(f"seeding failed: no verification_requested event for user {user_id}")
    settings = SimpleNamespace(jwt_secret=JWT_SECRET)  # verification_token reads only the secret
    return verification_token(settings=settings, user_id=user_id, nonce=events[-1]["nonce"]["S"])  # type: ignore[arg-type]


def seed(base_url: str, client: Any, users: int, loans: int, concurrency: int, rng: random.Random) -> tuple[SeedData, list[Sample]]:
    """Users (each verifies their email, then logs in again so the token carries the "ev" claim), then loans
    with 1-10 invitations each; every other loan fully funded by its lenders (active).

    Returns the data the workload needs, and one Sample per registration (register's DynamoDB calls).
    """
    registrations: list[Sample] = []
    with httpx.Client(base_url=base_url, timeout=60) as http, ThreadPoolExecutor(max_workers=concurrency) as pool:

        def register(n: int) -> dict[str, str]:
            email = f"bench-{n}@example.com"
            body = json_text({"email": email, "password": PASSWORD, "firstName": "Bench", "lastName": f"User{n}"})
            started = time.perf_counter()
            response = http.post("/auth/register", content=body, headers=JSON_HEADERS)
            millis = (time.perf_counter() - started) * 1000
            data = _checked(response, f"register {email}")
            registrations.append(Sample("register", response.status_code, millis, int(response.headers.get("x-db-requests", "-1")), False))
            user_id = data["user"]["userId"]
            token = verification_link_token(client, user_id)
            headers = {**JSON_HEADERS, "Authorization": f"Bearer {data['accessToken']}"}
            _checked(http.post("/auth/verify-email", content=json_text({"token": token}), headers=headers), f"verify {email}")
            login = json_text({"email": email, "password": PASSWORD})  # a token issued after verification carries "ev"
            access = _checked(http.post("/auth/login", content=login, headers=JSON_HEADERS), f"login {email}")["accessToken"]
            return {"email": email, "userId": user_id, "token": access}

        people = list(pool.map(register, range(users)))

        plans = []
        for _ in range(loans):
            borrower = rng.randrange(users)
            lenders = [n for n in rng.sample(range(users), 11) if n != borrower][: rng.randint(1, 10)]
            plans.append((borrower, lenders, loan_body(rng, [people[n]["email"] for n in lenders], "seeded: home improvement")))

        def create(plan: tuple[int, list[int], str]) -> tuple[str, int, list[int]]:
            borrower, lenders, body = plan
            headers = {**JSON_HEADERS, "Authorization": f"Bearer {people[borrower]['token']}"}
            return _checked(http.post("/loans", content=body, headers=headers), "create loan")["loanId"], borrower, lenders

        created = list(pool.map(create, plans))
        funded, unfunded = created[::2], created[1::2]

        def accept(pair: tuple[int, str]) -> None:
            lender, loan_id = pair
            headers = {**JSON_HEADERS, "Authorization": f"Bearer {people[lender]['token']}"}
            for attempt in range(5):  # 409 CONFLICT: the loan is contended by the other seeding threads; retry
                response = http.put(f"/lender/accept/{loan_id}", content=json_text({"achDetails": ACH}), headers=headers)
                if response.status_code != 409 or response.json()["error"]["code"] != "CONFLICT":
                    break
                time.sleep(0.05 * (attempt + 1))
            _checked(response, f"accept {loan_id}")

        acceptances = [(lender, loan_id) for loan_id, _, lenders in funded for lender in lenders]
        rng.shuffle(acceptances)  # spread the seeding threads over many loans
        list(pool.map(accept, acceptances))

    # The active loans the servicing endpoints use: those of 500.00 or more, so the workload's repayments
    # (1.00-20.00 each) never repay one in full (then it would answer 409 LOAN_NOT_ACTIVE, or 422 OVERPAYMENT).
    amounts = {
        loan_id: Decimal(str(json.loads(plan[2], parse_float=Decimal)["amount"]))
        for (loan_id, _, _), plan in zip(created, plans, strict=True)
    }
    serviced = [entry for entry in funded if amounts[entry[0]] >= 500] or funded
    visible = [(borrower, loan_id) for loan_id, borrower, _ in created]
    visible += [(rng.choice(lenders), loan_id) for loan_id, _, lenders in created]
    data = SeedData(
        users=people,
        visible_loans=visible,
        open_invitations=[(lender, loan_id) for loan_id, _, lenders in unfunded for lender in lenders],
        accepted_invitations=acceptances,
        password=PASSWORD,
        serviced_loans=[(borrower, loan_id) for loan_id, borrower, _ in serviced]
        + [(lenders[0], loan_id) for loan_id, _, lenders in serviced],
        borrowed_active=[(borrower, loan_id) for loan_id, borrower, _ in serviced],
    )
    return data, registrations


# --- the report -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def calls_text(calls: list[int]) -> str:
    if not calls:
        return "-"
    low, high = min(calls), max(calls)
    return str(low) if low == high else f"{statistics.fmean(calls):.2f} ({low}-{high})"


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    print("| " + " | ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    for row in rows:
        print(
            "| "
            + " | ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in enumerate(zip(row, widths, strict=True)))
            + " |"
        )


def ok(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if 200 <= s.status < 400]


def report(
    result: WorkloadResult, seconds: float, floors: dict[str, FloorResult], alone: dict[str, FloorResult], registrations: list[Sample]
) -> bool:
    """Prints the tables; False when a request failed unexpectedly.

    The ratio is against the floor measured with the workload's own mix (the same load on DynamoDB
    Local, minus the app); the floor of each endpoint alone at the same concurrency is shown beside it.
    """
    by_operation: dict[str, list[Sample]] = defaultdict(list)
    for sample in result.samples:
        by_operation[sample.operation].append(sample)
    header = ["endpoint", "requests", "errors", "provoked", "req/s", "p50 ms", "p95 ms", "p99 ms", "DDB/call", "floor p50 ms"]
    header += ["floor DDB/call", "p50/floor", "target", "met", "alone p50 ms"]
    rows = []
    mismatched = []
    for operation in WEIGHTS:
        group = by_operation.get(operation, [])
        good = ok(group)
        millis = [s.millis for s in good]
        floor = floors[operation]
        p50 = statistics.median(millis) if millis else float("nan")
        ratio = p50 / floor.p50 if floor.millis else float("nan")
        target = WRITE_RATIO if operation in WRITES else READ_RATIO
        endpoint_calls = [s.db_requests for s in good if not s.provoked]
        if endpoint_calls and floor.calls and abs(statistics.fmean(endpoint_calls) - floor.mean_calls) > 0.25:
            mismatched.append(operation)
        rows.append(
            [
                operation,
                str(len(group)),
                str(sum(1 for s in group if not (200 <= s.status < 400) and not s.provoked)),
                str(sum(1 for s in group if s.provoked)),
                f"{len(group) / seconds:.1f}",
                f"{p50:.1f}",
                f"{percentile(millis, 0.95):.1f}",
                f"{percentile(millis, 0.99):.1f}",
                calls_text(endpoint_calls),
                f"{floor.p50:.1f}",
                calls_text(floor.calls),
                f"{ratio:.2f}",
                f"<= {target:.1f}",
                "yes" if ratio <= target else "NO",
                f"{alone[operation].p50:.1f}",
            ]
        )
    table(header, rows)
    total = len(result.samples)
    print(f"\n{total} requests in {seconds:.1f} s = {total / seconds:.1f} req/s overall; latencies are of the successful requests")
    print(
        f"accept: {result.accepts} first acceptances ({result.final_accepts} completed a loan's funding), "
        f"{result.open_invitations_left} open invitations left"
    )

    print("\nDynamoDB requests per call (X-DB-Requests; register from the seeding) against their targets:\n")
    rows = []
    for operation, limit in DB_TARGETS.items():
        group = registrations if operation == "register" else by_operation.get(operation, [])
        calls = [s.db_requests for s in ok(group) if not s.provoked]
        worst = max(calls) if calls else None
        note = DB_TARGET_NOTES.get(operation, "")
        rows.append(
            [
                operation,
                calls_text(calls),
                "-" if worst is None else str(worst),
                f"<= {limit}" + (f" ({note})" if note else ""),
                "-" if worst is None else "yes" if worst <= limit else "NO",
            ]
        )
    table(["endpoint", "measured: mean (min-max)", "max", "target", "met"], rows)
    provoked = [s for s in result.samples if s.provoked]
    if provoked:
        print(
            f"\nprovoked errors (on purpose, not counted as errors): {len(provoked)} x {provoked[0].status} {provoked[0].code}, "
            f"{calls_text([s.db_requests for s in provoked])} DynamoDB requests each"
        )

    for operation in mismatched:
        print(
            f"\nWARNING: the floor of {operation} made {floors[operation].mean_calls:.2f} DynamoDB calls per op, the endpoint "
            f"{statistics.fmean(s.db_requests for s in ok(by_operation[operation]) if not s.provoked):.2f}: "
            "either the data grew between the workload and the floor (pending's filtered Query pages), or "
            "scripts/bench_floor.py no longer mirrors the endpoint"
        )
    for operation, floor in [*floors.items(), *alone.items()]:
        if floor.errors:
            print(f"\nWARNING: the floor of {operation} failed {len(floor.errors)} times, first: {floor.errors[0]}")
    if result.failures:
        print(f"\nUNEXPECTED ERRORS ({sum(1 for s in result.samples if not (200 <= s.status < 400) and not s.provoked)}); the first ones:")
        for failure in result.failures:
            print(f"  {failure}")
    return not result.failures


def plot(path: Path, series: dict[str, tuple[list[float], list[float]]], *, title: str) -> None:
    """A PNG: per endpoint, its p50 and p95 (ms) beside its floor's (endpoint -> (endpoint millis, floor millis))."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(series)
    rows = [
        (statistics.median(app), percentile(app, 0.95), statistics.median(floor), percentile(floor, 0.95)) for app, floor in series.values()
    ]
    figure, axes = plt.subplots(figsize=(8, 0.42 * len(names) + 1.4), dpi=90)
    positions = list(range(len(names)))
    height = 0.38
    app_p50 = axes.barh([y - height / 2 for y in positions], [r[0] for r in rows], height, color="#1f77b4", label="endpoint p50")
    axes.barh(
        [y - height / 2 for y in positions],
        [r[1] - r[0] for r in rows],
        height,
        left=[r[0] for r in rows],
        color="#aec7e8",
        label="endpoint p95",
    )
    axes.barh([y + height / 2 for y in positions], [r[2] for r in rows], height, color="#7f7f7f", label="floor p50")
    axes.barh(
        [y + height / 2 for y in positions],
        [r[3] - r[2] for r in rows],
        height,
        left=[r[2] for r in rows],
        color="#c7c7c7",
        label="floor p95",
    )
    for bar, (p50, _, floor_p50, _) in zip(app_p50, rows, strict=True):
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {p50 / floor_p50:.2f}x", va="center", fontsize=7)
    axes.set_yticks(positions, names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("ms (p50 solid, p95 light; label: p50 / floor p50)", fontsize=8)
    axes.set_title(title, fontsize=9, pad=22)
    axes.tick_params(axis="x", labelsize=8)
    axes.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=4, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def check_create_items(client: Any, result: WorkloadResult, floor: Floor) -> None:
    """Create loan's transaction size: items in the partitions the endpoint created vs the floor's TransactWriteItems."""
    written = []
    for loan_id, _ in result.created_loans[:50]:
        response = client.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"LOAN#{loan_id}"}},
            Select="COUNT",
            ConsistentRead=True,
        )
        written.append(int(response["Count"]))
    floor_items = floor.transaction_items.get("create loan", [])
    if not written or not floor_items:
        return
    endpoint_mean, floor_mean = statistics.fmean(written), statistics.fmean(floor_items)
    extra = {count - lenders for count, (_, lenders) in zip(written, result.created_loans, strict=False)}
    same = abs(endpoint_mean - floor_mean) < 0.75 and extra == {2}
    print(
        f"\ncreate loan's transaction: the endpoint wrote {endpoint_mean:.2f} items per loan (lenders + {sorted(extra)}: loan + event; "
        f"read back from {len(written)} loans it created), the floor {floor_mean:.2f} items per TransactWriteItems "
        f"(1-5 lenders + loan + event, drawn like the workload): {'same shape' if same else 'DIFFERENT: check scripts/bench_floor.py'}"
    )


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 users, 100 loans, 10 s, 2 s per floor")
    parser.add_argument("--seconds", type=float, help="workload duration (default 60; --quick 10)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads and floor threads (default 8)")
    parser.add_argument("--users", type=int, help="users to register (default 500; --quick 50)")
    parser.add_argument("--loans", type=int, help="loans to create, half of them funded (default 1000; --quick 100)")
    parser.add_argument("--floor-seconds", type=float, help="duration of each floor measurement (default 5; --quick 2)")
    parser.add_argument("--png", type=Path, help=f"where the picture goes (default {PICTURE.relative_to(ROOT)}; --quick: a temporary file)")
    args = parser.parse_args()
    for name, default in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if not 0 < args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be in (0, {MAX_SECONDS}]: the seeded access tokens must outlive the run")
    if args.users < 12 or args.loans < 2 or args.concurrency < 1:
        parser.error("need at least 12 users (a loan invites up to 10 others), 2 loans and 1 thread")

    load_at_start = os.getloadavg()[0]
    print("machine:")
    for line in machine():
        print(f"  {line}")
    ddb_port, app_port = dynamodb_local.free_port(), dynamodb_local.free_port()
    ddb = dynamodb_local.start(ddb_port)
    app: subprocess.Popen[bytes] | None = None
    log = Path(tempfile.mkdtemp(prefix="bench-")) / "app.log"
    try:
        ddb_url = f"http://127.0.0.1:{ddb_port}"
        from app.db.client import make_client
        from app.db.schema_admin import ensure_table

        client = make_client(region="us-east-1", endpoint_url=ddb_url)
        ensure_table(client, TABLE)
        app = start_app(app_port, ddb_url, log)
        base_url = f"http://127.0.0.1:{app_port}"
        started = time.perf_counter()
        data, registrations = seed(base_url, client, args.users, args.loans, args.concurrency, random.Random(7))
        print(
            f"\nseeded {len(data.users)} users, {args.loans} loans ({len(data.accepted_invitations)} acceptances funding half of them, "
            f"{len(data.open_invitations)} open invitations) in {time.perf_counter() - started:.0f} s",
            flush=True,
        )

        context = multiprocessing.get_context("spawn")
        queue: Any = context.Queue()
        worker = context.Process(target=run_workload, args=(base_url, data, args.concurrency, args.seconds, queue))
        started = time.perf_counter()
        worker.start()
        result: WorkloadResult = queue.get(timeout=args.seconds + 300)
        elapsed = time.perf_counter() - started
        worker.join()
        stop(app)
        app = None

        accepts = max(result.accepts, 1)
        floor = Floor(
            client,
            TABLE,
            data.users,
            data.visible_loans,
            PASSWORD,
            final_accept_share=result.final_accepts / accepts,
            serviced_loans=data.serviced_loans,
            borrowed_active=data.borrowed_active,
        )
        mix_seconds = args.floor_seconds * len(WEIGHTS)
        print(f"workload done ({elapsed:.0f} s incl. process start); floors: the workload's mix for {mix_seconds:.0f} s ...", flush=True)
        floors = measure_mix(floor, WEIGHTS, args.concurrency, mix_seconds)
        print(f"... then each endpoint alone for {args.floor_seconds:.0f} s ...", flush=True)
        order = [*READS, *(operation for operation in WEIGHTS if operation in WRITES)]  # reads before writes
        alone = {operation: measure(floor, operation, args.concurrency, args.floor_seconds) for operation in order}
        print(
            f"\nworkload: {args.seconds:.0f} s at concurrency {args.concurrency}, uvicorn 1 worker, DynamoDB Local in memory, "
            f"{args.users} users, {args.loans} loans; floor: the same mix for {mix_seconds:.0f} s, then each alone for "
            f"{args.floor_seconds:.0f} s, at concurrency {args.concurrency}\n"
        )
        clean = report(result, args.seconds, floors, alone, registrations)
        check_create_items(client, result, floor)
        png = args.png or (log.parent / "bench.png" if args.quick else PICTURE)
        by_operation: dict[str, list[float]] = defaultdict(list)
        for sample in ok(result.samples):
            by_operation[sample.operation].append(sample.millis)
        load = f"load {load_at_start:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
        plot(
            png,
            {operation: (by_operation[operation], floors[operation].millis) for operation in WEIGHTS if by_operation[operation]},
            title=f"bench.py mixed load: {args.seconds:.0f} s at concurrency {args.concurrency}, uvicorn 1 worker\n{load}; "
            "floor: the same mix of bare DynamoDB calls",
        )
        print(f"\npicture: {png}")
        if not clean:
            print(f"\nthe app's log (JSON lines, tracebacks of 500s): {log}")
    finally:
        if app is not None:
            stop(app)
        ddb.terminate()
        ddb.wait(timeout=10)
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
