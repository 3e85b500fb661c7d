#!/usr/bin/env python3
"""Lambda-like benchmark: each endpoint alone at concurrency 1, through the Mangum handler in-process and over HTTP.

    .venv/bin/python scripts/bench_lambda.py                 # 200 users, 400 loans; 3 rounds of 4 s per endpoint and path
    .venv/bin/python scripts/bench_lambda.py --quick         # 30 users, 60 loans; 3 rounds of 1 s
    .venv/bin/python scripts/bench_lambda.py --memory-seconds 60 --profile /tmp/profile.txt

On Lambda each execution environment serves one request at a time, so the app's per-request cost is
not hidden behind (or inflated by) other requests sharing the interpreter, as it is under
scripts/bench.py's mixed load. This script seeds like bench.py (through the API under uvicorn, every
user verified), then for each endpoint runs, in interleaved rounds so a change of machine load hits
all paths alike:

  floor        the endpoint's bare DynamoDB calls (scripts/bench_floor.py), one thread
  in-process   `lambda_handler.handler(event, context)` with an API Gateway HTTP API (v2) event built
               here: Mangum -> the ASGI app -> DynamoDB Local, what a warm Lambda invocation runs
               (minus the runtime's own poll loop); the app's JSON access line goes to a file
  lambda http  the same request over HTTP to scripts/lambda_http.py, which turns it into the same
               event for the same handler, one request at a time (as `sam local` or the runtime
               interface emulator serve a function): the Lambda execution model over HTTP
  uvicorn      the same request over HTTP to the app under uvicorn (1 worker: the local server,
               where a `def` endpoint runs in the worker thread pool)
  lambda hop,  the same request to each of those servers answering {} with nothing behind it
  uvicorn hop  (lambda_http.py --bare, scripts/bare_asgi.py under the same uvicorn): the HTTP round
               trip alone, which a path over HTTP pays on top of the in-process one

Every HTTP path uses one keep-alive urllib3 connection: the HTTP client botocore itself uses, so
the floor's calls and these pay the same client code. It prints p50/p95/p99 of each path and its p50
ratio against the floor (over HTTP: against the floor plus that server's hop), and where each
path's time goes (the app's own duration_ms, read from its access log lines). Then (item 7 of issue 19)
replays bench.py's mixed workload through the handler in a fresh process (no uvicorn, no floor code
imported), one request at a time, and prints its peak RSS (VmHWM; and resource.getrusage) against the Lambda
memory size configured in terraform (var.lambda_memory_mb; peak RSS: see scripts/bench_memory.py). `--profile PATH` also writes a cProfile
of the in-process handler serving get loan, my-loans and profile (sorted by cumulative time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import urllib3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import bench, dynamodb_local  # noqa: E402
from scripts.bench_floor import Floor, measure  # noqa: E402
from scripts.bench_memory import HandlerClient, replay_in_fresh_process  # noqa: E402
from scripts.bench_workload import READS, SERVICING_PATHS, WRITES, SeedData, cents, json_text, loan_body  # noqa: E402

QUICK = {"users": 30, "loans": 60, "seconds": 1.0, "memory_seconds": 10.0}
FULL = {"users": 200, "loans": 400, "seconds": 4.0, "memory_seconds": 60.0}
ROUNDS = 3
PROFILED = ("get loan", "my-loans", "profile")
HOPS = {"lambda http": "lambda hop", "uvicorn": "uvicorn hop"}  # each path over HTTP and its server's bare round trip
HTTP_PATHS = (*HOPS, *HOPS.values())  # each its own server process, see main()
ENDPOINTS = [*READS, "create loan", "repay"]  # login and accept: see docs/performance.md (argon2id; accept consumes invitations)


# --- the requests of each endpoint ---------------------------------------------------------------


def request_of(operation: str, data: SeedData, rng: random.Random) -> tuple[str, str, dict[str, str], str | None]:
    """(method, path, headers, body) of one call of `operation`, drawn like bench_workload.py does."""

    def auth(index: int, body: bool = False) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {data.users[index]['token']}"}
        return {**headers, "Content-Type": "application/json"} if body else headers

    me = rng.randrange(len(data.users))
    if operation == "get loan":
        viewer, loan_id = rng.choice(data.visible_loans)
        return "GET", f"/loans/{loan_id}", auth(viewer), None
    if operation == "my-loans":
        return "GET", "/loans/my-loans?limit=20", auth(me), None
    if operation == "pending":
        return "GET", "/lender/pending?limit=20", auth(me), None
    if operation == "dashboard":
        return "GET", "/user/dashboard", auth(me), None
    if operation == "profile":
        return "GET", "/user/profile", auth(me), None
    if operation in SERVICING_PATHS:
        viewer, loan_id = rng.choice(data.serviced_loans)
        return "GET", f"/loans/{loan_id}{SERVICING_PATHS[operation]}", auth(viewer), None
    if operation == "create loan":
        others = [i for i in rng.sample(range(len(data.users)), 6) if i != me][: rng.randint(1, 5)]
        return "POST", "/loans", auth(me, body=True), loan_body(rng, [data.users[i]["email"] for i in others], "bench: working capital")
    if operation == "repay":
        borrower, loan_id = rng.choice(data.borrowed_active)
        return "POST", f"/loans/{loan_id}/repayments", auth(borrower, body=True), json_text({"amount": cents(rng.randint(100, 2000))})
    raise ValueError(operation)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Timings:
    millis: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    inside: list[float] = field(default_factory=list)  # the app's own duration_ms of the same requests (its access log)

    def p(self, share: float) -> float:
        return bench.percentile(self.millis, share)

    @property
    def p50(self) -> float:
        return median(self.millis)

    @property
    def app_p50(self) -> float:
        return median(self.inside)


Caller = Callable[[str, str, dict[str, str], str | None], tuple[int, int, str]]


def drive(call: Caller, operation: str, data: SeedData, seconds: float, seed: int) -> Timings:
    """One request at a time for `seconds`; `call` answers (status, X-DB-Requests, body head)."""
    rng, timings = random.Random(seed), Timings()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        method, path, headers, body = request_of(operation, data, rng)
        started = time.perf_counter()
        status, calls, text = call(method, path, headers, body)
        millis = (time.perf_counter() - started) * 1000
        if 200 <= status < 300:
            timings.millis.append(millis)
            timings.calls.append(calls)
        elif len(timings.errors) < 5:
            timings.errors.append(f"{method} {path} -> {status} {text[:200]}")
    return timings


def merge(into: Timings, part: Timings) -> None:
    into.millis += part.millis
    into.calls += part.calls
    into.errors += part.errors
    into.inside += part.inside


def logged(log: Path, call: Caller, operation: str, data: SeedData, seconds: float, seed: int) -> Timings:
    """drive(...), with the duration_ms of the 2xx access lines the app wrote to `log` meanwhile (each line is flushed)."""
    start = log.stat().st_size
    timings = drive(call, operation, data, seconds, seed)
    with log.open("rb") as lines:
        lines.seek(start)
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # not an access line (uvicorn's own)
            if isinstance(record, dict) and "duration_ms" in record and 200 <= (record.get("status") or 0) < 300:
                timings.inside.append(float(record["duration_ms"]))
    return timings


# --- memory ---------------------------------------------------------------------------------------


def lambda_memory_mb() -> int:
    """var.lambda_memory_mb's default in terraform/variables.tf (what terraform/lambda.tf gives the API function)."""
    text = (ROOT / "terraform" / "variables.tf").read_text()
    match = re.search(r'variable "lambda_memory_mb"\s*{[^}]*default\s*=\s*(\d+)', text)
    return int(match.group(1)) if match else -1


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int)
    parser.add_argument("--loans", type=int)
    parser.add_argument("--seconds", type=float, help="per round, per endpoint and path (3 rounds)")
    parser.add_argument("--memory-seconds", type=float, help="how long the mixed workload is replayed through the handler")
    parser.add_argument("--only", help="comma-separated endpoints (default: every endpoint measured)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the handler serving get loan, my-loans, profile here")
    parser.add_argument("--png", type=Path, help="also draw the in-process and HTTP p50/p95 beside the floor into this PNG")
    args = parser.parse_args()
    for name, default in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    endpoints = args.only.split(",") if args.only else ENDPOINTS

    print("machine:")
    for line in bench.machine():
        print(f"  {line}")
    ddb_port = dynamodb_local.free_port()
    ports = {name: dynamodb_local.free_port() for name in HTTP_PATHS}
    ddb = dynamodb_local.start(ddb_port)
    servers: list[subprocess.Popen[bytes]] = []
    workdir = Path(tempfile.mkdtemp(prefix="bench-lambda-"))
    try:
        ddb_url = f"http://127.0.0.1:{ddb_port}"
        from app.db.client import make_client
        from app.db.schema_admin import ensure_table

        client = make_client(region="us-east-1", endpoint_url=ddb_url)
        ensure_table(client, bench.TABLE)
        logs = {name: workdir / f"{name}.log" for name in HTTP_PATHS}  # each server's output: the app's JSON access lines
        lambda_http = [sys.executable, str(ROOT / "scripts" / "lambda_http.py"), "--port"]
        commands = {
            "uvicorn": bench.uvicorn_command("app.main:app", ports["uvicorn"]),
            "uvicorn hop": bench.uvicorn_command("scripts.bare_asgi:app", ports["uvicorn hop"]),
            "lambda http": [*lambda_http, str(ports["lambda http"])],
            "lambda hop": [*lambda_http, str(ports["lambda hop"]), "--bare"],
        }
        servers += [bench.start_app(ports[name], ddb_url, logs[name], commands[name]) for name in HTTP_PATHS]
        base_url = f"http://127.0.0.1:{ports['uvicorn']}"
        started = time.perf_counter()
        data, _ = bench.seed(base_url, client, args.users, args.loans, 8, random.Random(7))
        print(f"\nseeded {args.users} users, {args.loans} loans in {time.perf_counter() - started:.0f} s", flush=True)

        env = bench.app_env(ddb_url)
        os.environ.update(env)
        import lambda_handler

        handler = lambda_handler.handler
        handler_log = workdir / "handler-access.log"
        access_log = handler_log.open("w")
        for log_handler in logging.getLogger("app").handlers:
            if isinstance(log_handler, logging.StreamHandler):
                log_handler.setStream(access_log)
        handler_client = HandlerClient(handler)
        pools = {name: urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, timeout=30, retries=False) for name, port in ports.items()}

        def in_process(method: str, path: str, headers: dict[str, str], body: str | None) -> tuple[int, int, str]:
            response = handler_client.request(method, path, content=body, headers=headers)
            return response.status_code, int(response.headers.get("x-db-requests", -1)), response.text

        def over(pool: urllib3.HTTPConnectionPool) -> Caller:
            def call(method: str, path: str, headers: dict[str, str], body: str | None) -> tuple[int, int, str]:
                response = pool.urlopen(method, path, body=body, headers=headers)
                return response.status, int(response.headers.get("x-db-requests", -1)), response.data.decode()

            return call

        callers: dict[str, Caller] = {"in-process": in_process, **{name: over(pool) for name, pool in pools.items()}}
        logs["in-process"] = handler_log

        floor = Floor(client, bench.TABLE, data.users, data.visible_loans, bench.PASSWORD, 0.1, data.serviced_loans, data.borrowed_active)
        for operation in endpoints:  # warm every path once (first-request work is a cold start's, not a request's)
            for call in callers.values():
                drive(call, operation, data, 0.2, 1)
            measure(floor, operation, 1, 0.2)

        results: dict[str, dict[str, Timings]] = {}
        load = os.getloadavg()
        started = time.perf_counter()
        for operation in endpoints:
            paths = {"floor": Timings(), **{name: Timings() for name in callers}}
            for round_number in range(ROUNDS):
                floor_result = measure(floor, operation, 1, args.seconds, seed=round_number)
                merge(paths["floor"], Timings(floor_result.millis, floor_result.calls, floor_result.errors[:5]))
                for index, (name, call) in enumerate(callers.items()):
                    merge(paths[name], logged(logs[name], call, operation, data, args.seconds, 100 * (index + 1) + round_number))
            results[operation] = paths
            print(f"  {operation}: done", flush=True)
        load_after = os.getloadavg()

        print(
            f"\nLambda-like: each endpoint alone, concurrency 1, {ROUNDS} interleaved rounds of {args.seconds:.0f} s per path "
            f"({time.perf_counter() - started:.0f} s); load average {load[0]:.2f} before, {load_after[0]:.2f} after\n"
        )
        header = ["endpoint", "floor p50", "floor DDB", "in-process p50", "p95", "p99", "DDB", "ratio"]
        for name in HOPS:
            header += [f"{name} p50", "p95", "p99", "hop", "ratio beyond the hop"]
        header += ["target", "met (in-process / lambda http / uvicorn)"]
        rows = []
        for operation, paths in results.items():
            floor_p50 = paths["floor"].p50
            target = bench.WRITE_RATIO if operation in WRITES else bench.READ_RATIO
            ratios = [paths["in-process"].p50 / floor_p50]
            row = [operation, f"{floor_p50:.2f}", bench.calls_text(paths["floor"].calls)]
            row += [f"{paths['in-process'].p(share):.2f}" for share in (0.5, 0.95, 0.99)]
            row += [bench.calls_text(paths["in-process"].calls), f"{ratios[0]:.2f}"]
            for name, hop_name in HOPS.items():
                hop = paths[hop_name].p50
                ratios.append(paths[name].p50 / (floor_p50 + hop))
                row += [f"{paths[name].p(share):.2f}" for share in (0.5, 0.95, 0.99)] + [f"{hop:.2f}", f"{ratios[-1]:.2f}"]
            rows.append([*row, f"<= {target:.1f}", " / ".join("yes" if ratio <= target else "NO" for ratio in ratios)])
        bench.table(header, rows)
        print(
            "\n(ms; in-process ratio = p50 / floor p50; over HTTP, ratio beyond the hop = p50 / (floor p50 + hop p50), where the hop "
            "is the same requests to the same server answering {} with nothing behind it (lambda http: scripts/lambda_http.py "
            "--bare; uvicorn: scripts/bare_asgi.py); requests per path: "
            + ", ".join(f"{op} {len(p['in-process'].millis)}" for op, p in results.items())
            + ")"
        )
        print(
            "\nWhere each path's time goes (p50, ms). \"app\" is the app's own duration_ms from its access log (from the "
            "outermost middleware in to the response out): in process and behind lambda http, Mangum and the event are outside "
            "it; over HTTP, also the HTTP round trip. Through the Lambda handler (in process, lambda http) a `def` endpoint runs "
            "on the event loop; under uvicorn it runs in the worker thread pool (one process serves concurrent requests).\n"
        )

        bench.table(
            ["endpoint", "floor", "in-process", "app", "lambda http", "hop", "app", "uvicorn", "hop", "app", "app: uvicorn - in-process"],
            [
                [
                    operation,
                    f"{paths['floor'].p50:.2f}",
                    f"{paths['in-process'].p50:.2f}",
                    f"{paths['in-process'].app_p50:.2f}",
                    f"{paths['lambda http'].p50:.2f}",
                    f"{paths['lambda hop'].p50:.2f}",
                    f"{paths['lambda http'].app_p50:.2f}",
                    f"{paths['uvicorn'].p50:.2f}",
                    f"{paths['uvicorn hop'].p50:.2f}",
                    f"{paths['uvicorn'].app_p50:.2f}",
                    f"{paths['uvicorn'].app_p50 - paths['in-process'].app_p50:+.2f}",
                ]
                for operation, paths in results.items()
            ],
        )
        for operation, paths in results.items():
            for name, timings in paths.items():
                if timings.errors:
                    print(f"WARNING: {operation} {name}: {len(timings.errors)}+ failures, first: {timings.errors[0]}")
        if args.png:
            bench.plot(
                args.png,
                {op: (p["in-process"].millis, p["floor"].millis) for op, p in results.items()},
                title=f"Lambda-like (in-process Mangum handler, concurrency 1), load {load[0]:.2f}",
            )
            print(f"picture: {args.png}")

        if args.profile:
            profiler = cProfile.Profile()
            for operation in PROFILED:
                profiler.enable()
                drive(in_process, operation, data, args.seconds * 2, 300)
                profiler.disable()
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(60)
            args.profile.write_text(text.getvalue())
            print(f"profile (cProfile, cumulative): {args.profile}")
        for pool in pools.values():
            pool.close()
        while servers:
            bench.stop(servers.pop())

        memory = replay_in_fresh_process(env, data, args.memory_seconds)
        configured = lambda_memory_mb()
        print(
            f"\nmemory: bench.py's mixed workload replayed through lambda_handler.handler in a fresh process for "
            f"{args.memory_seconds:.0f} s, one request at a time: {memory['requests']} requests ({memory['errors']} unexpected errors; "
            + ", ".join(f"{op} {n}" for op, n in memory["by_operation"].items())
            + ")"
        )
        print(
            f"  max RSS: {memory['max_kib'] / 1024:.1f} MiB (before importing lambda_handler: {memory['baseline_kib'] / 1024:.1f} MiB, "
            f"the interpreter and the workload driver with httpx; after init {memory['after_init_kib'] / 1024:.1f} MiB); "
            f"getrusage ru_maxrss {memory['ru_maxrss_kib'] / 1024:.1f} MiB (inherits the parent's peak); "
            f"configured Lambda memory: {configured} MB "
            f"(terraform/variables.tf lambda_memory_mb) -> {memory['max_kib'] / 1024 / configured * 100:.0f}% of it"
        )
        for failure in memory["failures"]:
            print(f"  failure: {failure}")
    finally:
        for server in servers:
            bench.stop(server)
        ddb.terminate()
        ddb.wait(timeout=10)


if __name__ == "__main__":
    main()
