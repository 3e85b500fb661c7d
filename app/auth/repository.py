"""Auth's items: the email claim (EMAIL#<email>: uniqueness and the password hash), the user events (USER#<id> /
EVENT#<id>: the outbox of account emails), and the login and verification transactions.

Registration, login and verification commit other owners' operations with auth's own (the new user
item, the lender-role grant, the verification link: built by app/users), so each stays ONE transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.errors import InvalidVerificationToken
from app.auth.sessions import NewSession, session_items
from app.db.dynamo import Dynamo
from app.db.errors import TransactionCancelled, TransactionConflict
from app.db.expressions import NEW_ITEM, Expression, Item, Operation, tx_delete, tx_put, tx_update
from app.db.keys import email_key, login_throttle_key, user_event_key
from app.errors import Conflict, LostRace

ACCOUNT_CHANGED = "The account is being changed by other requests right now; retry the request"


class EmailTaken(Conflict):
    code, message = "EMAIL_TAKEN", "An account with this email already exists"


@dataclass(frozen=True)
class Credentials:
    user_id: str
    password_hash: str


@dataclass(frozen=True)
class UserEvent:
    """An event of the user's own partition (the outbox: `verification_requested` makes the notifications code email a link)."""

    user_id: str
    event_id: str  # UUIDv7
    at: str
    request_id: str
    type: str  # verification_requested | email_verified
    fields: dict[str, str]  # verification_requested: nonce, email


def user_event(event: UserEvent) -> Operation:
    """The Put of an append-only user event (the user is its actor)."""
    item: Item = {
        **user_event_key(event.user_id, event.event_id),
        "entity": "event",
        "eventId": event.event_id,
        "userId": event.user_id,
        "actorId": event.user_id,
        "at": event.at,
        "requestId": event.request_id,
        "type": event.type,
        **event.fields,
    }
    return tx_put(item, NEW_ITEM)


def register_user(
    db: Dynamo,
    *,
    new_user: Operation,
    email: str,
    user_id: str,
    created_at: str,
    password_hash: str,
    session: NewSession,
    event: UserEvent,
) -> None:
    """User + email claim + first session + the verification event, all or nothing; EmailTaken if the email is claimed."""
    claim = {
        **email_key(email),
        "entity": "email",
        "email": email,
        "userId": user_id,
        "passwordHash": password_hash,
        "createdAt": created_at,
    }
    operations = [new_user, tx_put(claim, NEW_ITEM), *session_items(session), user_event(event)]
    try:
        db.transact_write(operations)
    except TransactionCancelled as exc:
        if exc.failed(1):
            raise EmailTaken() from exc
        raise


def credentials_of(db: Dynamo, email: str) -> Credentials | None:
    """The email claim: who owns `email` and their password hash (strongly consistent GetItem)."""
    item = db.get(email_key(email))
    return Credentials(user_id=item["userId"], password_hash=item["passwordHash"]) if item else None


def login_operations(*, email: str, session: NewSession, lender_grant: Operation | None, rehash: tuple[str, str] | None) -> list[Operation]:
    """A successful login's transaction: the new session, [the lender role], the throttle reset, [the upgraded hash last]."""
    operations: list[Operation] = [*session_items(session)]
    if lender_grant is not None:
        operations.append(lender_grant)
    operations.append(tx_delete(login_throttle_key(email)))  # a success starts the count again
    if rehash is not None:
        old_hash, new_hash = rehash
        operations.append(
            tx_update(
                email_key(email),
                Expression("SET passwordHash = :new", values={":new": new_hash}),
                Expression("passwordHash = :old", values={":old": old_hash}),
            )
        )
    return operations


def complete_login(
    db: Dynamo,
    *,
    email: str,
    session: NewSession,
    lender_grant: Operation | None,
    rehash: tuple[str, str] | None,
) -> None:
    """One transaction: the new session, the lender role, the upgraded hash, the throttle reset.

    The hash upgrade is conditional on the hash still being the one we verified; if a concurrent
    login already upgraded it, the login is written again without the upgrade.
    """
    operations = login_operations(email=email, session=session, lender_grant=lender_grant, rehash=rehash)
    try:
        db.transact_write(operations)
    except TransactionCancelled as exc:
        if rehash is None or not exc.failed(len(operations) - 1):
            raise
        db.transact_write(operations[:-1])


def store_verification_link(db: Dynamo, *, new_link: Operation, event: UserEvent) -> None:
    """The new link on the user item (conditional on the item as read) + its `verification_requested` event.

    LostRace when the user item changed since it was read (another resend, a verification): read again.
    """
    try:
        db.transact_write([new_link, user_event(event)])
    except TransactionCancelled as exc:
        if exc.failed(0):
            raise LostRace(ACCOUNT_CHANGED) from exc
        raise
    except TransactionConflict as exc:
        raise LostRace(ACCOUNT_CHANGED) from exc


def complete_verification(db: Dynamo, *, verified: Operation, event: UserEvent) -> None:
    """Mark verified and spend the link (conditional on it being the link read) + the `email_verified` event.

    A refused condition means the link was spent or replaced in between: the token is no longer valid.
    """
    try:
        db.transact_write([verified, user_event(event)])
    except TransactionCancelled as exc:
        if exc.failed(0):
            raise InvalidVerificationToken() from exc
        raise
    except TransactionConflict as exc:
        raise LostRace(ACCOUNT_CHANGED) from exc
