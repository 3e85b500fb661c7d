"""Run in a fresh interpreter by the tests: import lambda_handler (cold) and answer API Gateway events.

    python tests/ops/lambda_driver.py EVENT.json [EVENT.json ...]   -> one "RESULT <json>" line per event
An event path may be followed by ':METHOD:PATH' to rewrite the request it carries.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


class FakeContext:
    function_name = "lending-api"
    aws_request_id = "lambda-request-1"


def rewrite(event: dict, method: str, path: str) -> dict:  # type: ignore[type-arg]
    if event.get("version") == "2.0":
        event["rawPath"] = path
        event["requestContext"]["http"].update(method=method, path=path)
    else:
        event["path"] = path
        event["httpMethod"] = method
    return event


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import lambda_handler

    for spec in sys.argv[1:]:
        file, _, rest = spec.partition(":")
        event = json.loads(Path(file).read_text())
        if rest:
            method, path = rest.split(":", 1)
            event = rewrite(event, method, path)
        sys.stdout.write("RESULT " + json.dumps(lambda_handler.handler(event, FakeContext())) + "\n")


if __name__ == "__main__":
    main()
