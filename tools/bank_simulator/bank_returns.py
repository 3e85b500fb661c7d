"""The bank's return and notification-of-change files, written record by record with plain f-strings.

Layout (NACHA): a file header (immediate destination and origin both " " + the ODFI's routing number,
record size 094, blocking factor 10, format code 1); one batch per kind (returns, then NOCs), SEC code
(the original entry's for a return, COR for a NOC), company id and company name, each with service
class 200 and entry description RETURN or NOC; each entry carries the original entry's routing, account,
individual id and name, the original amount (0 for a NOC), transaction code one below the original's
(22 -> 21, 27 -> 26, 32 -> 31, 37 -> 36), addenda indicator 1 and its own trace, and is followed by its
addenda: 99 (return reason code) or 98 (change code and corrected data). Batch and file controls count
entries and addenda, sum the 8-digit RDFI ids (rightmost ten digits) and total debits (second digit of
the code 6-9) and credits (1-4); the file is padded with 9-filled records to a multiple of ten.
"""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

from bank_ledger import Notice

BLOCKING_FACTOR = 10
BANK_NAME = "BANK SIMULATOR"


def _batch_key(notice: Notice) -> tuple[int, str, str, str]:
    change = notice["code"].startswith("C")
    return (1 if change else 0, "COR" if change else notice["sec"], notice["company_id"], notice["company_name"])


def _addenda(notice: Notice) -> str:
    rdfi = notice["routing"][:8]
    if notice["code"].startswith("C"):
        return f"798{notice['code']}{notice['original_trace']}{'':6}{rdfi}{notice['corrected']:<29.29}{'':15}{notice['trace']}"
    return f"799{notice['code']}{notice['original_trace']}{'':6}{rdfi}{'':44}{notice['trace']}"


def _entry(notice: Notice) -> tuple[str, int]:
    """The entry record and its amount in cents (0 for a NOC)."""
    code = notice["transaction_code"] - 1
    amount = 0 if notice["code"].startswith("C") else notice["amount_cents"]
    record = (
        f"6{code:02d}{notice['routing']}{notice['account']:<17.17}{amount:010d}"
        f"{notice['individual_id']:<15.15}{notice['name']:<22.22}  1{notice['trace']}"
    )
    return record, amount


def return_file(notices: list[Notice], *, odfi: str, created_at: datetime, modifier: str) -> bytes:
    """The whole return/NOC file for `notices` (all of one ODFI), as the ODFI would drop it for its originator."""
    if not notices:
        raise ValueError("a return file needs at least one entry")
    origin_name = notices[0]["company_name"]
    records = [f"101 {odfi} {odfi}{created_at:%y%m%d%H%M}{modifier}094101{origin_name:<23.23}{BANK_NAME:<23.23}{'':8}"]
    file_count = file_hash = file_debit = file_credit = batches = 0
    for number, (key, group) in enumerate(groupby(sorted(notices, key=_batch_key), key=_batch_key), start=1):
        batches = number
        _, sec, company_id, company_name = key
        description = "NOC" if sec == "COR" else "RETURN"
        records.append(
            f"5200{company_name:<16.16}{'':20}{company_id:<10.10}{sec}{description:<10}{'':6}"
            f"{created_at:%y%m%d}{'':3}1{odfi[:8]}{number:07d}"
        )
        count = entry_hash = debit = credit = 0
        for notice in group:
            record, amount = _entry(notice)
            records += [record, _addenda(notice)]
            count += 2
            entry_hash += int(notice["routing"][:8])
            if notice["transaction_code"] % 10 >= 6:
                debit += amount
            else:
                credit += amount
        entry_hash %= 10**10
        records.append(f"8200{count:06d}{entry_hash:010d}{debit:012d}{credit:012d}{company_id:<10.10}{'':25}{odfi[:8]}{number:07d}")
        file_count, file_hash = file_count + count, (file_hash + entry_hash) % 10**10
        file_debit, file_credit = file_debit + debit, file_credit + credit
    blocks = -(-(len(records) + 1) // BLOCKING_FACTOR)
    records.append(f"9{batches:06d}{blocks:06d}{file_count:08d}{file_hash:010d}{file_debit:012d}{file_credit:012d}{'':39}")
    records += ["9" * 94] * (blocks * BLOCKING_FACTOR - len(records))
    if any(len(record) != 94 for record in records):  # pragma: no cover - a layout above that does not add up
        raise AssertionError([len(record) for record in records])
    return "".join(f"{record}\n" for record in records).encode("ascii")
