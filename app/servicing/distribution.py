"""Distribution of a repayment to the lenders, exact to the cent.

Pure: no I/O, no float. The interest part and the principal part of a repayment are each split among the accepted
lenders in proportion to each lender's outstanding principal just before the repayment, by largest remainder:

- every share is first floored to cents: floor(part * outstanding_i / total_outstanding);
- the leftover cents (part minus the floored shares) go one each to the largest remainders; ties go to the larger
  outstanding principal, then the earlier acceptance (ISO-8601 strings, compared as strings), then the lender id.

The quotas are computed in exact integer cents (part_cents * outstanding_cents, divided by total_cents with its
integer remainder), which is the exact-quota floor of the rules with no precision limit at all. Consequences: each
split sums exactly to its part, no share is negative, a lender with nothing outstanding gets nothing, and when the
principal part is at most the total outstanding no lender's principal share exceeds their outstanding; when it
equals the total, every lender gets exactly their outstanding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.servicing.schedule import CENT, ZERO


@dataclass(frozen=True)
class Holding:
    lender_id: str
    outstanding: Decimal
    accepted_at: str


@dataclass(frozen=True)
class Share:
    lender_id: str
    principal: Decimal
    interest: Decimal


def _to_cents(value: Decimal, name: str) -> int:
    """Whole cents as an int, so the proportional split is exact integer arithmetic; anything finer is refused."""
    if not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value}")
    numerator, denominator = value.as_integer_ratio()
    cents, rest = divmod(numerator * 100, denominator)
    if rest:
        raise ValueError(f"{name} must be in whole cents, got {value}")
    return cents


def _from_cents(cents: int) -> Decimal:
    """Back from integer cents to a two-place Decimal."""
    return (Decimal(cents) * CENT).quantize(CENT)


def split(part: Decimal, holdings: Sequence[Holding]) -> dict[str, Decimal]:
    """Largest-remainder split of `part` pro rata to outstanding principal; the shares sum exactly to `part`."""
    ids = [h.lender_id for h in holdings]
    if len(set(ids)) != len(ids):
        raise ValueError("each lender may hold only once")
    part_cents = _to_cents(part, "part")
    if part_cents < 0:
        raise ValueError("a part must not be negative")
    weights = [_to_cents(h.outstanding, "outstanding") for h in holdings]
    if any(w < 0 for w in weights):
        raise ValueError("outstanding principal must not be negative")
    if part_cents == 0:
        return dict.fromkeys(ids, ZERO)
    total = sum(weights)
    if total <= 0:
        raise ValueError("nothing outstanding to split a positive part over")
    quotas = [divmod(part_cents * w, total) for w in weights]
    shares = [floor for floor, _ in quotas]
    remainders = [remainder for _, remainder in quotas]
    leftover = part_cents - sum(shares)
    order = sorted(range(len(holdings)), key=lambda k: (-remainders[k], -weights[k], holdings[k].accepted_at, holdings[k].lender_id))
    for k in order[:leftover]:
        shares[k] += 1
    return {h.lender_id: _from_cents(s) for h, s in zip(holdings, shares, strict=True)}


def distribute(*, principal: Decimal, interest: Decimal, holdings: Sequence[Holding]) -> list[Share]:
    """Each lender's principal and interest of one repayment, in the order of `holdings`; principal never above theirs."""
    total = sum(_to_cents(h.outstanding, "outstanding") for h in holdings)
    if _to_cents(principal, "principal") > total:
        raise ValueError(f"principal {principal} exceeds the lenders' outstanding {_from_cents(total)}")
    principal_shares = split(principal, holdings)
    interest_shares = split(interest, holdings)
    return [Share(h.lender_id, principal_shares[h.lender_id], interest_shares[h.lender_id]) for h in holdings]
