"""The done criterion of the rail, as a person sees it on ./scripts/dev.sh: the same processes (a real SFTP server
for the bank, the bank simulator with its page, and `python -m app.worker` running the ACH jobs), a user who
registers a bank account, reads its micro-deposits on the simulator's page (/accounts.json), and verifies it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from scripts import sftp_local
from tests.conftest import make_settings
from tests.factories import a_user
from tests.jobs.helpers import PYTHON, ROOT, subprocess_env
from tests.support.smtp import SmtpServer

USERNAME, PASSWORD = "lending", "dev-rail-test-password"
ACCOUNT = "000987654321"
ACH_ENV = {"ACH_ODFI_ROUTING": "091000019", "ACH_COMPANY_ID": "1234567890", "ACH_COMPANY_NAME": "LENDING DEV"}


def _wait_for(what: str, check: Any, seconds: float = 60) -> Any:
    """Poll a process that works on its own clock (the worker's interval, the simulator's) until `check` answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {seconds} s")


@pytest.fixture
def dev_stack(endpoint_url: str, table_name: str, tmp_path: Path, smtp: SmtpServer) -> Iterator[dict[str, Any]]:
    """SFTP server, bank simulator and worker, started as dev.sh starts them, stopped after the test."""
    root, sftp_port, bank_port = tmp_path / "sftp", sftp_local.free_port(), sftp_local.free_port()
    root.mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sftp = [
            PYTHON,
            "scripts/sftp_local.py",
            "run",
            "--root",
            str(root),
            "--port",
            str(sftp_port),
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
        ]
        processes.append(subprocess.Popen(sftp, cwd=ROOT))
        subprocess.run([PYTHON, "scripts/sftp_local.py", "wait", "--port", str(sftp_port)], cwd=ROOT, check=True, timeout=60)
        simulator = [
            PYTHON,
            "tools/bank_simulator/simulator.py",
            "--root",
            str(root),
            "--state",
            str(tmp_path / "bank"),
            "--port",
            str(bank_port),
            "--interval",
            "0.5",
        ]
        processes.append(subprocess.Popen(simulator, cwd=ROOT, stdout=subprocess.DEVNULL))
        settings = make_settings(endpoint_url, table_name)
        rail = {
            **ACH_ENV,
            "ACH_SFTP_HOST": "127.0.0.1",
            "ACH_SFTP_PORT": str(sftp_port),
            "ACH_SFTP_USERNAME": USERNAME,
            "ACH_SFTP_PASSWORD": PASSWORD,
            "ACH_ARCHIVE_DIR": str(tmp_path / "archive"),
            "ACH_LOCAL_KEY": settings.ach_local_key or "",
        }
        worker_env = subprocess_env(
            endpoint_url, table_name, WORKER_INTERVAL_SECONDS="1", SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp.port), **rail
        )
        processes.append(subprocess.Popen([PYTHON, "-m", "app.worker"], cwd=tmp_path, env=worker_env, stdout=subprocess.DEVNULL))
        app = create_app(settings.model_copy(update={"jwt_secret": worker_env["JWT_SECRET"]}))
        yield {"app": app, "page": f"http://127.0.0.1:{bank_port}/accounts.json"}
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_a_person_verifies_a_bank_account_with_the_micro_deposits_the_simulator_posted(dev_stack: dict[str, Any]) -> None:
    app = dev_stack["app"]
    client = TestClient(app)
    user = a_user(app)
    details = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021", "accountNumber": ACCOUNT}
    created = client.post("/bank-accounts", json=details, headers=user.headers)
    assert created.status_code == 201 and created.json()["status"] == "pending_verification", created.text
    account_id = created.json()["bankAccountId"]

    def posted() -> list[str]:
        with urllib.request.urlopen(dev_stack["page"], timeout=5) as answer:  # noqa: S310 - the simulator on loopback
            accounts = json.load(answer)["accounts"]
        return next((a["microDeposits"] for a in accounts if a["accountNumber"] == ACCOUNT and len(a["microDeposits"]) == 2), [])

    amounts = _wait_for("two micro-deposits on the simulator's page", posted)
    verified = client.post(f"/bank-accounts/{account_id}/verify", json={"amounts": [float(a) for a in amounts]}, headers=user.headers)
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified" and verified.json()["verifiedAt"] is not None
