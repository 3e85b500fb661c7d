"""The jobs role (terraform/jobs.tf) grants every DynamoDB call the three ACH jobs make, recorded over a story that
sends micro-deposits, reads a return, settles the rest, and finishes a file a crashed run left; and no job Scans."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from app.db.dynamo import Dynamo
from tests.factories import a_user
from tests.jobs.recording import Recorder
from tests.jobs.test_expiry import TABLE_ARN, jobs_role_dynamodb_grants
from tests.payments.test_rail import bank_step, job, rail_app, register
from tests.support.sftp import Bank

__all__ = ["rail_app"]  # the fixture of test_rail.py, over this test's SFTP folders


def test_the_jobs_role_grants_what_the_ach_jobs_call(rail_app: FastAPI, bank: Bank, tmp_path: Path) -> None:
    db: Dynamo = rail_app.state.resources.db
    user = a_user(rail_app)
    register(rail_app, user, "000123456789")
    register(rail_app, user, "1111111111")  # its offsetting debit comes back R01
    recorder = Recorder()
    with recorder.recording(db.client):
        job(rail_app, "ach_send")
        bank_step(bank, rail_app, tmp_path)
        job(rail_app, "ach_receive")
        rail_app.state.clock.advance(days=4)
        job(rail_app, "ach_settle")
        job(rail_app, "ach_send")
    granted = jobs_role_dynamodb_grants()
    called = recorder.actions(TABLE_ARN)
    assert called <= granted, called - granted
    assert ("dynamodb:BatchGetItem", TABLE_ARN) in called
    assert "Scan" not in {name for name, _ in recorder.requests}
