"""A user's bank accounts: register (with its micro-deposits), list, verify, close.

A new account is pending_verification: the same transaction schedules two credits of distinct random
amounts (0.01..0.99) and one debit of their sum, for the next file. Its owner reads them on their
statement and posts them back: right -> verified; wrong -> one attempt fewer (3), failed at none left.
Fourteen days unconfirmed, or a returned micro-deposit, fail it too (the settle and receive jobs).
The same routing and account numbers twice for one user are refused: the accounts with the same
last-4s are decrypted and compared, under a lock item per pair of last-4s so two registrations of the
same numbers take turns instead of both passing.
Longer than 250 lines because an account's whole life (register, verify, close, an acceptance's use of it)
shares the same checks (its owner, its numbers, its deadline), kept here once.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from app.auth.tokens import Principal
from app.clock import Clock, iso, uuid7
from app.db.expressions import NEW_ITEM, Expression, Operation, tx_check, tx_put
from app.db.keys import bank_account_key, payment_key, payment_owner
from app.errors import LostRace
from app.money.calendar import eastern_date
from app.payments import items, repository, sealing
from app.payments.errors import BankAccountInUse, BankAccountNotFound, DuplicateBankAccount, VerificationFailed, VerificationMismatch
from app.payments.schemas import AchDetailsInput, BankAccount, BankAccountPage, PaymentPage
from app.retry import retry_on_lost_race
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.payments")

VERIFICATION_DAYS = 14
CENT = Decimal("0.01")


def micro_deposits() -> tuple[Decimal, Decimal]:
    """Two distinct random amounts between 0.01 and 0.99 (a CSPRNG: they are a secret only the account's statement shows)."""
    first = secrets.randbelow(99) + 1
    second = secrets.randbelow(98) + 1
    second += second >= first  # 1..99 without `first`
    return Decimal(first) * CENT, Decimal(second) * CENT


def _duplicate_of(keys: sealing.DataKeySource, accounts: list[Item], details: AchDetailsInput) -> bool:
    """Whether any open account among `accounts` holds exactly these numbers (decrypting only those with the same last-4s)."""
    last4s = (sealing.last4(details.routing_number), sealing.last4(details.account_number))
    for account in accounts:
        if account["status"] == "closed" or (account["routingLast4"], account["accountLast4"]) != last4s:
            continue
        plain = sealing.unseal(keys=keys, binding=sealing.Binding.bank_account(account["userId"], account["bankAccountId"]), item=account)
        if plain == {"routingNumber": details.routing_number, "accountNumber": details.account_number}:
            return True
    return False


def register_bank_account(
    *, db: Dynamo, clock: Clock, keys: sealing.DataKeySource, owner: Principal, details: AchDetailsInput, request_id: str
) -> BankAccount:
    """ONE transaction: the account (pending verification), its three micro-deposit payments, their events, the lock."""
    bank_account_id = uuid7()
    sealed = sealing.seal(
        keys=keys,
        binding=sealing.Binding.bank_account(owner.user_id, bank_account_id),
        routing_number=details.routing_number,
        account_number=details.account_number,
    )
    last4s = (sealing.last4(details.routing_number), sealing.last4(details.account_number))
    amounts = micro_deposits()

    def attempt() -> Item:
        now = clock.now()
        at = iso(now)
        _, lock = repository.numbers_lock(db, user_id=owner.user_id, last4s=last4s)
        if _duplicate_of(keys, repository.bank_accounts_of(db, user_id=owner.user_id), details):
            raise DuplicateBankAccount()
        account = items.new_bank_account(
            user_id=owner.user_id,
            bank_account_id=bank_account_id,
            holder=details.account_holder_name,
            account_type=details.account_type,
            last4s=last4s,
            sealed=sealed,
            micro_deposits=amounts,
            at=at,
            verify_by=iso(now + timedelta(days=VERIFICATION_DAYS)),
        )
        actor = items.Actor(actor_id=owner.user_id, at=at, request_id=request_id)
        today = eastern_date(now).isoformat()
        deposits = [
            *(
                items.new_payment(
                    kind="verification", direction="credit", amount=value, account=account, loan_id=None, at=at, not_before=today
                )
                for value in amounts
            ),
            items.new_payment(
                kind="verification",
                direction="debit",
                amount=sum(amounts, Decimal(0)),
                account=account,
                loan_id=None,
                at=at,
                not_before=today,
            ),
        ]
        account["openPayments"] = len(deposits)
        operations = [lock, tx_put(account, NEW_ITEM), items.account_event(account, actor, "bank_account_added")]
        for payment in deposits:
            operations.extend(items.scheduled(payment, actor, counted=False))
        repository.commit_change(db, operations, caller_check=users_service.account_exists(user_id=owner.user_id))
        return account

    account = retry_on_lost_race(attempt, turns=db.turns(owner.user_id))
    logger.info("bank account added", extra={"request_id": request_id, "event": "bank_account_added", "bank_account_id": bank_account_id})
    return items.bank_account_public(account)


def _micro_deposit_payments(account: Item, *, at: str, today: str) -> list[Item]:
    """The account's two micro-deposit credits and the debit of their sum, due in the first file from `today`."""
    amounts = [Decimal(str(value)) for value in account["microDeposits"]]
    credits = [
        items.new_payment(kind="verification", direction="credit", amount=value, account=account, loan_id=None, at=at, not_before=today)
        for value in amounts
    ]
    debit = items.new_payment(
        kind="verification", direction="debit", amount=sum(amounts, Decimal(0)), account=account, loan_id=None, at=at, not_before=today
    )
    return [*credits, debit]


def bank_accounts(*, db: Dynamo, owner: Principal, limit: int, cursor: str | None) -> BankAccountPage:
    page = repository.bank_account_page(db, user_id=owner.user_id, limit=limit, cursor=cursor)
    return BankAccountPage(items=[items.bank_account_public(item) for item in page.items], next_cursor=page.next_cursor)


def public(account: Item) -> BankAccount:
    """An account item as the API shows it (never its numbers)."""
    return items.bank_account_public(account)


def _own_account(db: Dynamo, *, owner: Principal, bank_account_id: str) -> Item:
    """The caller's account (not closed); 404 for anyone else's, a closed one, or an id that is not one."""
    account = repository.bank_account(db, user_id=owner.user_id, bank_account_id=bank_account_id)
    if account is None or account["status"] == "closed":
        raise BankAccountNotFound()
    return account


def verification_expired(account: Item, now: datetime) -> bool:
    """Pending past its verify-by moment (an account without one, from before verification existed, never expires by time)."""
    verify_by = account.get("verifyBy")
    return account["status"] == "pending_verification" and verify_by is not None and iso(now) >= verify_by


def verify_bank_account(
    *, db: Dynamo, clock: Clock, owner: Principal, bank_account_id: str, amounts: list[Decimal], request_id: str
) -> BankAccount:
    """Right amounts (any order) -> verified; wrong -> 422 with attempts left, failed at none; failed -> 409."""

    def attempt() -> tuple[Item, int | None]:
        now = clock.now()
        account = _own_account(db, owner=owner, bank_account_id=bank_account_id)
        actor = items.Actor(actor_id=owner.user_id, at=iso(now), request_id=request_id)
        if account["status"] == "verified":
            return account, None
        if account["status"] == "failed":
            raise VerificationFailed()
        proof = users_service.account_exists(user_id=owner.user_id)
        if verification_expired(account, now):
            repository.commit_change(db, items.failed(account, actor, reason="not_verified_in_time"), caller_check=proof)
            raise VerificationFailed()
        expected = sorted(Decimal(str(value)) for value in account.get("microDeposits", []))
        if expected and sorted(amounts) == expected:
            repository.commit_change(db, items.verified(account, actor), caller_check=proof)
            return {**account, "status": "verified", "verifiedAt": actor.at}, None
        repository.commit_change(db, items.verification_missed(account, actor), caller_check=proof)
        return account, int(account.get("attemptsLeft", items.VERIFICATION_ATTEMPTS)) - 1

    account, attempts_left = retry_on_lost_race(attempt, turns=db.turns(owner.user_id))
    if attempts_left is not None:
        logger.info(
            "verification missed", extra={"request_id": request_id, "event": "bank_verification_missed", "bank_account_id": bank_account_id}
        )
        raise VerificationMismatch(attempts_left)
    return items.bank_account_public(account)


def close_bank_account(
    *, db: Dynamo, clock: Clock, owner: Principal, bank_account_id: str, in_use: Callable[..., bool], request_id: str
) -> None:
    """Closed (and out of every list) unless a payment is in flight on it or a pending or active loan uses it
    (`in_use`, the loans domain's answer); its unsent micro-deposits are cancelled in the same transaction."""

    def attempt() -> None:
        now = clock.now()
        account = _own_account(db, owner=owner, bank_account_id=bank_account_id)
        actor = items.Actor(actor_id=owner.user_id, at=iso(now), request_id=request_id)
        unsent = _unsent_micro_deposits(db, account)
        if int(account.get("openPayments", 0)) > len(unsent) or in_use(db=db, owner=owner, bank_account_id=bank_account_id):
            if repository.bank_account(db, user_id=owner.user_id, bank_account_id=bank_account_id) != account:
                raise LostRace()  # it changed while we looked (closed by a concurrent request?): decide again
            raise BankAccountInUse()
        operations = items.closed(account, actor, cancelled=len(unsent))
        for payment in unsent:
            operations.extend(items.cancelled(payment, actor, reason="account_closed", counted=False))
        repository.commit_change(db, operations, caller_check=users_service.account_exists(user_id=owner.user_id))

    retry_on_lost_race(attempt, turns=db.turns(owner.user_id))
    logger.info("bank account closed", extra={"request_id": request_id, "event": "bank_account_closed", "bank_account_id": bank_account_id})


def _unsent_micro_deposits(db: Dynamo, account: Item) -> list[Item]:
    """The account's micro-deposits still waiting for a file (no file holds them yet): a consistent BatchGetItem of
    the payments the account names (an account from before it named them: a Query of GSI1 PAYS#BANK#<id>)."""
    ids = account.get("microDepositIds")
    if ids is not None:
        owner = payment_owner(loan_id=None, bank_account_id=account["bankAccountId"])
        deposits = db.batch_get([payment_key(payment_id, owner) for payment_id in ids], consistent=True)
    else:
        deposits = repository.payments_of_owner(
            db, loan_id=None, bank_account_id=account["bankAccountId"], caller=account["userId"], limit=100, cursor=None
        ).items
    return [payment for payment in deposits if payment["status"] == "scheduled" and "fileId" not in payment]


def loan_payments(*, db: Dynamo, loan_id: str, caller_id: str, owner_id: str | None, limit: int, cursor: str | None) -> PaymentPage:
    """A page of a loan's payments, newest first; with `owner_id`, only those to or from that user's accounts."""
    where = Expression("ownerId = :owner", values={":owner": owner_id}) if owner_id else None
    page = repository.payments_of_owner(db, loan_id=loan_id, bank_account_id="", caller=caller_id, limit=limit, cursor=cursor, where=where)
    return PaymentPage(items=[items.payment_public(item) for item in page.items], next_cursor=page.next_cursor)


@dataclass(frozen=True)
class AccountUse:
    """The account an acceptance pays from, and the operations that bind it to the acceptance's transaction:
    `first` (Put of a new account, or a ConditionCheck that the account is still usable: it fails if the account
    failed or closed meanwhile) and `rest` (a new account's lock, event and micro-deposits)."""

    account: Item
    first: Operation
    rest: list[Operation]


USABLE = Expression(
    "#status IN (:pending, :verified)", names={"#status": "status"}, values={":pending": "pending_verification", ":verified": "verified"}
)


def account_for_acceptance(
    *,
    db: Dynamo,
    keys: sealing.DataKeySource,
    lender: Principal,
    details: AchDetailsInput | None,
    bank_account_id: str | None,
    new_account_id: str,
    sealed: Item | None,
    now: datetime,
    request_id: str,
) -> AccountUse:
    """`bank_account_id`: one of the lender's accounts, not failed or closed. `details`: the lender's account with
    these numbers if there is one, else a new one (pending verification, with its micro-deposits), id
    `new_account_id`, numbers `sealed` under Binding.bank_account(lender, new_account_id)."""
    if bank_account_id is not None:
        account = _own_account(db, owner=lender, bank_account_id=bank_account_id)
    else:
        if details is None or sealed is None:
            raise ValueError("an acceptance names an account or gives its details")
        accounts = repository.bank_accounts_of(db, user_id=lender.user_id)
        usable = [a for a in accounts if a["status"] in ("pending_verification", "verified") and not verification_expired(a, now)]
        matching = [a for a in usable if _duplicate_of(keys, [a], details)]
        if not matching:  # new numbers, or only a failed (or expired) account had them: a new account to verify
            return _new_account_use(
                db, lender=lender, details=details, bank_account_id=new_account_id, sealed=sealed, now=now, request_id=request_id
            )
        account = matching[0]
    if account["status"] == "failed" or verification_expired(account, now):
        raise VerificationFailed()
    return AccountUse(account=account, first=tx_check(bank_account_key(lender.user_id, account["bankAccountId"]), USABLE), rest=[])


def _new_account_use(
    db: Dynamo, *, lender: Principal, details: AchDetailsInput, bank_account_id: str, sealed: Item, now: datetime, request_id: str
) -> AccountUse:
    at = iso(now)
    last4s = (sealing.last4(details.routing_number), sealing.last4(details.account_number))
    _, lock = repository.numbers_lock(db, user_id=lender.user_id, last4s=last4s)
    account = items.new_bank_account(
        user_id=lender.user_id,
        bank_account_id=bank_account_id,
        holder=details.account_holder_name,
        account_type=details.account_type,
        last4s=last4s,
        sealed=sealed,
        micro_deposits=micro_deposits(),
        at=at,
        verify_by=iso(now + timedelta(days=VERIFICATION_DAYS)),
    )
    actor = items.Actor(actor_id=lender.user_id, at=at, request_id=request_id)
    deposits = _micro_deposit_payments(account, at=at, today=eastern_date(now).isoformat())
    account.update(openPayments=len(deposits), microDepositIds=[payment["paymentId"] for payment in deposits])
    rest = [lock, items.account_event(account, actor, "bank_account_added")]
    for payment in deposits:
        rest.extend(items.scheduled(payment, actor, counted=False))
    return AccountUse(account=account, first=tx_put(account, NEW_ITEM), rest=rest)
