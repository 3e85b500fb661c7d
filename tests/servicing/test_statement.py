"""GET /loans/{loanId}/statement on DynamoDB Local, through the API: lines, totals, CSV, visibility, request budget.

The cast (tests/servicing/conftest.py): Bea borrows 1,000.00 at 12% over 12 months, activated 2026-01-31, funded
600/250/150 by Lou, Max and Ned. The loan below is paid off in four repayments on four days: one installment,
a partial payment, a prepayment, then the payoff amount read from GET payoff.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.servicing import statements
from tests.factories import TestUser
from tests.loans.helpers import error_code, exact
from tests.servicing.conftest import new_loan
from tests.servicing.test_access import pending_loan
from tests.servicing.test_repayments import move_clock, read, repay
from tests.support.clock import FakeClock

LENDERS = {"lou": D("600.00"), "max": D("250.00"), "ned": D("150.00")}
MONEY = ("amount", "principal", "interest", "balance")
TWO_PLACES = re.compile(r"^\d+\.\d\d$")


def statement(client: TestClient, user: TestUser, loan_id: str) -> Any:
    return read(client, user, f"/loans/{loan_id}/statement")


def csv_statement(client: TestClient, user: TestUser, loan_id: str, *, via: str = "format") -> Any:
    if via == "format":
        response = client.get(f"/loans/{loan_id}/statement", params={"format": "csv"}, headers=user.headers)
    else:
        response = client.get(f"/loans/{loan_id}/statement", headers={**user.headers, "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    return response


def assert_cents(value: Any) -> None:
    """Exactly two decimal places: a JSON number read as Decimal keeps its exponent (an int would mean none)."""
    assert isinstance(value, D) and value.as_tuple().exponent == -2, value


@pytest.fixture
def paid_off(app: FastAPI, clock: FakeClock, client: TestClient, people: dict[str, TestUser], loan_id: str) -> str:
    """The cast's loan, repaid in four repayments on four days (2026-02-20, 03-25, 04-10, 05-05)."""
    schedule = f"/loans/{loan_id}/schedule"
    for days, amount in ((20, "88.85"), (33, "50.00"), (16, "300.00")):
        move_clock(app, clock, people, days=days)
        before = read(client, people["bea"], schedule)["installments"]
        assert repay(client, people, loan_id, amount).status_code == 201
        after = read(client, people["bea"], schedule)["installments"]
        if amount == "50.00":  # less than installment 2: partial
            assert after[1]["status"] == "partial"
        if amount == "300.00":  # settles installments 2 and 3, then prepays: installment 4 carries less interest
            assert [i["status"] for i in after[1:3]] == ["paid", "paid"]
            assert after[3]["interest"] < before[3]["interest"]
    move_clock(app, clock, people, days=25)
    payoff = read(client, people["bea"], f"/loans/{loan_id}/payoff")["amount"]
    final = exact(repay(client, people, loan_id, str(payoff)))
    assert final["loanStatus"] == "repaid"
    return loan_id


def repayments_oldest_first(client: TestClient, user: TestUser, loan_id: str) -> list[dict[str, Any]]:
    return list(reversed(read(client, user, f"/loans/{loan_id}/repayments")["items"]))


def test_the_borrower_statement_balances_at_every_line_and_totals_the_repayments(
    client: TestClient, people: dict[str, TestUser], paid_off: str
) -> None:
    bea = people["bea"]
    mine = statement(client, bea, paid_off)
    repayments = repayments_oldest_first(client, bea, paid_off)
    assert len(repayments) == 4
    assert (mine["loanId"], mine["asOf"]) == (paid_off, "2026-05-05")

    opening, *lines = mine["lines"]
    assert opening == {
        "date": "2026-01-31",
        "type": "disbursement",
        "amount": D("1000.00"),
        "principal": D("1000.00"),
        "interest": D("0.00"),
        "balance": D("1000.00"),
    }
    assert [line["date"] for line in lines] == ["2026-02-20", "2026-03-25", "2026-04-10", "2026-05-05"]
    assert [(line["type"], line["amount"], line["principal"], line["interest"], line["balance"]) for line in lines] == [
        ("repayment", r["amount"], r["principal"], r["interest"], r["outstandingPrincipalAfter"]) for r in repayments
    ]
    repaid = D(0)
    for line in lines:
        repaid += line["principal"]
        assert line["balance"] == opening["amount"] - repaid
        assert line["amount"] == line["principal"] + line["interest"]
    assert mine["totalPrincipal"] == sum(r["principal"] for r in repayments) == D("1000.00")
    assert mine["totalInterest"] == sum(r["interest"] for r in repayments)
    assert mine["closingBalance"] == lines[-1]["balance"] == opening["balance"] - mine["totalPrincipal"] == 0
    for value in [mine["totalPrincipal"], mine["totalInterest"], mine["closingBalance"]] + [
        line[k] for line in mine["lines"] for k in MONEY
    ]:
        assert_cents(value)


@pytest.mark.parametrize("lender", list(LENDERS))
def test_a_lender_statement_is_their_own_distributions_down_to_zero(
    client: TestClient, people: dict[str, TestUser], paid_off: str, lender: str
) -> None:
    me = people[lender]
    mine = statement(client, me, paid_off)
    contribution = LENDERS[lender]
    # Their own distributions, as GET repayments shows them to this lender (theirs only)
    shares = [r["distributions"] for r in repayments_oldest_first(client, me, paid_off)]
    assert all(len(entry) == 1 and entry[0]["lenderId"] == me.user_id for entry in shares)
    own = [entry[0] for entry in shares]

    opening, *lines = mine["lines"]
    assert (opening["type"], opening["amount"], opening["principal"], opening["interest"], opening["balance"]) == (
        "disbursement",
        contribution,
        contribution,
        D("0.00"),
        contribution,
    )
    assert [(line["principal"], line["interest"], line["amount"]) for line in lines] == [
        (share["principal"], share["interest"], share["principal"] + share["interest"]) for share in own
    ]
    repaid = D(0)
    for line in lines:
        repaid += line["principal"]
        assert line["balance"] == contribution - repaid
    assert (mine["totalPrincipal"], mine["closingBalance"]) == (contribution, 0)
    assert mine["totalInterest"] == sum(share["interest"] for share in own)
    for value in [mine["totalPrincipal"], mine["totalInterest"], mine["closingBalance"]] + [
        line[k] for line in mine["lines"] for k in MONEY
    ]:
        assert_cents(value)
    # The borrower's lines are the loan's, not this lender's
    assert statement(client, people["bea"], paid_off)["lines"][0]["amount"] == D("1000.00")


def parsed_csv(response: Any) -> list[list[str]]:
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.endswith(b"\r\n") and b"\n" not in response.content.replace(b"\r\n", b"")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"), newline="")))


@pytest.mark.parametrize("who", ["bea", "lou", "ned"])
@pytest.mark.parametrize("via", ["format", "accept"])
def test_the_csv_carries_the_same_numbers_as_the_json(
    client: TestClient, people: dict[str, TestUser], paid_off: str, who: str, via: str
) -> None:
    user = people[who]
    response = csv_statement(client, user, paid_off, via=via)
    assert response.headers["content-disposition"] == f'attachment; filename="loan-{paid_off}-statement.csv"'
    header, *rows = parsed_csv(response)
    assert header == ["date", "type", "amount", "principal", "interest", "balance"]
    assert all(TWO_PLACES.fullmatch(cell) for row in rows for cell in row[2:]), rows
    lines = statement(client, user, paid_off)["lines"]
    assert [[row[0], row[1], *(D(cell) for cell in row[2:])] for row in rows] == [
        [line["date"], line["type"], *(line[k] for k in MONEY)] for line in lines
    ]
    for name in (user.first_name, user.last_name, "bakery", user.email):
        assert name.lower() not in response.text.lower()


def test_format_wins_over_the_accept_header_and_the_default_is_json(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea, url = people["bea"], f"/loans/{loan_id}/statement"
    as_json = client.get(url, params={"format": "json"}, headers={**bea.headers, "Accept": "text/csv"})
    assert as_json.headers["content-type"] == "application/json" and "content-disposition" not in as_json.headers
    as_csv = client.get(url, params={"format": "csv"}, headers={**bea.headers, "Accept": "application/json"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    for accept in ("*/*", "application/json", "text/csv;q=0.5, application/json", "text/html"):
        assert client.get(url, headers={**bea.headers, "Accept": accept}).headers["content-type"] == "application/json", accept
    assert (
        client.get(url, headers={**bea.headers, "Accept": "application/json;q=0.5, text/csv"})
        .headers["content-type"]
        .startswith("text/csv")
    )


def test_before_any_repayment_the_statement_is_the_disbursement_alone(
    client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    mine = statement(client, people["max"], loan_id)
    assert [line["type"] for line in mine["lines"]] == ["disbursement"]
    assert (mine["totalPrincipal"], mine["totalInterest"], mine["closingBalance"]) == (D("0.00"), D("0.00"), D("250.00"))
    for value in (mine["totalPrincipal"], mine["totalInterest"], mine["closingBalance"]):
        assert_cents(value)
    assert parsed_csv(csv_statement(client, people["bea"], loan_id))[1] == [
        "2026-01-31",
        "disbursement",
        "1000.00",
        "1000.00",
        "0.00",
        "1000.00",
    ]


def test_who_sees_a_statement(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    url = f"/loans/{loan_id}/statement"
    for params in ({}, {"format": "csv"}):
        stranger = client.get(url, params=params, headers=people["stranger"].headers)
        assert (stranger.status_code, error_code(stranger)) == (404, "NOT_FOUND")
        refusal = str({**stranger.json()["error"], "requestId": None})
        assert loan_id not in refusal and "1000" not in refusal
    pending = pending_loan(client, people)  # Lou accepted, Max declined, Ned still invited
    for who, status, code in (
        ("bea", 409, "LOAN_NOT_ACTIVE"),
        ("lou", 409, "LOAN_NOT_ACTIVE"),
        ("max", 404, "NOT_FOUND"),
        ("ned", 404, "NOT_FOUND"),
    ):
        for params in ({}, {"format": "csv"}):
            response = client.get(f"/loans/{pending}/statement", params=params, headers=people[who].headers)
            assert (response.status_code, error_code(response)) == (status, code), (who, params)
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("value", ["xml", "CSV", ""])
def test_an_unknown_format_is_a_validation_error(client: TestClient, people: dict[str, TestUser], loan_id: str, value: str) -> None:
    response = client.get(f"/loans/{loan_id}/statement", params={"format": value}, headers=people["bea"].headers)
    assert (response.status_code, error_code(response)) == (422, "VALIDATION_ERROR")
    assert response.json()["error"]["details"][0]["field"] == "format"


def calls(response: Any) -> int:
    assert response.status_code == 200, response.text
    return int(response.headers["X-DB-Requests"])


def test_a_statement_is_two_requests_however_many_repayments(client: TestClient, people: dict[str, TestUser], paid_off: str) -> None:
    second = new_loan(client, people)
    for who in ("bea", "lou"):
        for loan in (paid_off, second):
            assert calls(client.get(f"/loans/{loan}/statement", headers=people[who].headers)) == 2
            assert calls(client.get(f"/loans/{loan}/statement", params={"format": "csv"}, headers=people[who].headers)) == 2


@pytest.mark.parametrize("who", ["bea", "lou"])
def test_json_and_csv_answers_conform_to_the_published_document(app: FastAPI, people: dict[str, TestUser], paid_off: str, who: str) -> None:
    import schemathesis
    from schemathesis.checks import content_type_conformance, response_headers_conformance, response_schema_conformance

    operation = schemathesis.openapi.from_dict(app.openapi())["/loans/{loanId}/statement"]["GET"]
    for query, accept in (({}, None), ({"format": "json"}, None), ({"format": "csv"}, None), ({}, "text/csv")):
        headers = {**people[who].headers, **({"Accept": accept} if accept else {})}
        case = operation.Case(path_parameters={"loanId": paid_off}, query=query)
        checks = [content_type_conformance, response_schema_conformance, response_headers_conformance]
        response = case.call_and_validate(app=app, headers=headers, checks=checks)
        assert response.status_code == 200
        wanted = "text/csv" if query.get("format") == "csv" or accept else "application/json"
        assert response.headers["content-type"][0].startswith(wanted), (query, accept)


# --- the pure part -------------------------------------------------------------------------------------------


def test_write_csv_neutralises_formulas_and_quotes_what_needs_quoting() -> None:
    hostile = ["=1+2", "+1", "-1", "@x", "\tcmd", "\rcmd", "a,b", 'say "hi"', "two\nlines", '=HYPERLINK("x","y")', "plain", ""]
    text = statements.write_csv([hostile, ["ok"]])
    assert text.endswith("\r\n") and text.count("\r\n") == 2  # two rows; the CR and LF inside cells are quoted
    (row, last) = list(csv.reader(io.StringIO(text, newline="")))
    assert row == ["'=1+2", "'+1", "'-1", "'@x", "'\tcmd", "'\rcmd", "a,b", 'say "hi"', "two\nlines", '\'=HYPERLINK("x","y")', "plain", ""]
    assert last == ["ok"]
    assert '"a,b"' in text and '"say ""hi"""' in text and '"two\nlines"' in text


def test_neutralise_leaves_safe_cells_alone() -> None:
    assert [statements.neutralise(cell) for cell in ("2026-01-31", "repayment", "88.85", "a=b", " =x")] == [
        "2026-01-31",
        "repayment",
        "88.85",
        "a=b",
        " =x",
    ]


def test_a_lender_without_a_share_in_a_repayment_gets_a_zero_line() -> None:
    repaid = statements.repaid_of(
        {
            "recordedAt": "2026-02-28T23:30:00Z",
            "amount": D("88.85"),
            "principal": D("78.85"),
            "interest": D("10.00"),
            "outstandingPrincipalAfter": D("921.15"),
            "distributions": [{"lenderId": "someone-else", "email": "x@example.com", "principal": D("78.85"), "interest": D("10")}],
        }
    )
    summary = statements.lender_statement(activation=date(2026, 1, 31), contribution=D("250"), lender_id="me", repayments=[repaid])
    assert [(line.amount, line.principal, line.interest, line.balance) for line in summary.lines] == [
        (D("250.00"), D("250.00"), D("0.00"), D("250.00")),
        (D("0.00"), D("0.00"), D("0.00"), D("250.00")),
    ]
    assert statements.render_csv(summary.lines).splitlines()[2] == "2026-02-28,repayment,0.00,0.00,0.00,250.00"
    with pytest.raises(TypeError):
        statements.money(0.1)


@pytest.mark.parametrize(
    ("output", "accept", "expected"),
    [
        (None, None, False),
        (None, "", False),
        (None, "text/csv", True),
        (None, "TEXT/CSV; charset=utf-8", True),
        (None, "text/*", True),
        (None, "*/*", False),
        (None, "application/json, text/csv", False),
        (None, "application/json;q=0.4, text/csv;q=0.5", True),
        (None, "application/*;q=0.9, text/csv;q=0.8", False),
        (None, "text/csv;q=nonsense", False),
        (None, "text/csv;q=0", False),
        ("json", "text/csv", False),
        ("csv", "application/json", True),
    ],
)
def test_content_negotiation(output: str | None, accept: str | None, expected: bool) -> None:
    assert statements.wants_csv(output, accept) is expected
