"""Real servers for tests that talk HTTP: the app under uvicorn, and static files, each in a thread on a free port.

Both bind their socket before they start (no race for the port) and stop within bounded time. The static site
can also play the user's mailbox: GET /inbox?email=<address> answers {"link": ...}, the verification link the
newest email to that address carries (what a person would click), or 404.
"""

from __future__ import annotations

import functools
import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import uvicorn

STATIC = Path(__file__).resolve().parent / "static"


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


class LiveApp:
    """`app` served by uvicorn on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, app: Any, *, start_timeout: float = 30.0) -> None:
        self._socket = _listening_socket()
        self.port = int(self._socket.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, name="uvicorn", daemon=True)
        self._start_timeout = start_timeout

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on {self.url} within {self._start_timeout:.0f}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()


Inbox = Callable[[str], str | None]  # an email address -> the verification link of its newest email, if any


class _QuietHandler(SimpleHTTPRequestHandler):
    inbox: Inbox | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/inbox" or self.inbox is None:
            super().do_GET()
            return
        link = self.inbox(parse_qs(url.query).get("email", [""])[0])
        body = json.dumps({"link": link}).encode()
        self.send_response(200 if link else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class StaticSite:
    """`directory` served at http://localhost:<free port> (its own origin) from a background thread; `inbox` adds /inbox."""

    def __init__(self, directory: Path = STATIC, *, inbox: Inbox | None = None) -> None:
        handler = type("_Handler", (_QuietHandler,), {"inbox": staticmethod(inbox) if inbox else None})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(directory)))
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.origin = f"http://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="static", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.stop()
