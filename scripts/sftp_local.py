#!/usr/bin/env python3
"""Run the local SFTP server that stands in for the bank (tools/sftp/server.py), like dynamodb_local.py does DynamoDB.

    python scripts/sftp_local.py run --root DIR --port 2222 --username U --password P [--host-key PATH] [--authorized-keys PATH]
    python scripts/sftp_local.py wait --port 2222   # block until it answers with an SSH banner
    python scripts/sftp_local.py free-port          # print a free TCP port

Used by the test fixtures (tests/support/sftp.py). It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tools" / "sftp" / "server.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ssh(port: int) -> bool:
    """Whether something on 127.0.0.1:port greets like an SSH server (its version line)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            return sock.recv(8).startswith(b"SSH-")
    except OSError:
        return False


def wait_until_ready(port: int, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the SFTP server exited with {process.returncode} before answering on port {port}")
        if answers_ssh(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"the SFTP server did not answer on port {port} within {timeout:.0f}s")


def command(*, root: Path, port: int, username: str, password: str, host_key: Path | None = None, **extra: str | None) -> list[str]:
    """The server's command line; `extra` adds options by name (authorized_keys=..., fault=...). Values are joined to
    their option with "=", so one that starts with "-" (a random password can) is never read as an option."""
    line = [sys.executable, str(SERVER), f"--root={root}", f"--port={port}", f"--username={username}", f"--password={password}"]
    if host_key is not None:
        line.append(f"--host-key={host_key}")
    for name, value in extra.items():
        if value is not None:
            line.append(f"--{name.replace('_', '-')}={value}")
    return line


def start(
    *, root: Path, port: int, username: str, password: str, host_key: Path | None = None, **extra: str | None
) -> subprocess.Popen[bytes]:
    """Start the server in the background (the options of command()) and wait until it answers."""
    line = command(root=root, port=port, username=username, password=password, host_key=host_key, **extra)
    process = subprocess.Popen(line, stdout=subprocess.DEVNULL)
    try:
        wait_until_ready(port, process=process)
    except (TimeoutError, RuntimeError):
        process.kill()
        process.wait()
        raise
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run")
    run.add_argument("--root", type=Path, required=True)
    run.add_argument("--port", type=int, default=2222)
    run.add_argument("--username", required=True)
    run.add_argument("--password", required=True)
    run.add_argument("--host-key", type=Path, default=None)
    run.add_argument("--authorized-keys", default=None)
    wait = sub.add_parser("wait")
    wait.add_argument("--port", type=int, required=True)
    sub.add_parser("free-port")
    args = parser.parse_args()
    if args.action == "wait":
        wait_until_ready(args.port)
        return
    if args.action == "free-port":
        print(free_port())
        return
    line = command(
        root=args.root,
        port=args.port,
        username=args.username,
        password=args.password,
        host_key=args.host_key,
        authorized_keys=args.authorized_keys,
    )
    os.execv(sys.executable, line)  # noqa: S606 - our own server, with our interpreter


if __name__ == "__main__":
    main()
