#!/usr/bin/env python3
"""Cold start: import lambda_handler and answer a first API Gateway /health event, in fresh interpreters.

    python scripts/coldstart.py [--runs 15] [--importtime]

Compares, over N fresh processes each: ours (import + first /health event against an in-memory
DynamoDB Local this script starts), a bare baseline (FastAPI app with one route under Mangum, nothing
else imported) and `python -c pass`. Prints the medians and the ratio ours / baseline. --importtime
also prints the ten slowest imports of lambda_handler (python -X importtime).
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

OURS = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import lambda_handler
event = json.load(open({str(EVENT)!r}))
result = lambda_handler.handler(event, None)
assert result["statusCode"] == 200, result
"""

BASELINE = f"""
import json
from fastapi import FastAPI
from mangum import Mangum
app = FastAPI()
@app.get("/health")
def health():
    return {{"status": "ok"}}
handler = Mangum(app, lifespan="off")
event = json.load(open({str(EVENT)!r}))
result = handler(event, None)
assert result["statusCode"] == 200, result
"""


def timed_runs(code: str, runs: int, env: dict[str, str]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL)
        times.append((time.perf_counter() - started) * 1000)
    return times


def slowest_imports(env: dict[str, str], top: int = 10) -> list[tuple[int, str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); import lambda_handler"],
        capture_output=True, text=True, env=env, check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append((int(cumulative_us), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("--runs must be at least 10")

    import scripts.dynamodb_local as local  # noqa: PLC0415
    from app.db.dynamo import make_client  # noqa: PLC0415
    from app.db.schema_admin import ensure_table  # noqa: PLC0415

    port = local.free_port()
    ddb = local.start(port)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        ensure_table(make_client(region="us-east-1", endpoint_url=endpoint), "coldstart")
        env = {**os.environ, "DYNAMODB_ENDPOINT_URL": endpoint, "TABLE_NAME": "coldstart", "ENVIRONMENT": "dev", "LOG_LEVEL": "WARNING"}
        results = {
            "python -c pass": timed_runs("pass", args.runs, env),
            "baseline: FastAPI + Mangum, 1 route": timed_runs(BASELINE, args.runs, env),
            "ours: import lambda_handler + /health": timed_runs(OURS, args.runs, env),
        }
        if args.importtime:
            print("slowest imports of lambda_handler (cumulative us):")
            for micros, name in slowest_imports(env):
                print(f"  {micros:>9}  {name}")
    finally:
        ddb.terminate()
        ddb.wait(timeout=10)

    print(f"cold start over {args.runs} fresh processes each (ms):")
    print(f"  {'':40} {'median':>8} {'min':>8} {'max':>8}")
    for name, times in results.items():
        print(f"  {name:40} {statistics.median(times):8.1f} {min(times):8.1f} {max(times):8.1f}")
    ours = statistics.median(results["ours: import lambda_handler + /health"])
    base = statistics.median(results["baseline: FastAPI + Mangum, 1 route"])
    print(f"  ratio ours / baseline: {ours / base:.2f}")


if __name__ == "__main__":
    main()
