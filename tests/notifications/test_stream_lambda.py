"""lambda_handler.stream_handler as the notifications Lambda runs it: a fresh interpreter, a batch of real stream
records from DynamoDB Local, and SES v2 (EMAIL_BACKEND=ses) answered by moto, whose backend captures what was sent."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer
from moto.ses.models import ses_backends

from app.db.streams import StreamReader
from tests.factories import a_user
from tests.jobs.helpers import PYTHON, subprocess_env
from tests.loans.helpers import create_loan
from tests.support.smtp import free_port

pytestmark = pytest.mark.dynamodb_local

SENDER = "no-reply@lending.example"

INVOKE = """
import json, sys
import lambda_handler

class Context:
    aws_request_id = "stream-request-1"

print("RESULT " + json.dumps(lambda_handler.stream_handler(json.loads(sys.stdin.read()), Context())))
"""


@pytest.fixture(scope="module")
def ses_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def lambda_records(reader: StreamReader) -> list[dict[str, Any]]:
    """Every record of the stream from its start, shaped as the event source mapping delivers them."""
    records: list[dict[str, Any]] = []

    def keep(batch: list[dict[str, Any]]) -> None:
        for record in batch:
            data = record["dynamodb"]
            records.append(
                {
                    "eventID": record["eventID"],
                    "eventName": record["eventName"],
                    "eventSource": "aws:dynamodb",
                    "dynamodb": {k: data[k] for k in ("Keys", "NewImage", "SequenceNumber", "StreamViewType") if k in data},
                }
            )

    StreamReader(reader.client, reader.stream_arn).poll(lambda batch: keep(batch))  # type: ignore[func-returns-value]
    return records


def invoke(event: dict[str, Any], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    done = subprocess.run([PYTHON, "-c", INVOKE], input=json.dumps(event), env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (result,) = [json.loads(line.removeprefix("RESULT ")) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    return result  # type: ignore[no-any-return]


def lambda_env(endpoint_url: str, table_name: str, ses_endpoint: str) -> dict[str, str]:
    return subprocess_env(
        endpoint_url,
        table_name,
        EMAIL_BACKEND="ses",
        EMAIL_FROM=SENDER,
        SES_ENDPOINT_URL=ses_endpoint,
        APP_BASE_URL="https://app.example.com",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )


def test_a_batch_sends_through_ses_and_a_refused_send_is_reported_for_retry(
    app: FastAPI,
    client: TestClient,
    stream_reader: StreamReader,
    endpoint_url: str,
    table_name: str,
    ses_endpoint: str,
    settings: Any,
    tmp_path: Path,
) -> None:
    borrower = a_user(app)
    create_loan(client, borrower, [("ses-one@example.com", "70.00"), ("ses-two@example.com", "30.00")])
    event = {"Records": lambda_records(stream_reader)}
    env = lambda_env(endpoint_url, table_name, ses_endpoint)

    # SES refuses a sender that is not a verified identity: the invitation's record is reported, nothing is marked sent
    before = len(sent_messages())
    refused = invoke(event, env, tmp_path)
    created = next(r for r in event["Records"] if r["dynamodb"].get("NewImage", {}).get("type", {}).get("S") == "created")
    assert refused == {"batchItemFailures": [{"itemIdentifier": created["dynamodb"]["SequenceNumber"]}]}
    assert len(sent_messages()) == before

    # Once the identity is verified, the retried batch sends each invitation once; a third delivery sends nothing
    ses = boto3.client("sesv2", region_name="us-east-1", endpoint_url=ses_endpoint, aws_access_key_id="t", aws_secret_access_key="t")
    ses.create_email_identity(EmailIdentity=SENDER)
    assert invoke(event, env, tmp_path) == {"batchItemFailures": []}
    new = sent_messages()[before:]
    assert sorted(address for message in new for address in message.destinations["ToAddresses"]) == [
        "ses-one@example.com",
        "ses-two@example.com",
    ]
    assert all(message.source == SENDER for message in new)
    assert any("$70.00" in message.body for message in new)
    assert invoke(event, env, tmp_path) == {"batchItemFailures": []}
    assert len(sent_messages()) == before + 2
