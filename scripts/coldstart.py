#!/usr/bin/env python3
"""Cold start: import lambda_handler and answer a first API Gateway /health event, in fresh interpreters.

    .venv/bin/python scripts/coldstart.py [--runs 15] [--importtime] [--top 15]

Compares, over N fresh processes each (interleaved, so drift hits all three alike):
  ours      import lambda_handler + the first HTTP API v2 event for GET /health (a real GetItem on a
            DynamoDB Local this script starts, in memory, with its own table)
  baseline  a bare FastAPI app with one /health route under Mangum, nothing else imported, same event
  python    `python -c pass`: the interpreter alone
For each it prints the medians of the whole process (wall clock, what a Lambda cold start pays
beyond the runtime's own init) and of the import + first event measured inside the process, and
the ratios ours / baseline. --importtime also runs `python -X importtime -c "import lambda_handler"`
and lists the heaviest imports (cumulative and self time). Works from a fresh checkout once
scripts/setup.sh has made .venv (DynamoDB Local is fetched on first use, like the tests do).
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

# Each program prints the milliseconds from its first line to the answered event (import + first event).
OURS = f"""
import time
started = time.perf_counter()
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import lambda_handler
result = lambda_handler.handler(json.load(open({str(EVENT)!r})), None)
elapsed = (time.perf_counter() - started) * 1000
assert result["statusCode"] == 200, result
print(elapsed)
"""

BASELINE = f"""
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
result = handler(json.load(open({str(EVENT)!r})), None)
elapsed = (time.perf_counter() - started) * 1000
assert result["statusCode"] == 200, result
print(elapsed)
"""

BARE = "print(0.0)"
PROGRAMS = {"python -c pass": BARE, "baseline: FastAPI + Mangum, 1 route": BASELINE, "ours: lambda_handler + /health": OURS}


def one_run(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms of the whole process, ms the process measured for import + first event)."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False)
    wall = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise SystemExit(f"a cold-start run failed:\n{result.stderr[-2000:]}")
    return wall, float(result.stdout.strip().splitlines()[-1])


def heaviest_imports(env: dict[str, str], top: int) -> tuple[list[tuple[int, int, str]], int]:
    """(self us, cumulative us, module) of lambda_handler's imports, heaviest cumulative first; and the total."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); import lambda_handler"],
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
    total = next((cumulative for _, cumulative, name in rows if name.strip() == "lambda_handler"), 0)
    return sorted(rows, key=lambda row: row[1], reverse=True)[:top], total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per program (at least 10; default 15)")
    parser.add_argument("--importtime", action="store_true", help="also list the heaviest imports of lambda_handler")
    parser.add_argument("--top", type=int, default=15, help="how many imports --importtime lists (default 15)")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    try:
        import fastapi  # noqa: F401
        import mangum  # noqa: F401
    except ImportError:
        raise SystemExit("run it with the project's venv: bash scripts/setup.sh, then .venv/bin/python scripts/coldstart.py") from None

    from app.db.dynamo import make_client
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
        for code in PROGRAMS.values():  # warm the OS file cache and write the .pyc files: every measured run is alike
            one_run(code, env)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in PROGRAMS}
        for _ in range(args.runs):
            for name, code in PROGRAMS.items():
                results[name].append(one_run(code, env))
        imports = heaviest_imports(env, args.top) if args.importtime else None
    finally:
        ddb.terminate()
        ddb.wait(timeout=10)

    print(f"cold start over {args.runs} fresh processes each (ms; python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    print(f"  {'':38} {'process median':>14} {'min':>7} {'max':>7} {'import+event median':>20}")
    medians = {}
    for name, runs in results.items():
        walls, inside = [wall for wall, _ in runs], [own for _, own in runs]
        medians[name] = (statistics.median(walls), statistics.median(inside))
        print(f"  {name:38} {medians[name][0]:14.1f} {min(walls):7.1f} {max(walls):7.1f} {medians[name][1]:20.1f}")
    ours, base = medians["ours: lambda_handler + /health"], medians["baseline: FastAPI + Mangum, 1 route"]
    print(f"  ratio ours / baseline: whole process {ours[0] / base[0]:.2f}, import + first event {ours[1] / base[1]:.2f} (target <= 1.3)")
    if imports is not None:
        rows, total = imports
        print(f"\nheaviest imports of lambda_handler (python -X importtime; lambda_handler in total: {total / 1000:.1f} ms):")
        print(f"  {'cumulative ms':>13} {'self ms':>8}  module")
        for self_us, cumulative_us, name in rows:
            print(f"  {cumulative_us / 1000:13.1f} {self_us / 1000:8.1f}  {name}")


if __name__ == "__main__":
    main()
