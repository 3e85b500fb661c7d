"""Where the tests' DynamoDB lives: DynamoDB Local (default) or moto (TEST_BACKEND=moto)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def backend_name() -> str:
    return os.environ.get("TEST_BACKEND", "dynamodb-local")


def _dynamodb_local_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("dynamodb_local", ROOT / "scripts" / "dynamodb_local.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def dynamodb_endpoint() -> Iterator[str]:
    """An endpoint URL for the whole session: the one in the environment, or one started here."""
    if os.environ.get("DYNAMODB_ENDPOINT_URL"):
        yield os.environ["DYNAMODB_ENDPOINT_URL"]
        return
    if backend_name() == "moto":
        from moto.server import ThreadedMotoServer

        local = _dynamodb_local_module()
        port = local.free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()
        return
    local = _dynamodb_local_module()
    port = local.free_port()
    process = local.start(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
