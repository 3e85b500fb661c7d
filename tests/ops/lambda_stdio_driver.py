"""Run in a fresh interpreter by the deploy rehearsal: import lambda_handler (a cold start, settings
from the environment) and hand each event to one of its handlers: one JSON event per stdin line, one
"RESULT <json>" line per event on stdout (other stdout lines, e.g. logs, are ignored by the reader).

    python tests/ops/lambda_stdio_driver.py [handler] < events.jsonl

handler: `handler` (the API function: API Gateway HTTP API v2 events, the default) or `stream_handler`
(the notifications function: {"Records": [DynamoDB stream records]}) or `scheduled_handler` (the jobs
function: {"job": "<name>"}).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


class FakeContext:
    function_name = "lending-api"
    aws_request_id = "lambda-request-1"


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import lambda_handler

    name = sys.argv[1] if len(sys.argv) > 1 else "handler"
    if name not in {"handler", "stream_handler", "scheduled_handler"}:
        sys.exit(f"unknown handler {name!r}")
    handle = getattr(lambda_handler, name)
    for line in sys.stdin:
        if line.strip():
            result = handle(json.loads(line), FakeContext())
            sys.stdout.write("RESULT " + json.dumps(result) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
