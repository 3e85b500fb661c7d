#!/usr/bin/env python3
"""HTTP in front of the Lambda handler, one request at a time, as `sam local` or the runtime interface emulator serve it.

    .venv/bin/python scripts/lambda_http.py --port 9000          # the API: each request becomes an
                                                                 # API Gateway HTTP API (v2) event for lambda_handler.handler
    .venv/bin/python scripts/lambda_http.py --port 9001 --bare   # the same server answering {} itself

scripts/bench_lambda.py times the API over HTTP through this server (the Lambda execution model: one
request at a time, the endpoint on the event loop, nothing in a worker thread) beside the same
requests to `--bare` (what this server's HTTP round trip costs with nothing behind it). A single
thread serves one keep-alive connection at a time, like one execution environment. The app's
settings come from the environment (bench_lambda.py passes bench.app_env); its JSON access lines go
to stdout. Not a production server: the standard library's http.server, for measurements.
"""

from __future__ import annotations

import argparse
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_memory import HandlerClient  # noqa: E402

BARE_BODY = b"{}"


def make_request_handler(invoke: HandlerClient | None) -> type[BaseHTTPRequestHandler]:
    class LambdaRequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway's clients use
        disable_nagle_algorithm = True  # headers and body are two writes

        def serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if invoke is None:
                status, headers, payload = 200, {"content-type": "application/json"}, BARE_BODY
            else:
                content = body.decode() if body else None
                response = invoke.request(self.command, self.path, content=content, headers=dict(self.headers.items()))
                status, headers, payload = response.status_code, response.headers, response.content
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = serve

        def log_message(self, format: str, *args: Any) -> None:
            """No per-request line from http.server: the app writes its own access line."""

    return LambdaRequestHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bare", action="store_true", help="answer {} without the handler")
    args = parser.parse_args()
    invoke = None
    if not args.bare:
        import lambda_handler

        invoke = HandlerClient(lambda_handler.handler)
    HTTPServer(("127.0.0.1", args.port), make_request_handler(invoke)).serve_forever()


if __name__ == "__main__":
    main()
