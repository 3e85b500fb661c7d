"""The consumer's failure modes without a provider: a table out of reach retries the record; other records are skipped."""

from __future__ import annotations

from app.config import Settings
from app.db.attributes import serialize
from app.db.client import ClientTimeouts, make_client
from app.db.dynamo import Dynamo
from app.notifications.render import RenderedEmail
from app.notifications.stream import event_of, handle_records
from tests.support.clock import FakeClock


class NeverCalled:
    def send(self, *, to: str, email: RenderedEmail) -> str:
        raise AssertionError("nothing should be sent")


def record(sequence: str, name: str = "INSERT", **image: object) -> dict[str, object]:
    return {"eventName": name, "dynamodb": {"SequenceNumber": sequence, "NewImage": {k: serialize(v) for k, v in image.items()}}}


def test_only_inserted_audit_events_are_events() -> None:
    assert event_of(record("1", entity="event", eventId="e1", type="created")) == {"entity": "event", "eventId": "e1", "type": "created"}
    assert event_of(record("2", name="MODIFY", entity="event", eventId="e1")) is None
    assert event_of(record("3", entity="loan", eventId="e1")) is None
    assert event_of({"eventName": "INSERT", "dynamodb": {"SequenceNumber": "4"}}) is None


def test_a_table_out_of_reach_reports_the_record_for_retry(settings: Settings) -> None:
    unreachable = make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9", timeouts=ClientTimeouts(0.2, 0.2, 1))
    db = Dynamo(unreachable, "nowhere", b"x" * 32)
    records = [
        record("10", entity="loan"),  # not an event: skipped, counted as handled
        record("11", entity="event", eventId="e2", type="created", loanId="01a20c9b-44c0-77bc-85dd-684018abd5b7"),
        record("12", entity="event", eventId="e3", type="declined", loanId="01a20c9b-44c0-77bc-85dd-684018abd5b7"),
    ]
    result = handle_records(records, db=db, sender=NeverCalled(), settings=settings, clock=FakeClock(), request_id="t")
    assert (result.handled, result.sent, result.failed_sequence_number) == (1, 0, "11")
