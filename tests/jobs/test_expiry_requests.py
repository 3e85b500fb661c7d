"""The expiry job's DynamoDB requests, measured on 100 due loans among 1,000: one Query per shard of the deadline index
(plus one per extra page) and one TransactWriteItems per due loan; the 900 loans not yet due are neither read nor
written. (Its own module: its thousand loans would be due in another test's table.)"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from app.clock import iso
from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import FUNDING_SHARDS, PENDING, deadline_partition
from app.db.metrics import counting_requests
from app.db.table import DEADLINE_INDEX, DEADLINE_PARTITION
from app.jobs import expiry
from app.loans.funding_service import ExpiryReport
from tests.jobs.helpers import seed_loans
from tests.jobs.recording import Recorder
from tests.support.clock import FakeClock

DUE, NOT_DUE = 100, 900


def still_indexed(db: Dynamo) -> list[dict[str, Any]]:
    """Every loan still in the deadline index (read after the measured run)."""
    return [
        item
        for shard in range(FUNDING_SHARDS)
        for item in db.query_all(
            Expression("#shard = :shard", names={"#shard": DEADLINE_PARTITION}, values={":shard": deadline_partition(shard)}),
            index=DEADLINE_INDEX,
        )
    ]


def test_100_due_among_1000_cost_a_query_per_shard_and_a_transaction_per_due_loan(
    db: Dynamo, ddb_client: Any, table_name: str, clock: FakeClock, record_property: Any, settings: Settings
) -> None:
    # Given 100 loans due (the newest exactly now) and 900 due from one second after now
    now = clock.now()
    deadlines = [iso(now - timedelta(minutes=i)) for i in range(DUE)] + [iso(now + timedelta(seconds=1 + i)) for i in range(NOT_DUE)]
    ids = seed_loans(ddb_client, table_name, deadlines, clock=clock)
    due, not_due = set(ids[:DUE]), set(ids[DUE:])
    assert len({int(loan_id.replace("-", "")[-8:], 16) % FUNDING_SHARDS for loan_id in ids}) == FUNDING_SHARDS

    # When the job runs, every request counted and recorded
    recorder = Recorder()
    with recorder.recording(db.client), counting_requests() as counter:
        report = expiry.run(db=db, clock=clock, settings=settings, request_id="measured-expiry-run")

    # Then one Query per shard (plus one per extra page: none, 100 loans are far below 1 MB) and one transaction per loan
    assert report == ExpiryReport(due=DUE, expired=DUE)
    extra_pages = sum(1 for response in recorder.query_responses if response.get("LastEvaluatedKey"))
    calls = Counter(counter.calls)
    record_property("dynamodb_requests", dict(calls))
    assert calls == {"Query": FUNDING_SHARDS + extra_pages, "TransactWriteItems": DUE}
    assert extra_pages == 0
    queries = [params for name, params in recorder.requests if name == "Query"]
    assert {params["IndexName"] for params in queries} == {DEADLINE_INDEX}
    values = [value.get("S", "") for params in queries for value in params["ExpressionAttributeValues"].values()]
    shards = [value for value in values if value.startswith(PENDING)]
    assert sorted(shards) == [deadline_partition(shard) for shard in range(FUNDING_SHARDS)]
    # ... the Queries read only the due loans, and the transactions wrote only theirs
    assert sum(response["ScannedCount"] for response in recorder.query_responses) == DUE
    assert recorder.loans_written() == due

    # And the 900 others are as they were: pending, first version, still in the index
    remaining = still_indexed(db)
    assert {item["loanId"] for item in remaining} == not_due
    assert {(item["status"], item["version"]) for item in remaining} == {("pending", 1)}
