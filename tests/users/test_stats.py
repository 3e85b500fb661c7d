"""Dashboard figures as pure functions of the items (unit tier: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from app.dashboard.service import borrower_stats, lender_stats

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def loan(status: str, amount: str, funded: str, **servicing: object) -> dict[str, object]:
    terms = {"loanId": f"loan-{amount}", "interestRate": Decimal("12"), "termMonths": 12, "activatedAt": "2026-11-20T10:00:00Z"}
    terms |= {"createdAt": "2026-11-20T09:00:00Z", "fundingDeadline": "2026-12-04T09:00:00Z"}
    return {"entity": "loan", "status": status, "amount": Decimal(amount), "fundedAmount": Decimal(funded), **terms, **servicing}


def invitation(status: str, loan_status: str, amount: str) -> dict[str, object]:
    return {
        "entity": "invitation",
        "status": status,
        "loanStatus": loan_status,
        "amount": Decimal(amount),
        "fundingDeadline": "2026-12-04T09:00:00Z",
    }


def test_borrower_stats_leave_cancelled_loans_out_of_the_sums() -> None:
    stats = borrower_stats(
        [
            loan("pending", "1000.10", "600.05"),
            loan("active", "500.00", "500.00"),
            loan("cancelled", "999.99", "100.00"),
            loan("pending", "0.01", "0"),
        ],
        NOW,
    )
    assert (stats.total_loans, stats.pending_loans, stats.active_loans, stats.cancelled_loans) == (4, 2, 1, 1)
    assert stats.total_requested == Decimal("1500.11")
    assert stats.total_funded == Decimal("1100.05")
    assert stats.active_borrowed == Decimal("500.00")


def test_borrower_stats_of_nobody_are_zero() -> None:
    stats = borrower_stats([], NOW)
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
        ],
        NOW,
    )
    assert stats.pending_invitations == 2 and stats.pending_amount == Decimal("100.15")
    assert stats.accepted_count == 2 and stats.total_committed == Decimal("500.33")
    assert stats.active_investments == Decimal("300.33")
    assert stats.declined_count == 2


def test_amounts_serialise_as_exact_json_numbers() -> None:
    body = borrower_stats([loan("active", "0.10", "0.10"), loan("active", "0.20", "0.20")], NOW).model_dump_json(by_alias=True)
    assert '"totalRequested":"0.30"' in body or '"totalRequested":0.30' in body


def test_borrower_servicing_figures_come_from_the_loan_items_with_read_time_defaults() -> None:
    # Given: one loan never repaid (first installment due 2026-12-20), one repaid in part and late, one repaid
    never_repaid = loan("active", "1000.00", "1000.00")
    late = loan(
        "active", "600.00", "600.00", outstandingPrincipal=Decimal("450.00"), nextDueDate="2026-11-10", nextDueAmount=Decimal("53.31")
    )
    repaid = loan("repaid", "100.00", "100.00", outstandingPrincipal=Decimal("0"))
    stats = borrower_stats([never_repaid, late, repaid], NOW)
    # Then: outstanding over active loans, one late, the earliest unpaid installment next
    assert (stats.repaid_loans, stats.late_loans, stats.outstanding_principal) == (1, 1, Decimal("1450.00"))
    assert stats.next_payment is not None
    assert (stats.next_payment.loan_id, stats.next_payment.due_date, stats.next_payment.amount) == (
        "loan-600.00",
        date(2026, 11, 10),
        Decimal("53.31"),
    )


def test_lender_servicing_figures_add_up_accepted_participations_on_active_and_repaid_loans() -> None:
    repaid_part = {**invitation("accepted", "active", "600.00"), "principalRepaid": Decimal("47.31"), "interestPaid": Decimal("6.00")}
    repaid_part["outstandingPrincipal"] = Decimal("552.69")
    stats = lender_stats(
        [
            repaid_part,
            invitation("accepted", "active", "250.00"),  # never repaid: the whole contribution outstanding
            {
                **invitation("accepted", "repaid", "150.00"),
                "principalRepaid": Decimal("150.00"),
                "interestPaid": Decimal("3.82"),
                "outstandingPrincipal": Decimal("0"),
            },
            invitation("accepted", "pending", "99.00"),
        ],
        NOW,
    )
    assert stats.outstanding_principal == Decimal("802.69")
    assert stats.principal_repaid == Decimal("197.31")
    assert stats.interest_earned == Decimal("9.82")


def test_a_pending_loan_past_its_deadline_counts_as_expired_not_pending() -> None:
    late = {**loan("pending", "300.00", "100.00"), "fundingDeadline": "2026-11-24T11:59:59Z"}
    stats = borrower_stats([late, loan("pending", "10.00", "0")], NOW)
    assert (stats.total_loans, stats.pending_loans, stats.total_requested) == (2, 1, Decimal("10.00"))
    expired_invitation = {**invitation("invited", "pending", "100.05"), "fundingDeadline": "2026-11-24T12:00:00Z"}
    assert lender_stats([expired_invitation], NOW).pending_invitations == 0
