"""The user item (USER#<id>): its one reader and writer. Other domains reach it through app/users/service.py.

read      GetItem USER#<id>
register  a Put of the new item, committed inside auth's registration transaction
profile   UpdateItem (conditional on the item existing)
lender    an ADD roles operation, committed inside login's or an acceptance's transaction
exists    a ConditionCheck (attribute_exists), committed inside every other write a user makes
verify    Update operations committed inside auth's verification transactions (a new link; the link used)

Read-time defaults for items written before email verification: no `emailVerified` reads as false
(the account must verify), no `emailNotifications` as true, no `verificationSentAt` as no email sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_check, tx_put, tx_update
from app.db.keys import user_key
from app.errors import Unauthenticated

BORROWER = "borrower"
LENDER = "lender"
ACCOUNT_GONE = "The account no longer exists"


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
