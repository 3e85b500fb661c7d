#!/usr/bin/env python3
"""Cold start: import lambda_handler and answer a first API Gateway /health event, in fresh interpreters.

    .venv/bin/python scripts/coldstart.py [--runs 15] [--importtime] [--top 15] [--also DIR]

Compares, over N fresh processes each (interleaved, so drift hits them all alike):
  ours      import lambda_handler, look `handler` up (the Lambda runtime does at init: that builds the
            app) and answer the first HTTP API v2 event for GET /health (a real GetItem on a DynamoDB
            Local this script starts, in memory, with its own table)
  baseline  the bare handler the target is measured against: FastAPI with one /health route under
            Mangum, whose route makes the same GetItem with a botocore client created on first use
            (the same timeouts and retries as ours), as the simplest handler doing that job would;
            nothing else imported, same event
  fastapi   the same without botocore: FastAPI + Mangum, one route answering a constant (for reference)
  python    `python -c pass`: the interpreter alone
  also      with --also DIR: ours, from another checkout (a before/after comparison in one run)
For each it prints the medians of the whole process (wall clock, what a Lambda cold start pays
beyond the runtime's own init), of the import + first event measured inside the process, and of
the process's CPU time (user + system: less sensitive than wall clock to other load on the machine),
and the ratios ours / baseline; and the first event alone, after init: what a sandbox restored from a
SnapStart snapshot still runs (the restore itself happens in AWS). Every run is plain init, with the .pyc files written
(the warm-up run writes them; PYTHONDONTWRITEBYTECODE is dropped for the children). --importtime
also runs `python -X importtime` on ours (import + handler lookup) and lists the heaviest imports
(cumulative and self time). Works from a fresh checkout once scripts/setup.sh has made .venv
(DynamoDB Local is fetched on first use, like the tests do).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EVENT = ROOT / "tests" / "ops" / "events" / "http_api_v2.json"
TABLE = "coldstart"

# Each program prints the milliseconds of the first event alone (after init: what a sandbox restored from a
# SnapStart snapshot still runs), then from its first line to the answered event (import + first event),
# then the CPU milliseconds the process used in all (user + system, interpreter start included).
CPU = "import resource as _r; _u = _r.getrusage(_r.RUSAGE_SELF); print((_u.ru_utime + _u.ru_stime) * 1000)"
# The end every program shares: answer the event with `handler`, then print the three figures above.
ANSWER = f"""event = json.load(open({str(EVENT)!r}))
ready = time.perf_counter()
result = handler(event, None)
elapsed = (time.perf_counter() - started) * 1000
assert result["statusCode"] == 200, result
print((time.perf_counter() - ready) * 1000)
print(elapsed)
{CPU}
"""

OURS = f"""
import time
started = time.perf_counter()
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import lambda_handler
handler = lambda_handler.handler  # built during init, as the runtime looks the handler up then
{ANSWER}"""

BASELINE = f"""
import time
started = time.perf_counter()
import json, os
import botocore.session
from botocore.config import Config
from fastapi import FastAPI
from mangum import Mangum
clients = []
app = FastAPI()
@app.get("/health")
def health():
    if not clients:
        config = Config(retries={{"mode": "standard", "total_max_attempts": 3}}, connect_timeout=1, read_timeout=2)
        clients.append(botocore.session.get_session().create_client(
            "dynamodb", region_name="us-east-1", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"], config=config,
            aws_access_key_id="local", aws_secret_access_key="local"))
    clients[0].get_item(TableName=os.environ["TABLE_NAME"], Key={{"PK": {{"S": "HEALTH#probe"}}, "SK": {{"S": "HEALTH#probe"}}}})
    return {{"status": "ok"}}
handler = Mangum(app, lifespan="off")
{ANSWER}"""

FASTAPI_ONLY = f"""
import time
started = time.perf_counter()
import json
from fastapi import FastAPI
from mangum import Mangum
app = FastAPI()
@app.get("/health")
def health():
    return {{"status": "ok"}}
handler = Mangum(app, lifespan="off")
{ANSWER}"""

BARE = f"print(0.0)\nprint(0.0)\n{CPU}"
OURS_NAME, BASELINE_NAME = "ours: lambda_handler + /health", "baseline: FastAPI+Mangum+botocore"
PROGRAMS = {"python -c pass": BARE, "fastapi: FastAPI + Mangum, 1 route": FASTAPI_ONLY, BASELINE_NAME: BASELINE, OURS_NAME: OURS}


def one_run(code: str, env: dict[str, str]) -> tuple[float, float, float, float]:
    """(wall ms of the whole process, ms the process measured for import + first event, its CPU ms, ms of the first event alone)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise SystemExit(f"a cold-start run failed:\n{result.stderr[-2000:]}")
    *_, event, inside, cpu = result.stdout.strip().splitlines()
    return wall, float(inside), float(cpu), float(event)


def heaviest_imports(env: dict[str, str], top: int) -> tuple[list[tuple[int, int, str]], int]:
    """(self us, cumulative us, module) of the imports of lambda_handler and its `handler`, heaviest cumulative first; and the total."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); import lambda_handler; lambda_handler.handler"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(self_us), int(cumulative_us), name.rstrip()))
    total = sum(self_us for self_us, _, _ in rows)
    return sorted(rows, key=lambda row: row[1], reverse=True)[:top], total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per program (at least 10; default 15)")
    parser.add_argument("--importtime", action="store_true", help="also list the heaviest imports of lambda_handler")
    parser.add_argument("--top", type=int, default=15, help="how many imports --importtime lists (default 15)")
    parser.add_argument(
        "--also",
        type=Path,
        metavar="DIR",
        help="also measure the lambda_handler of another checkout (e.g. a `git worktree` of an older commit), in the same run",
    )
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    if args.also is not None:
        if not (args.also / "lambda_handler.py").is_file():
            parser.error(f"--also: no lambda_handler.py in {args.also}")
        PROGRAMS[f"also: {args.also}"[:38]] = OURS.replace(repr(str(ROOT)), repr(str(args.also.resolve())))
    try:
        import fastapi  # noqa: F401
        import mangum  # noqa: F401
    except ImportError:
        raise SystemExit("run it with the project's venv: bash scripts/setup.sh, then .venv/bin/python scripts/coldstart.py") from None

    from app.db.client import make_client
    from app.db.schema_admin import ensure_table
    from scripts import dynamodb_local

    port = dynamodb_local.free_port()
    ddb = dynamodb_local.start(port)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        ensure_table(make_client(region="us-east-1", endpoint_url=endpoint), TABLE)
        env = {
            **os.environ,
            "DYNAMODB_ENDPOINT_URL": endpoint,
            "TABLE_NAME": TABLE,
            "ENVIRONMENT": "dev",
            "LOG_LEVEL": "WARNING",
            "DEBUG_DB_METRICS": "false",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes the .pyc files every measured run reads
        for code in PROGRAMS.values():  # warm the OS file cache and write the .pyc files: every measured run is alike
            one_run(code, env)
        results: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in PROGRAMS}
        for _ in range(args.runs):
            for name, code in PROGRAMS.items():
                results[name].append(one_run(code, env))
        imports = heaviest_imports(env, args.top) if args.importtime else None
    finally:
        ddb.terminate()
        ddb.wait(timeout=10)

    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    machine = f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {load}"
    print(f"cold start, plain init, over {args.runs} fresh processes each (ms; {machine})")
    header = f"{'process median':>14} {'min':>7} {'max':>7} {'import+event median':>20} {'cpu median':>11} {'first event median':>19}"
    print(f"  {'':38} {header}")
    medians = {}
    for name, runs in results.items():
        walls = [run[0] for run in runs]
        medians[name] = tuple(statistics.median(run[index] for run in runs) for index in range(4))
        wall, inside, cpu, event = medians[name]
        print(f"  {name:38} {wall:14.1f} {min(walls):7.1f} {max(walls):7.1f} {inside:20.1f} {cpu:11.1f} {event:19.1f}")
    ours, base = medians[OURS_NAME], medians[BASELINE_NAME]
    print(
        f"  ratio ours / baseline: whole process {ours[0] / base[0]:.2f}, import + first event {ours[1] / base[1]:.2f}, "
        f"cpu {ours[2] / base[2]:.2f} (target <= 1.3)"
    )
    print(
        f"  with SnapStart (init restored from the snapshot, then the first event): first event {ours[3]:.1f} ms vs "
        f"{base[3]:.1f} ms, ratio {ours[3] / base[3]:.2f} (the restore itself happens in AWS and is not measured here)"
    )
    if imports is not None:
        rows, total = imports
        print(f"\nheaviest imports of lambda_handler and its handler (python -X importtime; every import in total: {total / 1000:.1f} ms):")
        print(f"  {'cumulative ms':>13} {'self ms':>8}  module")
        for self_us, cumulative_us, name in rows:
            print(f"  {cumulative_us / 1000:13.1f} {self_us / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
