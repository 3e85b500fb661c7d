"""`python -m app.worker`: --once runs every job and exits 0 (1 if one failed); the loop stops cleanly on SIGTERM.

The processes get this test's DynamoDB Local and table through the environment, as dev.sh gives them; they run on
the real clock, so their loans were made two days ago on the test's clock (tests/jobs/helpers.loan_already_due)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import worker
from app.config import Settings, get_settings
from app.db.dynamo import Dynamo
from app.db.keys import loan_key
from tests.jobs.helpers import PYTHON, loan_already_due, subprocess_env
from tests.support.clock import FakeClock
from tests.support.smtp import SmtpServer


def mail_env(smtp: SmtpServer) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port)}


def status_of(db: Dynamo, loan: dict[str, Any]) -> str:
    stored = db.get(loan_key(loan["loanId"], loan["borrowerId"]))
    assert stored is not None
    return str(stored["status"])


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_once_expires_a_due_loan_and_exits_0(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, endpoint_url: str, table_name: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    loan, _, _ = loan_already_due(app, client, clock)
    assert status_of(db, loan) == "pending"
    env = subprocess_env(endpoint_url, table_name, **mail_env(smtp))
    done = subprocess.run([PYTHON, "-m", "app.worker", "--once"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert status_of(db, loan) == "expired"
    (run,) = [line for line in lines(done.stdout) if line.get("event") == "expiry_run"]
    assert run["logger"] == "app.jobs" and run["expired"] >= 1 and run["request_id"].startswith("worker-")


def test_once_exits_1_when_a_job_fails(endpoint_url: str, table_name: str, tmp_path: Path) -> None:
    env = subprocess_env("http://127.0.0.1:9", table_name)  # nothing listens there: every request fails
    done = subprocess.run([PYTHON, "-m", "app.worker", "--once"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in lines(done.stdout) if line.get("event") == "job_failed"]
    # the ACH jobs that talk to the bank skip without the rail's settings (this environment has none) before any read
    unconfigured = sorted(line["job"] for line in lines(done.stdout) if line.get("event") == "ach_not_configured")
    assert unconfigured == ["ach_receive", "ach_send"]
    assert sorted(line["job"] for line in failed) == sorted(set(worker.JOBS) - set(unconfigured)) and all(
        "exception" in line for line in failed
    )
    assert [line for line in lines(done.stdout) if line.get("event") == "stream_failed"], done.stdout


def test_the_loop_runs_the_jobs_then_stops_cleanly_on_sigterm(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, endpoint_url: str, table_name: str, tmp_path: Path, smtp: SmtpServer
) -> None:
    loan, _, _ = loan_already_due(app, client, clock)
    env = subprocess_env(endpoint_url, table_name, WORKER_INTERVAL_SECONDS="3600", **mail_env(smtp))
    process = subprocess.Popen(
        [PYTHON, "-m", "app.worker"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(60, process.kill)  # a hung worker fails the test instead of hanging it
    watchdog.start()
    try:
        assert process.stdout is not None
        seen = []
        for line in process.stdout:  # the first run, then the worker waits an hour
            seen.append(line)
            if '"expiry_run"' in line:
                break
        assert status_of(db, loan) == "expired"
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, "".join(seen) + rest + errors
    assert [line["event"] for line in lines(rest)][-1] == "worker_stopped"


# --- in process (coverage of app/worker.py; the subprocesses above are the real thing) -----------------------


@pytest.fixture
def worker_env(monkeypatch: pytest.MonkeyPatch, endpoint_url: str, table_name: str, smtp: SmtpServer) -> Iterator[None]:
    for name, value in subprocess_env(endpoint_url, table_name, **mail_env(smtp)).items():
        if name in ("ENVIRONMENT", "DYNAMODB_ENDPOINT_URL", "TABLE_NAME", "JWT_SECRET", "SMTP_HOST", "SMTP_PORT"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("worker_env")
def test_main_once_in_process(app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock) -> None:
    loan, _, _ = loan_already_due(app, client, clock)
    assert worker.main(["--once"]) == 0
    assert status_of(db, loan) == "expired"


@pytest.mark.usefixtures("worker_env")
def test_serve_in_process_finishes_the_run_under_way_then_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[str] = []

    def job(**_: Any) -> Any:
        runs.append("ran")
        os.kill(os.getpid(), signal.SIGTERM)  # arrives mid-run: the run ends, then the loop
        raise RuntimeError("a failing job is logged, not fatal")

    monkeypatch.delitem(worker.JOBS, "expire-loans")
    monkeypatch.setitem(worker.JOBS, "stub", job)
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as for a background job of a script (dev.sh): it stays ignored
    try:
        assert worker.main(["--interval", "3600"]) == 0
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    assert runs == ["ran"]


def test_interval_comes_from_the_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_INTERVAL_SECONDS", "15")
    assert Settings(_env_file=None).worker_interval_seconds == 15  # type: ignore[call-arg]
    assert worker.parse_args(["--interval", "2.5"]).interval == 2.5
    with pytest.raises(SystemExit):
        worker.parse_args(["--interval", "0"])
