"""lambda_handler.scheduled_handler, in a fresh interpreter as a cold Lambda runs it: {"job": "expire-loans"} expires a
due loan and answers a small summary; an unknown job raises, so the invocation fails and the alarm fires."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.keys import loan_key
from app.jobs import UnknownJob, run_job
from tests.jobs.helpers import PYTHON, loan_already_due, subprocess_env
from tests.support.clock import FakeClock

INVOKE = """
import json, sys
import lambda_handler

class Context:
    aws_request_id = "lambda-request-7"

print("RESULT " + json.dumps(lambda_handler.scheduled_handler(json.loads(sys.argv[1]), Context())))
"""


def invoke(event: Any, endpoint_url: str, table_name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(endpoint_url, table_name)
    return subprocess.run([PYTHON, "-c", INVOKE, json.dumps(event)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_expiry_job_expires_a_due_loan(
    app: FastAPI, client: TestClient, db: Dynamo, clock: FakeClock, endpoint_url: str, table_name: str, tmp_path: Path
) -> None:
    loan, borrower, _ = loan_already_due(app, client, clock)
    done = invoke({"job": "expire-loans"}, endpoint_url, table_name, tmp_path)
    assert done.returncode == 0, done.stderr
    (result,) = [json.loads(line.removeprefix("RESULT ")) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert result == {"job": "expire-loans", "due": 1, "expired": 1}
    stored = db.get(loan_key(loan["loanId"], borrower.user_id))
    assert stored is not None and stored["status"] == "expired"
    (logged,) = [json.loads(line) for line in done.stdout.splitlines() if '"expiry_run"' in line]
    assert logged["request_id"] == "lambda-request-7", "the run's log line carries the Lambda request id"


def test_an_unknown_job_raises(endpoint_url: str, table_name: str, tmp_path: Path) -> None:
    for event in ({"job": "send-spam"}, {}, ["expire-loans"]):
        done = invoke(event, endpoint_url, table_name, tmp_path)
        assert done.returncode != 0 and "RESULT" not in done.stdout
        assert "app.jobs.UnknownJob: unknown job" in done.stderr and "expire-loans" in done.stderr, done.stderr


def test_run_job_refuses_a_name_it_does_not_have(db: Dynamo, clock: FakeClock, settings: Settings) -> None:
    for name in ("send-spam", None, ["expire-loans"]):
        with pytest.raises(UnknownJob, match=r"known jobs: .*expire-loans"):
            run_job(name, db=db, clock=clock, settings=settings, request_id="unknown-job")
