"""NACHA for the tests, written independently of app/ach: inbound files by hand, and payment strategies.

The inbound (return and notification-of-change) files here are composed with plain f-strings from the
record layouts as the NACHA rules describe them (and read back by achkit's parser in tests/ach), so the
parser is never tested only against text its own layout tables wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import strategies as st

from app.ach.entries import Originator, OutboundEntry

ORIGINATOR = Originator(odfi_routing="091000019", company_id="1234567890", company_name="Lendwise")
DESCRIPTIONS = ("LOANFUND", "LOANDISB", "LOANPAYMT", "PAYOUT", "REFUND", "ACCTVERIFY", "RETRY PYMT")
ROUTING_PREFIXES = [f"{p:02d}" for p in (*range(1, 13), *range(21, 33), *range(61, 73), 80)]


def check_digit(first8: str) -> str:
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    return str(-sum(w * int(d) for w, d in zip(weights, first8, strict=True)) % 10)


@st.composite
def routing_numbers(draw: st.DrawFn) -> str:
    first8 = draw(st.sampled_from(ROUTING_PREFIXES)) + draw(st.text("0123456789", min_size=6, max_size=6))
    return first8 + check_digit(first8)


@st.composite
def outbound_entries(draw: st.DrawFn, index: int) -> OutboundEntry:
    direction = draw(st.sampled_from(["debit", "credit"]))
    return OutboundEntry(
        payment_id=f"pay{index:012d}{draw(st.text('abcdef0123456789', min_size=4, max_size=12))}",
        direction=direction,
        description=draw(st.sampled_from(DESCRIPTIONS)),
        amount=Decimal(draw(st.integers(min_value=1, max_value=9_999_999_999))) / 100,
        routing_number=draw(routing_numbers()),
        account_number=draw(st.text("0123456789", min_size=4, max_size=17)),
        account_type=draw(st.sampled_from(["checking", "savings"])),
        holder_name=draw(st.text(min_size=0, max_size=30)) + draw(st.sampled_from(["Ada", "Zoë", "O'Neil"])),
    )


@st.composite
def entry_lists(draw: st.DrawFn, max_size: int = 40) -> list[OutboundEntry]:
    size = draw(st.integers(min_value=1, max_value=max_size))
    return [draw(outbound_entries(i)) for i in range(size)]


@dataclass(frozen=True)
class Notice:
    """One entry of an inbound file: a return (addenda 99) or a notification of change (addenda 98)."""

    original_trace: str
    code: str  # R01.. or C01..
    cents: int = 0
    routing: str = "021000021"
    account: str = "55501234567"
    transaction_code: int = 26  # a return of a checking debit
    corrected_data: str = ""
    sec: str = "WEB"


def inbound_file(notices: list[Notice], *, odfi: str = "091000019", company_id: str = "1234567890", trace_start: int = 1) -> bytes:
    """A return/NOC file as the ODFI would drop it: one batch per SEC code (COR for changes)."""
    records = [f"101 {odfi}{company_id:>10}2612071200A094101{'ODFI BANK':<23}{'LENDWISE':<23}{'':8}"]
    batches: dict[str, list[Notice]] = {}
    for notice in notices:
        batches.setdefault("COR" if notice.code.startswith("C") else notice.sec, []).append(notice)
    file_count = file_hash = file_debit = file_credit = 0
    trace = trace_start
    for number, (sec, items) in enumerate(batches.items(), start=1):
        records.append(f"5200{'LENDWISE':<16}{'':20}{company_id:<10}{sec}{'RETURN':<10}{'':6}261208{'':3}1{odfi[:8]}{number:07d}")
        count = hsh = debit = credit = 0
        for item in items:
            own_trace = f"{item.routing[:8]}{trace:07d}"
            trace += 1
            records.append(
                f"6{item.transaction_code:02d}{item.routing}{item.account:<17}{item.cents:010d}{'':15}{'JANE DOE':<22}  1{own_trace}"
            )
            if item.code.startswith("R"):
                records.append(f"799{item.code}{item.original_trace}{'':6}{item.routing[:8]}{'':44}{own_trace}")
            else:
                records.append(f"798{item.code}{item.original_trace}{'':6}{item.routing[:8]}{item.corrected_data:<29}{'':15}{own_trace}")
            count += 2
            hsh += int(item.routing[:8])
            if item.transaction_code % 10 >= 6:
                debit += item.cents
            else:
                credit += item.cents
        records.append(f"8200{count:06d}{hsh % 10**10:010d}{debit:012d}{credit:012d}{company_id:<10}{'':25}{odfi[:8]}{number:07d}")
        file_count, file_hash, file_debit, file_credit = file_count + count, file_hash + hsh, file_debit + debit, file_credit + credit
    blocks = -(-(len(records) + 1) // 10)
    records.append(f"9{len(batches):06d}{blocks:06d}{file_count:08d}{file_hash % 10**10:010d}{file_debit:012d}{file_credit:012d}{'':39}")
    records += ["9" * 94] * (blocks * 10 - len(records))
    assert all(len(record) == 94 for record in records), [len(r) for r in records]
    return "".join(f"{record}\n" for record in records).encode("ascii")
