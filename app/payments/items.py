"""The items of bank accounts and payments, and each state change as the operations of ONE transaction.

Private to app/payments (its repository and the rail commit these). Every change of a payment's
status writes a payment event in the payment's partition (PAYMENT#<id> / EVENT#<eventId>) and moves
the payment in GSI2 to its status partition (ACHPAY#<status>), sorted by the date that matters to that
status: when it may be sent (scheduled), when it settles (submitted), when it ended (the rest). A payment
an outbound file holds sits in ACHCLAIM#<fileId> instead, so a crashed send finds its file's payments.
A bank account counts its open payments (scheduled or submitted): it cannot be closed while one exists.
Longer than 250 lines because every transition of a payment and of a bank account stands here side by side,
so their conditions and the open-payment count they share can be read and compared in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.clock import uuid7
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_put, tx_update
from app.db.keys import (
    bank_account_key,
    payment_claim_keys,
    payment_event_key,
    payment_key,
    payment_owner,
    payment_status_keys,
    trace_key,
    user_event_key,
    verification_deadline_keys,
)
from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT
from app.payments.schemas import BankAccount, Payment, amount_of

VERIFICATION_ATTEMPTS = 3
MAX_ATTEMPTS = 3  # a payment returned R01/R09 is sent again at most twice
OPEN = ("scheduled", "submitted")
DESCRIPTIONS = {
    "verification": "ACCTVERIFY",
    "funding": "LOANFUND",
    "disbursement": "LOANDISB",
    "collection": "LOANPAYMT",
    "payout": "PAYOUT",
    "refund": "REFUND",
}
RETRY_DESCRIPTION = "RETRY PYMT"
SNAPSHOT = ("holderName", "accountType", "routingNumberCipher", "accountNumberCipher", "keySource", "dataKey")
GSI2 = f"{DEADLINE_PARTITION}, {DEADLINE_SORT}"
STATUS = {"#status": "status"}


@dataclass(frozen=True)
class Actor:
    """Who changes a payment or an account (a user, or a job), when, and under which request id."""

    actor_id: str
    at: str
    request_id: str


def _event(key: dict[str, str], actor: Actor, event_id: str, facts: dict[str, Any]) -> Operation:
    item = {
        **key,
        "entity": "event",
        "eventId": event_id,
        "actorId": actor.actor_id,
        "at": actor.at,
        "requestId": actor.request_id,
        **{name: value for name, value in facts.items() if value is not None},
    }
    return tx_put(item, NEW_ITEM)


def payment_event(payment: Item, actor: Actor, event_type: str, **facts: Any) -> Operation:
    """An audit event of one payment, with what the change was."""
    event_id = uuid7()
    return _event(
        payment_event_key(payment["paymentId"], event_id),
        actor,
        event_id,
        {"type": event_type, "paymentId": payment["paymentId"], "loanId": payment.get("loanId"), **facts},
    )


def account_event(account: Item, actor: Actor, event_type: str, **facts: Any) -> Operation:
    """An audit event of a bank account, in its owner's partition (the outbox sends nothing for these)."""
    event_id = uuid7()
    key = user_event_key(account["userId"], event_id)
    return _event(
        key, actor, event_id, {"type": event_type, "userId": account["userId"], "bankAccountId": account["bankAccountId"], **facts}
    )


# --- bank accounts ---------------------------------------------------------------------------------


def new_bank_account(
    *,
    user_id: str,
    bank_account_id: str,
    holder: str,
    account_type: str,
    last4s: tuple[str, str],
    sealed: Item,
    micro_deposits: tuple[Decimal, Decimal],
    at: str,
    verify_by: str,
) -> Item:
    return {
        **bank_account_key(user_id, bank_account_id),
        **verification_deadline_keys(bank_account_id, verify_by),
        "entity": "bank_account",
        "bankAccountId": bank_account_id,
        "userId": user_id,
        "holderName": holder,
        "accountType": account_type,
        "routingLast4": last4s[0],
        "accountLast4": last4s[1],
        **sealed,
        "status": "pending_verification",
        "attemptsLeft": VERIFICATION_ATTEMPTS,
        "microDeposits": list(micro_deposits),
        "verifyBy": verify_by,
        "openPayments": 0,
        "createdAt": at,
    }


def bank_account_public(item: Item) -> BankAccount:
    return BankAccount(
        bank_account_id=item["bankAccountId"],
        account_holder_name=item["holderName"],
        account_type=item["accountType"],
        routing_number_last4=item["routingLast4"],
        account_number_last4=item["accountLast4"],
        status=item["status"],
        verification_attempts_left=int(item.get("attemptsLeft", VERIFICATION_ATTEMPTS)),
        created_at=item["createdAt"],
        verified_at=item.get("verifiedAt"),
    )


def _account_in(item: Item, status: str) -> Expression:
    """The account is still as it was read: in `status`, with the attempts and open payments read."""
    return Expression(
        "#status = :was AND attemptsLeft = :attempts AND openPayments = :open",
        names=STATUS,
        values={":was": status, ":attempts": item.get("attemptsLeft", VERIFICATION_ATTEMPTS), ":open": item.get("openPayments", 0)},
    )


def verified(item: Item, actor: Actor) -> list[Operation]:
    update = Expression(
        f"SET #status = :verified, verifiedAt = :at REMOVE {GSI2}", names=STATUS, values={":verified": "verified", ":at": actor.at}
    )
    return [
        tx_update(bank_account_key(item["userId"], item["bankAccountId"]), update, _account_in(item, "pending_verification")),
        account_event(item, actor, "bank_account_verified"),
    ]


def verification_missed(item: Item, actor: Actor) -> list[Operation]:
    """One wrong pair of amounts: an attempt fewer, and `failed` once none is left."""
    left = int(item.get("attemptsLeft", VERIFICATION_ATTEMPTS)) - 1
    if left > 0:
        update = Expression("SET attemptsLeft = :left", values={":left": left})
        return [tx_update(bank_account_key(item["userId"], item["bankAccountId"]), update, _account_in(item, "pending_verification"))]
    return failed(item, actor, reason="attempts_exhausted", attempts_left=0)


def failed(item: Item, actor: Actor, *, reason: str, attempts_left: int | None = None, open_delta: int = 0) -> list[Operation]:
    """The account can never be verified now: three wrong attempts, 14 days unconfirmed, or a returned micro-deposit
    (whose payment's end moves the open count by `open_delta` in the same update)."""
    attempts = ", attemptsLeft = :left" if attempts_left is not None else ""
    count = ", openPayments = openPayments + :delta" if open_delta else ""
    text = f"SET #status = :failed, failedAt = :at, failureReason = :reason{attempts}{count} REMOVE {GSI2}"
    values: dict[str, Any] = {":failed": "failed", ":at": actor.at, ":reason": reason}
    if attempts_left is not None:
        values[":left"] = attempts_left
    if open_delta:
        values[":delta"] = open_delta
    return [
        tx_update(
            bank_account_key(item["userId"], item["bankAccountId"]),
            Expression(text, names=STATUS, values=values),
            _account_in(item, item["status"]),
        ),
        account_event(item, actor, "bank_account_failed", reason=reason),
    ]


def closed(item: Item, actor: Actor, *, cancelled: int) -> list[Operation]:
    """Closed by its owner; `cancelled` of its open payments (unsent micro-deposits) are cancelled in the same transaction."""
    update = Expression(
        f"SET #status = :closed, closedAt = :at, openPayments = openPayments - :cancelled REMOVE {GSI2}",
        names=STATUS,
        values={":closed": "closed", ":at": actor.at, ":cancelled": cancelled},
    )
    return [
        tx_update(bank_account_key(item["userId"], item["bankAccountId"]), update, _account_in(item, item["status"])),
        account_event(item, actor, "bank_account_closed"),
    ]


def numbers_changed(item: Item, actor: Actor, *, changes: dict[str, Any], change_code: str) -> list[Operation]:
    """A notification of change applied: new sealed numbers, last-4s or account type (C01, C02, C03, C05)."""
    names = {f"#c{i}": name for i, name in enumerate(changes)}
    values = {f":c{i}": value for i, value in enumerate(changes.values())}
    update = Expression(
        "SET " + ", ".join(f"#c{i} = :c{i}" for i in range(len(changes))) + ", changedAt = :at",
        names=names,
        values={**values, ":at": actor.at},
    )
    return [
        tx_update(bank_account_key(item["userId"], item["bankAccountId"]), update, EXISTING_ITEM),
        account_event(item, actor, "bank_account_changed", changeCode=change_code),
    ]


def open_payments_delta(user_id: str, bank_account_id: str, delta: int) -> Operation:
    """The account's count of open payments moves by `delta` (a payment scheduled: +1; ended: -1)."""
    update = Expression("SET openPayments = if_not_exists(openPayments, :zero) + :delta", values={":zero": 0, ":delta": delta})
    return tx_update(bank_account_key(user_id, bank_account_id), update, EXISTING_ITEM)


# --- payments -------------------------------------------------------------------------------------


def new_payment(
    *,
    kind: str,
    direction: str,
    amount: Decimal,
    account: Item,
    loan_id: str | None,
    at: str,
    not_before: str,
    attempt: int = 1,
    retry_of: str | None = None,
    payment_id: str | None = None,
) -> Item:
    """A scheduled payment: it waits in ACHPAY#scheduled for the first file on or after `not_before` (YYYY-MM-DD)."""
    payment_id = payment_id or uuid7()
    item: Item = {
        **payment_key(payment_id, payment_owner(loan_id=loan_id, bank_account_id=account["bankAccountId"])),
        **payment_status_keys("scheduled", not_before, payment_id),
        "entity": "payment",
        "paymentId": payment_id,
        "kind": kind,
        "direction": direction,
        "amount": amount,
        "bankAccountId": account["bankAccountId"],
        "ownerId": account["userId"],
        "status": "scheduled",
        "attempt": attempt,
        "description": RETRY_DESCRIPTION if attempt > 1 else DESCRIPTIONS[kind],
        "notBefore": not_before,
        "createdAt": at,
    }
    if loan_id:
        item["loanId"] = loan_id
    if retry_of:
        item["retryOf"] = retry_of
    return item


def scheduled(payment: Item, actor: Actor, *, counted: bool = True) -> list[Operation]:
    """A new payment, its event, and one more open payment on its account (unless the account is being written
    in the same transaction with its count, as a new account with its micro-deposits: `counted=False`)."""
    operations = [
        tx_put(payment, NEW_ITEM),
        payment_event(payment, actor, "payment_scheduled", amount=payment["amount"], kind=payment["kind"], attempt=payment["attempt"]),
    ]
    if counted:
        operations.append(open_payments_delta(payment["ownerId"], payment["bankAccountId"], 1))
    return operations


def payment_public(item: Item) -> Payment:
    return Payment(
        payment_id=item["paymentId"],
        loan_id=item.get("loanId"),
        kind=item["kind"],
        direction=item["direction"],
        amount=amount_of(item["amount"]),
        bank_account_id=item["bankAccountId"],
        status=item["status"],
        effective_date=item.get("effectiveDate"),
        trace_number=item.get("traceNumber"),
        return_code=item.get("returnCode"),
        attempt=int(item.get("attempt", 1)),
        created_at=item["createdAt"],
        submitted_at=item.get("submittedAt"),
        settled_at=item.get("settledAt"),
        returned_at=item.get("returnedAt"),
    )


def key_of(payment: Item) -> dict[str, str]:
    return {"PK": payment["PK"], "SK": payment["SK"]}


def claim(payment: Item, *, file_id: str, account: Item) -> dict[str, Any]:
    """UpdateItem parameters that give a scheduled payment to a file, with a copy of its account's sealed details.

    The copy makes the file rebuildable byte for byte after a crash, even if a notification of
    change updates the account in between.
    """
    snapshot = {name: account[name] for name in SNAPSHOT if name in account}
    names = {"#status": "status", **{f"#s{i}": name for i, name in enumerate(snapshot)}}
    values: dict[str, Any] = {":scheduled": "scheduled", ":file": file_id, **{f":s{i}": value for i, value in enumerate(snapshot.values())}}
    claim_keys = payment_claim_keys(file_id, payment["paymentId"])
    values[":gpk"], values[":gsk"] = claim_keys[DEADLINE_PARTITION], claim_keys[DEADLINE_SORT]
    sets = ", ".join(f"#s{i} = :s{i}" for i in range(len(snapshot)))
    update = Expression(
        f"SET fileId = :file, {DEADLINE_PARTITION} = :gpk, {DEADLINE_SORT} = :gsk{', ' + sets if sets else ''}", names=names, values=values
    )
    condition = Expression(
        "#status = :scheduled AND attribute_not_exists(fileId)", names={"#status": "status"}, values={":scheduled": "scheduled"}
    )
    return {"key": key_of(payment), "update": update, "condition": condition}


def released(payment: Item, *, file_id: str) -> dict[str, Any]:
    """UpdateItem parameters that give a claimed payment back to the scheduled partition (its file was abandoned)."""
    status_keys = payment_status_keys("scheduled", payment["notBefore"], payment["paymentId"])
    update = Expression(
        f"SET {DEADLINE_PARTITION} = :gpk, {DEADLINE_SORT} = :gsk REMOVE fileId, " + ", ".join(SNAPSHOT),
        values={":gpk": status_keys[DEADLINE_PARTITION], ":gsk": status_keys[DEADLINE_SORT]},
    )
    condition = Expression("#status = :scheduled AND fileId = :file", names=STATUS, values={":scheduled": "scheduled", ":file": file_id})
    return {"key": key_of(payment), "update": update, "condition": condition}


def submitted(payment: Item, actor: Actor, *, file_id: str, trace_number: str, effective_date: str, settle_on: str) -> list[Operation]:
    """In an uploaded file: its trace number (claimed for ever), effective date, and the day it settles."""
    status_keys = payment_status_keys("submitted", settle_on, payment["paymentId"])
    update = Expression(
        f"SET #status = :submitted, traceNumber = :trace, effectiveDate = :effective, settleOn = :settle, submittedAt = :at, "
        f"{DEADLINE_PARTITION} = :gpk, {DEADLINE_SORT} = :gsk",
        names=STATUS,
        values={
            ":submitted": "submitted",
            ":trace": trace_number,
            ":effective": effective_date,
            ":settle": settle_on,
            ":at": actor.at,
            ":gpk": status_keys[DEADLINE_PARTITION],
            ":gsk": status_keys[DEADLINE_SORT],
        },
    )
    condition = Expression("#status = :scheduled AND fileId = :file", names=STATUS, values={":scheduled": "scheduled", ":file": file_id})
    trace = {
        **trace_key(trace_number),
        "entity": "trace",
        "traceNumber": trace_number,
        "paymentPK": payment["PK"],
        "paymentSK": payment["SK"],
    }
    return [
        tx_update(key_of(payment), update, condition),
        tx_put(trace, NEW_ITEM),
        payment_event(payment, actor, "payment_submitted", traceNumber=trace_number, effectiveDate=effective_date, fileId=file_id),
    ]


def _ended(
    payment: Item,
    actor: Actor,
    *,
    status: str,
    was: tuple[str, ...],
    sets: dict[str, Any],
    event_type: str,
    facts: dict[str, Any],
    counted: bool = True,
) -> list[Operation]:
    """A payment leaves `was` for `status` (a terminal one): stamped, moved in GSI2, its account's open count down."""
    status_keys = payment_status_keys(status, actor.at[:10], payment["paymentId"])
    names = {**STATUS, **{f"#x{i}": name for i, name in enumerate(sets)}}
    values: dict[str, Any] = {
        ":new": status,
        ":gpk": status_keys[DEADLINE_PARTITION],
        ":gsk": status_keys[DEADLINE_SORT],
        **{f":x{i}": value for i, value in enumerate(sets.values())},
        **{f":was{i}": value for i, value in enumerate(was)},
    }
    assignments = "".join(f", #x{i} = :x{i}" for i in range(len(sets)))
    update = Expression(f"SET #status = :new, {DEADLINE_PARTITION} = :gpk, {DEADLINE_SORT} = :gsk{assignments}", names=names, values=values)
    condition = Expression(
        "#status IN (" + ", ".join(f":was{i}" for i in range(len(was))) + ")",
        names=STATUS,
        values={f":was{i}": value for i, value in enumerate(was)},
    )
    operations = [tx_update(key_of(payment), update, condition), payment_event(payment, actor, event_type, **facts)]
    if counted and payment["status"] in OPEN:  # a return after settlement: the payment had left the open count already
        operations.append(open_payments_delta(payment["ownerId"], payment["bankAccountId"], -1))
    return operations


def settled(payment: Item, actor: Actor) -> list[Operation]:
    return _ended(
        payment, actor, status="settled", was=("submitted",), sets={"settledAt": actor.at}, event_type="payment_settled", facts={}
    )


def returned(payment: Item, actor: Actor, *, return_code: str, late: bool, counted: bool = True) -> list[Operation]:
    """A return entry named its trace: while submitted, or (an unauthorised code) after it settled. `counted=False`
    when the transaction moves the account's open count itself (a retry scheduled, the account failed)."""
    was = ("submitted", "settled") if late else ("submitted",)
    sets = {"returnCode": return_code, "returnedAt": actor.at}
    return _ended(
        payment,
        actor,
        status="returned",
        was=was,
        sets=sets,
        event_type="payment_returned",
        facts={"returnCode": return_code},
        counted=counted,
    )


def cancelled(payment: Item, actor: Actor, *, reason: str, counted: bool = True) -> list[Operation]:
    """Never sent: its account failed or closed (or, later, its loan unwound). `counted=False` when the same
    transaction writes the account's open count itself (closing it)."""
    sets = {"cancelledAt": actor.at, "cancelReason": reason}
    operations = _ended(
        payment,
        actor,
        status="cancelled",
        was=("scheduled",),
        sets=sets,
        event_type="payment_cancelled",
        facts={"reason": reason},
        counted=counted,
    )
    operations[0]["Update"]["_condition"] = Expression(
        "#status = :was0 AND attribute_not_exists(fileId)", names=STATUS, values={":was0": "scheduled"}
    )
    return operations


def amount(payment: Item) -> Decimal:
    return amount_of(payment["amount"])
