"""An inbound file's returns (addenda 99) and notifications of change (addenda 98).

The ODFI drops these into the inbound folder. Every entry must carry one of the two addenda: a file with
an entry that is neither (an outbound file dropped in the wrong folder, say) is invalid as a whole.
Corrected data by change code: C01 the account number, C02 the routing number, C03 both (routing in
1-9, account from 13), C05 the transaction code (2x checking, 3x savings); other codes are kept as
notices with nothing to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from app.ach.parser import DIGITS_15, ParsedEntry, ParsedFile
from app.ach.records import CHANGE_ADDENDA, RETURN_ADDENDA, NachaError, read

RETURN_CODE = re.compile(r"^R[0-9]{2}$")
CHANGE_CODE = re.compile(r"^C[0-9]{2}$")


@dataclass(frozen=True)
class ReturnNotice:
    """A return entry: the RDFI sends back the entry traced `original_trace` with `return_code`."""

    original_trace: str
    return_code: str
    amount: Decimal
    trace_number: str


@dataclass(frozen=True)
class ChangeNotice:
    """A notification of change: the entry traced `original_trace` went through, but its details must change."""

    original_trace: str
    change_code: str
    routing_number: str | None
    account_number: str | None
    account_type: str | None
    trace_number: str

    def __repr__(self) -> str:
        return f"ChangeNotice(original_trace={self.original_trace!r}, change_code={self.change_code!r})"


@dataclass(frozen=True)
class InboundNotices:
    returns: tuple[ReturnNotice, ...]
    changes: tuple[ChangeNotice, ...]


def read_notices(parsed: ParsedFile) -> InboundNotices:
    """The returns and notifications of change of an inbound file; an entry that is neither makes it invalid."""
    returns: list[ReturnNotice] = []
    changes: list[ChangeNotice] = []
    for entry in parsed.entries:
        addenda = entry.addenda or ""
        kind = addenda[1:3]
        if kind == "99":
            fields = read(RETURN_ADDENDA, addenda, line=0)
            if not RETURN_CODE.match(fields["reasonCode"]) or not DIGITS_15.match(fields["originalTrace"]):
                raise NachaError(f"return {entry.trace_number}: a reason code R.. and a 15-digit original trace are required")
            returns.append(ReturnNotice(fields["originalTrace"], fields["reasonCode"], entry.amount, entry.trace_number))
        elif kind == "98":
            changes.append(_change(entry, read(CHANGE_ADDENDA, addenda, line=0)))
        else:
            raise NachaError(f"entry {entry.trace_number} is neither a return (addenda 99) nor a change (addenda 98)")
    return InboundNotices(returns=tuple(returns), changes=tuple(changes))


def _change(entry: ParsedEntry, fields: dict[str, str]) -> ChangeNotice:
    code, data = fields["changeCode"], fields["correctedData"]
    if not CHANGE_CODE.match(code) or not DIGITS_15.match(fields["originalTrace"]):
        raise NachaError(f"change {entry.trace_number}: a change code C.. and a 15-digit original trace are required")
    routing = account = account_type = None
    if code == "C01":
        account = data.strip()
    elif code == "C02":
        routing = data[:9]
    elif code == "C03":
        routing, account = data[:9], data[12:].strip()
    elif code == "C05":
        account_type = {"2": "checking", "3": "savings"}.get(data[:1])
    if (routing is not None and not (len(routing) == 9 and routing.isdigit())) or account == "" or (code == "C05" and account_type is None):
        raise NachaError(f"change {entry.trace_number}: the corrected data does not fit change code {code}")
    return ChangeNotice(fields["originalTrace"], code, routing, account, account_type, entry.trace_number)
