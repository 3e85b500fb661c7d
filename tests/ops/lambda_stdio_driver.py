"""Run in a fresh interpreter by the deploy rehearsal: import lambda_handler (a cold start, settings
from the environment) and answer API Gateway HTTP API v2 events, one JSON event per stdin line, one
"RESULT <json>" line per event on stdout (other stdout lines, e.g. logs, are ignored by the reader).

    python tests/ops/lambda_stdio_driver.py < events.jsonl
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

    for line in sys.stdin:
        if line.strip():
            result = lambda_handler.handler(json.loads(line), FakeContext())
            sys.stdout.write("RESULT " + json.dumps(result) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
