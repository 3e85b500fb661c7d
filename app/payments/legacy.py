"""The ACH records of earlier versions (LOAN#<loanId> / ACH#<lenderId>, written by acceptances before bank accounts
existed) become bank accounts of their lender, pending verification, the first time the lender's accounts are read.

Each record is adopted in one transaction: it gets `bankAccountId` (so it is adopted once, and the loan's funding
knows which account the lender accepted with), and either an account of the lender with the same numbers counts
one more loan, or a new account is written, its numbers sealed again under the bank account's binding, with two
micro-deposits and their offsetting debit for the next file: the lender verifies it as any other account.
Found by one Query of GSI1 partition ACH#<lenderId> (the records' sort key), so a lender without any costs one
empty Query.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.clock import Clock, iso, uuid7
from app.db.expressions import Expression, Operation, tx_update
from app.db.keys import ACH
from app.db.table import GSI1_NAME, SORT_KEY
from app.errors import LostRace
from app.payments import bank_accounts, repository, sealing
from app.payments.errors import VerificationFailed
from app.payments.schemas import AchDetailsInput, BankAccountPage

if TYPE_CHECKING:
    from app.auth.tokens import Principal
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.payments")

NOT_ADOPTED = Expression("attribute_exists(PK) AND attribute_not_exists(bankAccountId)")


def bank_accounts_of_lender(
    *, db: Dynamo, clock: Clock, keys: sealing.DataKeySource, owner: Principal, limit: int, cursor: str | None, request_id: str
) -> BankAccountPage:
    """GET /bank-accounts: the caller's accounts, after adopting any ACH record of theirs from before bank accounts."""
    if cursor is None:
        adopt_records(db=db, clock=clock, keys=keys, lender=owner, request_id=request_id)
    return bank_accounts.bank_accounts(db=db, owner=owner, limit=limit, cursor=cursor)


def records_of(db: Dynamo, *, lender_id: str) -> list[Item]:
    """The lender's ACH records not yet adopted (one Query of GSI1 partition ACH#<lenderId>)."""
    condition = Expression("#gsiPartition = :ach", names={"#gsiPartition": SORT_KEY}, values={":ach": f"{ACH}{lender_id}"})
    return [item for item in db.query_all(condition, index=GSI1_NAME) if item.get("entity") == "ach" and "bankAccountId" not in item]


def adopt_records(*, db: Dynamo, clock: Clock, keys: sealing.DataKeySource, lender: Principal, request_id: str) -> int:
    """Adopt every ACH record of the lender as a bank account; how many were adopted (0 almost always)."""
    adopted = 0
    for record in records_of(db, lender_id=lender.user_id):
        try:
            _adopt(db, record, clock=clock, keys=keys, lender=lender, request_id=request_id)
        except LostRace:
            continue  # adopted by a concurrent read; the next read sees it
        adopted += 1
    if adopted:
        logger.info("ach records adopted", extra={"request_id": request_id, "event": "ach_records_adopted", "count": adopted})
    return adopted


def _adopt(db: Dynamo, record: Item, *, clock: Clock, keys: sealing.DataKeySource, lender: Principal, request_id: str) -> None:
    plain = sealing.unseal(keys=keys, binding=sealing.Binding.ach_record(record["loanId"], record["lenderId"]), item=record)
    details = AchDetailsInput(
        account_holder_name=record["accountHolderName"],
        routing_number=plain["routingNumber"],
        account_number=plain["accountNumber"],
        account_type=record["accountType"],
    )
    new_id = uuid7()
    sealed = sealing.seal(keys=keys, binding=sealing.Binding.bank_account(lender.user_id, new_id), **_numbers(plain))
    try:
        use = bank_accounts.account_for_acceptance(
            db=db,
            keys=keys,
            lender=lender,
            details=details,
            bank_account_id=None,
            new_account_id=new_id,
            sealed=sealed,
            now=clock.now(),
            request_id=request_id,
        )
    except VerificationFailed:
        logger.warning(
            "ach record matches a failed account",
            extra={"request_id": request_id, "event": "ach_record_not_adopted", "loan_id": record["loanId"]},
        )
        return  # left as it is: the lender registers working numbers; the loan's funding decides what the record means
    link: Operation = tx_update(
        {"PK": record["PK"], "SK": record["SK"]},
        Expression(
            "SET bankAccountId = :account, adoptedAt = :at", values={":account": use.account["bankAccountId"], ":at": iso(clock.now())}
        ),
        NOT_ADOPTED,
    )
    repository.commit_change(db, [link, use.first, *use.rest])


def _numbers(plain: dict[str, str]) -> dict[str, str]:
    return {"routing_number": plain["routingNumber"], "account_number": plain["accountNumber"]}
