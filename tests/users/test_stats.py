"""Dashboard figures as pure functions of the items (unit tier: no database)."""

from __future__ import annotations

from decimal import Decimal

from app.dashboard.service import borrower_stats, lender_stats


def loan(status: str, amount: str, funded: str) -> dict[str, object]:
    return {"entity": "loan", "status": status, "amount": Decimal(amount), "fundedAmount": Decimal(funded)}


def invitation(status: str, loan_status: str, amount: str) -> dict[str, object]:
    return {"entity": "invitation", "status": status, "loanStatus": loan_status, "amount": Decimal(amount)}


def test_borrower_stats_leave_cancelled_loans_out_of_the_sums() -> None:
    stats = borrower_stats(
        [
            loan("pending", "1000.10", "600.05"),
            loan("active", "500.00", "500.00"),
            loan("cancelled", "999.99", "100.00"),
            loan("pending", "0.01", "0"),
        ]
    )
    assert (stats.total_loans, stats.pending_loans, stats.active_loans, stats.cancelled_loans) == (4, 2, 1, 1)
    assert stats.total_requested == Decimal("1500.11")
    assert stats.total_funded == Decimal("1100.05")
    assert stats.active_borrowed == Decimal("500.00")


def test_borrower_stats_of_nobody_are_zero() -> None:
    stats = borrower_stats([])
    assert stats.total_loans == 0 and stats.total_requested == Decimal("0") and stats.active_borrowed == Decimal("0")


def test_lender_stats_follow_the_loan_status_on_each_invitation() -> None:
    stats = lender_stats(
        [
            invitation("invited", "pending", "100.05"),
            invitation("invited", "pending", "0.10"),
            invitation("invited", "cancelled", "50.00"),
            invitation("accepted", "pending", "200.00"),
            invitation("accepted", "active", "300.33"),
            invitation("accepted", "cancelled", "70.00"),
            invitation("declined", "pending", "10.00"),
            invitation("declined", "cancelled", "20.00"),
        ]
    )
    assert stats.pending_invitations == 2 and stats.pending_amount == Decimal("100.15")
    assert stats.accepted_count == 2 and stats.total_committed == Decimal("500.33")
    assert stats.active_investments == Decimal("300.33")
    assert stats.declined_count == 2


def test_amounts_serialise_as_exact_json_numbers() -> None:
    body = borrower_stats([loan("active", "0.10", "0.10"), loan("active", "0.20", "0.20")]).model_dump_json(by_alias=True)
    assert '"totalRequested":"0.30"' in body or '"totalRequested":0.30' in body
