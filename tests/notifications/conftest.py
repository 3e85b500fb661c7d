"""Email tests run the real pipeline: the API writes -> the table's stream on DynamoDB Local -> the worker's
drain (app/worker.py) -> a real SMTP server in this process (aiosmtpd), whose received messages we read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.streams import StreamReader, latest_stream_arn, streams_client
from app.worker import drain
from tests.conftest import make_settings
from tests.support.clock import FakeClock
from tests.support.smtp import Inbox, Received, SmtpServer

__all__ = ["Inbox", "Received"]

APP_URL = "https://app.example.com"

pytestmark = pytest.mark.dynamodb_local


@pytest.fixture
def inbox(smtp: SmtpServer) -> Iterator[Inbox]:
    if smtp.controller is None:
        smtp.start()
    smtp.inbox.take()
    yield smtp.inbox


@pytest.fixture
def settings(endpoint_url: str, table_name: str, smtp: SmtpServer) -> Settings:
    return make_settings(endpoint_url, table_name, smtp_host="127.0.0.1", smtp_port=smtp.port, app_base_url=APP_URL, smtp_timeout_seconds=2)


@dataclass
class Pipeline:
    """The worker's outbox consumer over this module's table: `run()` delivers everything new on the stream."""

    reader: StreamReader
    db: Dynamo
    clock: FakeClock
    settings: Settings

    def run(self) -> bool:
        return drain(self.reader, db=self.db, clock=self.clock, settings=self.settings)


@pytest.fixture(scope="module")
def stream_reader(endpoint_url: str, table_name: str, ddb_client: Any) -> StreamReader:
    arn = latest_stream_arn(ddb_client, table_name)
    assert arn, "the test table has no stream"
    return StreamReader(streams_client(region="us-east-1", endpoint_url=endpoint_url), arn)


@pytest.fixture
def pipeline(stream_reader: StreamReader, db: Dynamo, clock: FakeClock, settings: Settings, inbox: Inbox) -> Pipeline:
    """Starts caught up: whatever earlier tests of the module left on the stream is delivered and discarded first."""
    ready = Pipeline(reader=stream_reader, db=db, clock=clock, settings=settings)
    ready.run()
    inbox.take()
    return ready
