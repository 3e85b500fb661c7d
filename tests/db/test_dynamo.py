"""The data layer on the real engine: conditions, transactions, pagination, cursors, Decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.config import Settings
from app.db.client import make_client
from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed, DatabaseUnavailable, InvalidCursor, TransactionCancelled
from app.db.expressions import Expression, tx_check, tx_put, tx_update
from app.db.keys import loan_partition
from app.db.table import GSI1_NAME
from tests.support.old_cursors import app_cursor_secret, old_format

NOT_EXISTS = Expression("attribute_not_exists(PK)")


def item(pk: str, sk: str, **attrs: object) -> dict[str, object]:
    return {"PK": pk, "SK": sk, **attrs}


def by_partition(pk: str) -> Expression:
    return Expression("PK = :pk", values={":pk": pk})


def test_conditional_put_conflict_is_our_error(db: Dynamo) -> None:
    db.put(item("C#1", "C#1", n=1), condition=NOT_EXISTS)
    with pytest.raises(ConditionFailed) as failure:
        db.put(item("C#1", "C#1", n=2), condition=NOT_EXISTS, return_old_on_failure=True)
    assert failure.value.item is not None and failure.value.item["n"] == 1
    assert db.get({"PK": "C#1", "SK": "C#1"}) == item("C#1", "C#1", n=Decimal(1))


def test_failed_transaction_changes_nothing(db: Dynamo) -> None:
    db.put(item("T#1", "T#1", balance=Decimal("10.00")))
    db.put(item("T#3", "T#3", balance=Decimal("1.00")))
    operations = [
        tx_update({"PK": "T#1", "SK": "T#1"}, Expression("SET balance = balance + :d", values={":d": Decimal("5.05")})),
        tx_put(item("T#2", "T#2", note="new")),
        tx_check({"PK": "T#3", "SK": "T#3"}, Expression("balance > :big", values={":big": Decimal(100)})),
    ]
    with pytest.raises(TransactionCancelled) as failure:
        db.transact_write(operations)
    assert failure.value.failed(2) and not failure.value.failed(0)
    assert db.get({"PK": "T#1", "SK": "T#1"})["balance"] == Decimal("10.00")  # type: ignore[index]
    assert db.get({"PK": "T#2", "SK": "T#2"}) is None


def test_successful_transaction_applies_every_operation(db: Dynamo) -> None:
    db.transact_write([tx_put(item("S#1", "S#1", v=1)), tx_put(item("S#2", "S#2", v=2))])
    assert {i["PK"] for i in db.batch_get([{"PK": "S#1", "SK": "S#1"}, {"PK": "S#2", "SK": "S#2"}, {"PK": "S#3", "SK": "S#3"}])} == {
        "S#1",
        "S#2",
    }


def test_numbers_come_back_as_exact_decimals(db: Dynamo) -> None:
    db.put(item("N#1", "N#1", amount=Decimal("1000.10"), parts=[Decimal("600.05"), Decimal("400.05")]))
    stored = db.get({"PK": "N#1", "SK": "N#1"})
    assert stored is not None
    assert stored["amount"] == Decimal("1000.10") and isinstance(stored["amount"], Decimal)
    assert sum(stored["parts"]) == stored["amount"]


def test_floats_are_refused_before_reaching_the_table(db: Dynamo) -> None:
    with pytest.raises(TypeError):
        db.put(item("F#1", "F#1", amount=0.1))


def test_pagination_returns_each_item_exactly_once(db: Dynamo) -> None:
    partition = loan_partition("paged")
    for start in range(0, 250, 25):
        db.transact_write([tx_put(item(partition, f"I#{n:04d}", n=n)) for n in range(start, start + 25)])
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = db.query(by_partition(partition), limit=100, cursor=cursor)
        pages += 1
        seen.extend(int(i["n"]) for i in page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == list(range(250)) and len(seen) == 250
    assert pages == 3


def test_filtered_page_is_topped_up_to_the_limit(db: Dynamo) -> None:
    partition = loan_partition("filtered")
    db.transact_write([tx_put(item(partition, f"I#{n:03d}", even=n % 2 == 0)) for n in range(40)])
    page = db.query(by_partition(partition), where=Expression("even = :t", values={":t": True}), limit=15)
    assert len(page.items) == 15 and all(i["even"] for i in page.items)
    rest = db.query(by_partition(partition), where=Expression("even = :t", values={":t": True}), limit=15, cursor=page.next_cursor)
    assert {i["SK"] for i in page.items}.isdisjoint({i["SK"] for i in rest.items})
    assert len(page.items) + len(rest.items) == 20


@pytest.mark.parametrize("index", [None, GSI1_NAME])
def test_sparse_filter_pages_each_match_once_in_few_requests(db: Dynamo, index: str | None) -> None:
    # Given 300 items of which every 7th matches, in one table partition or one inverse-index partition
    tag = f"sparse-{index}"
    if index is None:
        rows = [item(loan_partition(tag), f"I#{n:03d}", n=n, hit=n % 7 == 0) for n in range(300)]
        key = by_partition(loan_partition(tag))
    else:
        rows = [item(f"LOAN#{tag}-{n:03d}", f"INVITE#{tag}", n=n, hit=n % 7 == 0) for n in range(300)]
        key = Expression("SK = :sk", values={":sk": f"INVITE#{tag}"})
    for first in range(0, 300, 100):
        db.transact_write([tx_put(row) for row in rows[first : first + 100]])
    hit = Expression("hit = :t", values={":t": True})
    seen: list[int] = []
    requests: list[str] = []
    db.client.meta.events.register("before-call.dynamodb.Query", lambda **_: requests.append("Query"))
    cursor: str | None = None
    while True:
        # When the matches are read 5 at a time
        page = db.query(key, index=index, where=hit, limit=5, cursor=cursor)
        assert len(page.items) <= 5
        seen += [int(i["n"]) for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    # Then every match comes exactly once, in order, and each page costs about one request
    assert seen == list(range(0, 300, 7))
    assert len(requests) <= 2 * (len(seen) // 5 + 1)


def test_newest_first_on_the_inverse_index(db: Dynamo) -> None:
    db.transact_write([tx_put(item(f"LOAN#{n}", "INVITE#a@example.com", n=n)) for n in range(3)])
    page = db.query(Expression("SK = :sk", values={":sk": "INVITE#a@example.com"}), index=GSI1_NAME, newest_first=True)
    assert [int(i["n"]) for i in page.items] == [2, 1, 0]


def test_tampered_cursor_is_rejected(db: Dynamo) -> None:
    partition = loan_partition("cursor")
    db.transact_write([tx_put(item(partition, f"I#{n}")) for n in range(3)])
    cursor = db.query(by_partition(partition), limit=1).next_cursor
    assert cursor is not None
    middle = len(cursor) // 2
    forged = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    for bad in (forged, cursor + "x", cursor[:-1], "garbage", "a.b.c", ""):
        with pytest.raises(InvalidCursor):
            db.query(by_partition(partition), limit=1, cursor=bad)


def test_cursor_is_bound_to_its_query(db: Dynamo) -> None:
    partition = loan_partition("bound")
    db.transact_write([tx_put(item(partition, f"I#{n}")) for n in range(3)])
    cursor = db.query(by_partition(partition), limit=1).next_cursor
    with pytest.raises(InvalidCursor):
        db.query(by_partition(loan_partition("someone-else")), limit=1, cursor=cursor)


def test_cursor_is_bound_to_its_caller(db: Dynamo) -> None:
    partition = loan_partition("shared")
    db.transact_write([tx_put(item(partition, f"I#{n}")) for n in range(3)])
    cursor = db.query(by_partition(partition), limit=1, caller="borrower").next_cursor
    assert cursor is not None
    second = db.query(by_partition(partition), limit=1, caller="borrower", cursor=cursor)
    assert [entry["SK"] for entry in second.items] == ["I#1"]
    for other in ("lender", None):
        with pytest.raises(InvalidCursor):
            db.query(by_partition(partition), limit=1, caller=other, cursor=cursor)


def test_a_cursor_of_the_old_format_for_the_same_query_is_refused(db: Dynamo, settings: Settings) -> None:
    """What the previous codec issued for this very query (readable key + HMAC, same secret) no longer opens."""
    partition = loan_partition("old-format")
    db.transact_write([tx_put(item(partition, f"I#{n}")) for n in range(3)])
    secret = app_cursor_secret(settings.jwt_secret)
    condition = by_partition(partition)
    scope = f"{db.table_name}|None|{condition.text}|{sorted(condition.values.items())}|"
    old = old_format(secret, scope, {"PK": {"S": partition}, "SK": {"S": "I#0"}})
    with pytest.raises(InvalidCursor):
        db.query(condition, limit=1, cursor=old)


def test_unreachable_endpoint_is_database_unavailable() -> None:
    dead = Dynamo(make_client(region="us-east-1", endpoint_url="http://127.0.0.1:9"), "nope", b"k")
    with pytest.raises(DatabaseUnavailable):
        dead.get({"PK": "x", "SK": "x"})


def test_missing_table_is_database_unavailable(db: Dynamo) -> None:
    missing = Dynamo(db.client, "no-such-table", b"k")
    with pytest.raises(DatabaseUnavailable):
        missing.get({"PK": "x", "SK": "x"})
