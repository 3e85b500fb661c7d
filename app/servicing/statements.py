"""A loan statement: its lines and totals from the loan's figures and its repayment items, and its CSV text.

Pure: no I/O, no clock, no float. Every money value is a Decimal quantized to cents.

- The borrower's lines are the loan's: the disbursement (the loan amount, on the activation date), then every
  repayment oldest first, its balance the loan's outstanding principal after it.
- An accepted lender's lines are their own: the disbursement is their contribution, each repayment line their
  distribution in it (amount = principal + interest), its balance their contribution minus their cumulative principal.
- totalPrincipal and totalInterest sum the repayment lines; closingBalance is the last line's balance, so
  disbursement - totalPrincipal = closingBalance.
- CSV (RFC 4180): the header row, one row per line, CRLF line endings; every cell goes through write_csv, which
  neutralises spreadsheet formulas and quotes what needs quoting.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from app.clock import utc_date

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CSV_COLUMNS = ("date", "type", "amount", "principal", "interest", "balance")
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")

LineType = Literal["disbursement", "repayment"]


def money(value: Any) -> Decimal:
    """A stored amount (Decimal, int or numeric string: never a float) to exactly two decimal places."""
    if isinstance(value, float):
        raise TypeError("money never goes through float")
    return Decimal(value).quantize(CENT)


@dataclass(frozen=True)
class Repaid:
    """What a statement needs of one repayment item; `shares` maps lenderId -> (principal, interest)."""

    on: date
    amount: Decimal
    principal: Decimal
    interest: Decimal
    balance_after: Decimal
    shares: dict[str, tuple[Decimal, Decimal]]


def repaid_of(item: Mapping[str, Any]) -> Repaid:
    """A stored repayment item (recordedAt ISO 8601 UTC, amounts, outstandingPrincipalAfter, distributions)."""
    return Repaid(
        on=utc_date(datetime.fromisoformat(str(item["recordedAt"]))),
        amount=money(item["amount"]),
        principal=money(item["principal"]),
        interest=money(item["interest"]),
        balance_after=money(item["outstandingPrincipalAfter"]),
        shares={str(entry["lenderId"]): (money(entry["principal"]), money(entry["interest"])) for entry in item["distributions"]},
    )


@dataclass(frozen=True)
class Line:
    date: date
    type: LineType
    amount: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Summary:
    lines: list[Line]
    total_principal: Decimal
    total_interest: Decimal
    closing_balance: Decimal


def _disbursement(on: date, amount: Decimal) -> Line:
    return Line(on, "disbursement", money(amount), money(amount), ZERO, money(amount))


def _summary(lines: list[Line]) -> Summary:
    repayments = [line for line in lines if line.type == "repayment"]
    return Summary(
        lines=lines,
        total_principal=sum((line.principal for line in repayments), ZERO),
        total_interest=sum((line.interest for line in repayments), ZERO),
        closing_balance=lines[-1].balance,
    )


def borrower_statement(*, activation: date, amount: Decimal, repayments: Sequence[Repaid]) -> Summary:
    """The loan's lines: the disbursement of the loan amount, then each repayment (oldest first) as recorded."""
    lines = [_disbursement(activation, amount)]
    lines += [Line(r.on, "repayment", r.amount, r.principal, r.interest, r.balance_after) for r in repayments]
    return _summary(lines)


def lender_statement(*, activation: date, contribution: Decimal, lender_id: str, repayments: Sequence[Repaid]) -> Summary:
    """One lender's lines: their contribution, then their share of each repayment (0 where they had none)."""
    lines = [_disbursement(activation, contribution)]
    balance = money(contribution)
    for repaid in repayments:
        principal, interest = repaid.shares.get(lender_id, (ZERO, ZERO))
        balance -= principal
        lines.append(Line(repaid.on, "repayment", principal + interest, principal, interest, balance))
    return _summary(lines)


# --- CSV ------------------------------------------------------------------------------------------------


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula (=, +, -, @, tab, carriage return first) gets a leading quote."""
    return f"'{cell}" if cell.startswith(FORMULA_LEADS) else cell


def write_csv(rows: Iterable[Sequence[str]]) -> str:
    """RFC 4180 text of `rows`: each cell neutralised, quoted when it holds a comma, a quote or a line break; CRLF endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return buffer.getvalue()


def render_csv(lines: Sequence[Line]) -> str:
    """The statement as CSV: the header, then date (ISO), type and the four amounts with two decimals."""
    rows = [[line.date.isoformat(), line.type, *(f"{money(value):f}" for value in _amounts(line))] for line in lines]
    return write_csv([list(CSV_COLUMNS), *rows])


def _amounts(line: Line) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return line.amount, line.principal, line.interest, line.balance


# --- content negotiation ------------------------------------------------------------------------------------


def _quality(accept: str, media_type: str) -> Decimal:
    """The q the Accept header gives `media_type`: that of its most specific matching range (0 when none matches)."""
    kind = media_type.split("/")[0]
    best: tuple[int, Decimal] = (-1, Decimal(0))
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        media = media.lower()
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media)
        if specificity is None or specificity <= best[0]:
            continue
        q = Decimal(1)
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = Decimal(value.strip())
                except InvalidOperation:
                    q = Decimal(0)
                if not q.is_finite():
                    q = Decimal(0)
        best = (specificity, q)
    return best[1]


def wants_csv(output: str | None, accept: str | None) -> bool:
    """CSV when format=csv, or with no format when the Accept header ranks text/csv above application/json."""
    if output is not None:
        return output == "csv"
    return bool(accept) and _quality(str(accept), "text/csv") > _quality(str(accept), "application/json")
