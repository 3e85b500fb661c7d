"""The user item (USER#<id>): its one reader and writer. Other domains reach it through app/users/service.py.

read      GetItem USER#<id>
register  a Put of the new item, committed inside auth's registration transaction
profile   UpdateItem (conditional on the item existing)
lender    an ADD roles operation, committed inside login's or an acceptance's transaction
operator  ADD / DELETE roles + the change's audit event (USER#<id> / EVENT#<id>), one transaction (python -m app.admin)
exists    a ConditionCheck (attribute_exists), committed inside every other write a user makes
verify    Update operations committed inside auth's verification transactions (a new link; the link used)

Read-time defaults for items written before email verification: no `emailVerified` reads as false
(the account must verify), no `emailNotifications` as true, no `verificationSentAt` as no email sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed, TransactionCancelled
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_check, tx_put, tx_update
from app.db.keys import email_key, user_event_key, user_key
from app.errors import NotFound, Unauthenticated

BORROWER = "borrower"
LENDER = "lender"
OPERATOR = "operator"  # never granted by the API: only by `python -m app.admin grant-operator EMAIL`
ACCOUNT_GONE = "The account no longer exists"


class UnknownAccount(NotFound):
    message = "No account has this email"


@dataclass(frozen=True)
class PendingVerification:
    """What the user item keeps of the verification links: the latest one's hash and expiry, and recent send times."""

    token_hash: str | None  # None: no link issued (an account from before verification existed)
    expires_at: int | None  # epoch seconds
    sent_at: tuple[int, ...]  # epoch seconds of the emails asked for, newest last (the resend throttle's window)


@dataclass(frozen=True)
class UserRecord:
    """The user item (never carries the password hash: that lives on auth's email claim)."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    roles: frozenset[str]
    created_at: str
    updated_at: str
    email_verified: bool = False
    email_notifications: bool = True
    verification: PendingVerification | None = None  # the live link's hash and expiry; None once verified

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def roles_of(item: Item) -> frozenset[str]:
    """The user's roles; an item without any (never written so) reads as a borrower."""
    return frozenset(item.get("roles") or {BORROWER})


def user_from_item(item: Item) -> UserRecord:
    return UserRecord(
        user_id=item["userId"],
        email=item["email"],
        first_name=item.get("firstName", ""),
        last_name=item.get("lastName", ""),
        phone=item.get("phone"),
        roles=roles_of(item),
        created_at=item["createdAt"],
        updated_at=str(item.get("updatedAt") or item["createdAt"]),
        email_verified=item.get("emailVerified") is True,
        email_notifications=item.get("emailNotifications") is not False,
        verification=None if item.get("emailVerified") is True else _pending_verification(item),
    )


def _pending_verification(item: Item) -> PendingVerification:
    expires = item.get("verificationExpiresAt")
    return PendingVerification(
        token_hash=item.get("verificationHash"),
        expires_at=int(expires) if expires is not None else None,
        sent_at=tuple(int(moment) for moment in item.get("verificationSentAt") or ()),
    )


def get_user(db: Dynamo, user_id: str) -> UserRecord | None:
    item = db.get(user_key(user_id))
    return user_from_item(item) if item else None


def new_user(user: UserRecord) -> Operation:
    """The Put of a new user item (fails if the id exists)."""
    item: Item = {
        **user_key(user.user_id),
        "entity": "user",
        "userId": user.user_id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "roles": set(user.roles),
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
        "emailVerified": user.email_verified,
        "emailNotifications": user.email_notifications,
    }
    if user.phone is not None:
        item["phone"] = user.phone
    if user.verification is not None and user.verification.token_hash is not None:
        item["verificationHash"] = user.verification.token_hash
        item["verificationExpiresAt"] = user.verification.expires_at
        item["verificationSentAt"] = list(user.verification.sent_at)
    return tx_put(item, NEW_ITEM)


def account_exists(user_id: str) -> Operation:
    """A ConditionCheck that the user item exists: a write by a token that outlived its account fails with it."""
    return tx_check(user_key(user_id), EXISTING_ITEM)


def lender_grant(user_id: str, at: str) -> Operation:
    """ADD the lender role to an existing user (a set: granting twice changes nothing)."""
    return tx_update(
        user_key(user_id),
        Expression(
            "ADD #roles :lender SET updatedAt = :now",
            names={"#roles": "roles"},  # a DynamoDB reserved word
            values={":lender": {LENDER}, ":now": at},
        ),
        EXISTING_ITEM,
    )


def _unverified_with_link(read_hash: str | None) -> Expression:
    """The item exists, is not verified, and still holds the link that was read (or none, if none was)."""
    unverified = "attribute_exists(PK) AND (attribute_not_exists(emailVerified) OR emailVerified = :false)"
    if read_hash is None:
        return Expression(f"{unverified} AND attribute_not_exists(verificationHash)", values={":false": False})
    return Expression(f"{unverified} AND verificationHash = :read", values={":false": False, ":read": read_hash})


def new_verification_link(user_id: str, *, read_hash: str | None, link: PendingVerification) -> Operation:
    """Replace the link (hash, expiry) and the send times, conditional on the item being as read: unverified, same link."""
    return tx_update(
        user_key(user_id),
        Expression(
            "SET verificationHash = :hash, verificationExpiresAt = :expires, verificationSentAt = :sent",
            values={":hash": link.token_hash, ":expires": link.expires_at, ":sent": list(link.sent_at)},
        ),
        _unverified_with_link(read_hash),
    )


def email_verified(user_id: str, *, read_hash: str, at: str) -> Operation:
    """Mark the email verified and spend the link, conditional on the link being the one read (single use)."""
    return tx_update(
        user_key(user_id),
        Expression(
            "SET emailVerified = :true, verifiedAt = :at REMOVE verificationHash, verificationExpiresAt, verificationSentAt",
            values={":true": True, ":at": at},
        ),
        _unverified_with_link(read_hash),
    )


def update_user(db: Dynamo, *, user_id: str, changes: dict[str, object], removals: list[str], updated_at: str) -> UserRecord:
    """Set/remove profile attributes of an existing user and return it afterwards (401 if it is gone)."""
    names: dict[str, str] = {"#updatedAt": "updatedAt"}
    values: dict[str, object] = {":updatedAt": updated_at}
    assignments = ["#updatedAt = :updatedAt"]
    for index, (attribute, value) in enumerate(sorted(changes.items())):
        names[f"#a{index}"] = attribute
        values[f":v{index}"] = value
        assignments.append(f"#a{index} = :v{index}")
    expression = "SET " + ", ".join(assignments)
    if removals:
        for index, attribute in enumerate(removals):
            names[f"#r{index}"] = attribute
        expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removals)))
    try:
        item = db.update(user_key(user_id), Expression(expression, names=names, values=values), condition=EXISTING_ITEM)
    except ConditionFailed as exc:
        raise Unauthenticated(ACCOUNT_GONE) from exc
    return user_from_item(item)


def get_users(db: Dynamo, user_ids: list[str]) -> dict[str, UserRecord]:
    """The user items of `user_ids` that exist (one BatchGetItem: at most 100 ids), by id."""
    unique = list(dict.fromkeys(user_ids))
    return {user.user_id: user for user in (user_from_item(item) for item in db.batch_get([user_key(uid) for uid in unique]))}


@dataclass(frozen=True)
class RoleEvent:
    """Who changed a role, when, in which run: the audit event a role change writes beside it."""

    event_id: str  # UUIDv7
    at: str
    actor_id: str  # who ran the command (`cli:<login>`): not a user of the app
    request_id: str


def owner_of_email(db: Dynamo, email: str) -> str | None:
    """The userId on the email claim EMAIL#<email> (one GetItem). A read only: auth writes and owns the claim."""
    item = db.get(email_key(email))
    return str(item["userId"]) if item else None


def change_operator_role(db: Dynamo, *, user_id: str, grant: bool, event: RoleEvent) -> bool:
    """ONE TransactWriteItems: ADD (grant) or DELETE (revoke) the operator role on the existing user item, conditional
    on it not holding (holding) the role yet, + Put the `operator_granted` (`operator_revoked`) event in the user's
    partition. False when the role already was so (nothing written: no event); UnknownAccount when the item is gone."""
    held = "contains(#roles, :role)"
    condition = f"attribute_exists(PK) AND NOT {held}" if grant else f"attribute_exists(PK) AND {held}"
    change = tx_update(
        user_key(user_id),
        Expression(
            f"{'ADD' if grant else 'DELETE'} #roles :operator SET updatedAt = :now",
            names={"#roles": "roles"},  # a DynamoDB reserved word
            values={":operator": {OPERATOR}, ":now": event.at},
        ),
        Expression(condition, names={"#roles": "roles"}, values={":role": OPERATOR}),
    )
    item: Item = {
        **user_event_key(user_id, event.event_id),
        "entity": "event",
        "eventId": event.event_id,
        "userId": user_id,
        "actorId": event.actor_id,
        "at": event.at,
        "requestId": event.request_id,
        "type": "operator_granted" if grant else "operator_revoked",  # the outbox sends no email for either
    }
    try:
        db.transact_write([change, tx_put(item, NEW_ITEM)])
    except TransactionCancelled as exc:
        if not exc.failed(0):
            raise
        if exc.items[0] is None:  # the claim outlived its user item
            raise UnknownAccount() from exc
        return False
    return True
