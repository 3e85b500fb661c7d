"""Users, email claims, invitations-by-email and logins as items of the single table (see docs/data-model.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.auth.schemas import Profile
from app.auth.sessions import NewSession, session_items
from app.db.dynamo import Dynamo, Expression, Item, TransactionCancelled, tx_delete, tx_put, tx_update
from app.db.keys import email_key, invitation_sort_key, login_throttle_key, user_key
from app.db.table import GSI1_NAME
from app.errors import Conflict

BORROWER = "borrower"
LENDER = "lender"
_NEW_ITEM = Expression("attribute_not_exists(PK)")


class EmailTaken(Conflict):
    code, message = "EMAIL_TAKEN", "An account with this email already exists"


@dataclass(frozen=True)
class UserRecord:
    """The user item (never carries the password hash: that lives on the email claim)."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    roles: frozenset[str]
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Credentials:
    user_id: str
    password_hash: str


@dataclass(frozen=True)
class InvitationSummary:
    total: int  # any invitation at all makes the email a lender
    pending: int  # still "invited" on a "pending" loan


def user_from_item(item: Item) -> UserRecord:
    return UserRecord(
        user_id=item["userId"],
        email=item["email"],
        first_name=item["firstName"],
        last_name=item["lastName"],
        phone=item.get("phone"),
        roles=frozenset(item.get("roles") or {BORROWER}),
        created_at=item["createdAt"],
        updated_at=str(item.get("updatedAt") or item["createdAt"]),
    )


def profile_of(user: UserRecord) -> Profile:
    """The wire Profile of a user record (roles sorted)."""
    return Profile(
        user_id=user.user_id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=user.phone,
        roles=sorted(user.roles),
        created_at=user.created_at,
    )


def profile_from_item(item: Item) -> Profile:
    """The wire Profile of a raw user item, for other domains that read USER#<id> themselves."""
    return profile_of(user_from_item(item))


def _user_item(user: UserRecord) -> Item:
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
    }
    if user.phone is not None:
        item["phone"] = user.phone
    return item


def get_user(db: Dynamo, user_id: str) -> UserRecord | None:
    item = db.get(user_key(user_id))
    return user_from_item(item) if item else None


def register_user(db: Dynamo, *, user: UserRecord, password_hash: str, session: NewSession) -> None:
    """User + email claim + first session, all or nothing; EmailTaken if the email is claimed."""
    claim = {
        **email_key(user.email),
        "entity": "email",
        "email": user.email,
        "userId": user.user_id,
        "passwordHash": password_hash,
        "createdAt": user.created_at,
    }
    operations = [tx_put(_user_item(user), _NEW_ITEM), tx_put(claim, _NEW_ITEM), *session_items(session)]
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


def invitations_of(db: Dynamo, email: str) -> InvitationSummary:
    """Every invitation of an email: one Query on GSI1 (SK = INVITE#<email>)."""
    key_condition = Expression("SK = :sk", values={":sk": invitation_sort_key(email)})
    items = db.query_all(key_condition, index=GSI1_NAME)
    pending = sum(1 for item in items if item.get("status") == "invited" and item.get("loanStatus") == "pending")
    return InvitationSummary(total=len(items), pending=pending)


def complete_login(
    db: Dynamo,
    *,
    user: UserRecord,
    session: NewSession,
    grant_lender: bool,
    rehash: tuple[str, str] | None,
    now_iso: str,
) -> None:
    """One transaction: the new session, the lender role, the upgraded hash, the throttle reset.

    The hash upgrade is conditional on the hash still being the one we verified; if a concurrent
    login already upgraded it, the login is written again without the upgrade.
    """
    operations: list[dict[str, Any]] = [*session_items(session)]
    if grant_lender:
        operations.append(
            tx_update(
                user_key(user.user_id),
                Expression(
                    "ADD #roles :lender SET updatedAt = :now",
                    names={"#roles": "roles"},  # a DynamoDB reserved word
                    values={":lender": {LENDER}, ":now": now_iso},
                ),
                Expression("attribute_exists(PK)"),
            )
        )
    operations.append(tx_delete(login_throttle_key(user.email)))  # a success starts the count again
    rehash_index = len(operations)
    if rehash is not None:
        old_hash, new_hash = rehash
        operations.append(
            tx_update(
                email_key(user.email),
                Expression("SET passwordHash = :new", values={":new": new_hash}),
                Expression("passwordHash = :old", values={":old": old_hash}),
            )
        )
    try:
        db.transact_write(operations)
    except TransactionCancelled as exc:
        if rehash is None or not exc.failed(rehash_index):
            raise
        db.transact_write(operations[:rehash_index])
