#!/usr/bin/env python3
"""Max memory of the API's Lambda handler under scripts/bench.py's mixed workload (issue 19, item 7).

Run by scripts/bench_lambda.py as a fresh process (`python scripts/bench_memory.py SEED.json SECONDS`), with the
app's environment: it imports only the workload driver (scripts/bench_workload.py, httpx) and then
`lambda_handler`, serves the mixed workload one request at a time through `lambda_handler.handler`
with API Gateway HTTP API (v2) events, as one Lambda execution environment would, and prints one JSON
line: the peak RSS (VmHWM) before importing lambda_handler, after init, and at the end (KiB), and
resource.getrusage's ru_maxrss, with request counts.
No uvicorn, no floor code, no boto3 in this process.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_workload import WEIGHTS, SeedData, Workload  # noqa: E402


def api_gateway_event(method: str, path: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as the `live` alias receives it."""
    parts = urlsplit(path)
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": {name.lower(): value for name, value in {"host": "api.example.com", "user-agent": "bench", **headers}.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": parts.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "body": body,
        "isBase64Encoded": False,
    }


@dataclass
class HandlerResponse:
    """What bench_workload.Workload reads of an httpx.Response (and scripts/lambda_http.py writes back over HTTP)."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return json.loads(self.text)


class HandlerClient:
    """`request(method, path, content=, headers=)` (httpx.Client's, as Workload calls it) served by a Lambda handler in-process."""

    def __init__(self, handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> None:
        self.handler = handler
        self.context = SimpleNamespace(
            aws_request_id="bench", function_name="api", memory_limit_in_mb=1024, get_remaining_time_in_millis=lambda: 29_000
        )

    def request(self, method: str, path: str, content: str | None = None, headers: dict[str, str] | None = None) -> HandlerResponse:
        result = self.handler(api_gateway_event(method, path, headers or {}, content), self.context)
        headers_out = {name.lower(): value for name, value in result.get("headers", {}).items()}
        body = result.get("body") or ""
        content = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
        return HandlerResponse(result["statusCode"], headers_out, content)


def quiet_access_log(path: str = os.devnull) -> None:
    """The app's JSON lines still get formatted and written (as CloudWatch would take them), to `path`."""
    for handler in logging.getLogger("app").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(path, "w"))  # noqa: SIM115 - for the life of the process


def peak_kib() -> int:
    """This process's peak RSS: VmHWM (/proc/self/status), which starts afresh at exec.

    resource.getrusage's ru_maxrss is printed too, but on Linux it keeps the parent's peak across
    fork + exec, so in a child of a big process it reports the parent's size until it outgrows it.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def replay(data: SeedData, seconds: float) -> dict[str, Any]:
    baseline_kib = peak_kib()
    import lambda_handler

    handler = lambda_handler.handler
    quiet_access_log()
    after_init_kib = peak_kib()
    workload = Workload("", data, 4242)
    client = HandlerClient(handler)
    rng = random.Random(4242)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        workload._one(client, rng)  # type: ignore[arg-type]  # the workload's own request mix, one at a time
    samples = workload.samples
    return {
        "baseline_kib": baseline_kib,
        "after_init_kib": after_init_kib,
        "max_kib": peak_kib(),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "requests": len(samples),
        "errors": sum(1 for s in samples if not (200 <= s.status < 400) and not s.provoked),
        "by_operation": {operation: sum(1 for s in samples if s.operation == operation) for operation in WEIGHTS},
        "failures": workload.failures[:5],
    }


def replay_in_fresh_process(env: dict[str, str], data: SeedData, seconds: float) -> dict[str, Any]:
    """Run this file in a new interpreter with `env`; its result."""
    seed_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-memory-{uuid.uuid4().hex}.json"
    seed_file.write_text(json.dumps(asdict(data)))
    try:
        output = subprocess.run(
            [sys.executable, __file__, str(seed_file), str(seconds)], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    finally:
        seed_file.unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    raw = json.loads(Path(sys.argv[1]).read_text())
    data = SeedData(
        **{
            name: [tuple(v) if isinstance(v, list) else v for v in value] if isinstance(value, list) else value
            for name, value in raw.items()
        }
    )
    print(json.dumps(replay(data, float(sys.argv[2]))))


if __name__ == "__main__":
    main()
