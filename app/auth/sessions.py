"""Refresh tokens and their session families as items of the single table.

A login (or register) starts a family; each refresh marks the presented token used and issues the
next one in the same family. Only SHA-256 hashes of tokens are stored.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed, TransactionCancelled
from app.db.expressions import Expression, Item, tx_put, tx_update
from app.db.keys import refresh_token_key, session_family_key

_NEW_ITEM = Expression("attribute_not_exists(PK)")


class RefreshTokenAlreadyUsed(Exception):
    """The token was rotated before: someone replays it."""


class SessionRevoked(Exception):
    """The token's family was revoked (reuse detected or logout) or has expired away."""


@dataclass(frozen=True)
class NewSession:
    """A refresh token to store; `starts_family` for the first token of a login."""

    token_hash: str
    family_id: str
    user_id: str
    email: str
    created_at: str
    expires_at: int  # epoch seconds; checked by code, and DynamoDB's TTL cleans up after it
    starts_family: bool
    email_verified: bool = False  # the user had verified their email when the session started: its tokens say so


@dataclass(frozen=True)
class RefreshRecord:
    token_hash: str
    family_id: str
    user_id: str
    email: str
    expires_at: int
    used: bool
    email_verified: bool = False


def _token_item(session: NewSession) -> Item:
    return {
        **refresh_token_key(session.token_hash),
        "entity": "refresh",
        "userId": session.user_id,
        "email": session.email,
        "familyId": session.family_id,
        "createdAt": session.created_at,
        "expiresAt": session.expires_at,
        "expireAt": session.expires_at,
        "emailVerified": session.email_verified,
    }


def _family_alive(session: NewSession) -> dict[str, Any]:
    """Keep the family item at least as long as its newest token, on condition it is not revoked."""
    return tx_update(
        session_family_key(session.family_id),
        Expression("SET expireAt = :exp", values={":exp": session.expires_at}),
        Expression("revoked = :false AND userId = :uid", values={":false": False, ":uid": session.user_id}),
    )


def session_items(session: NewSession) -> list[dict[str, Any]]:
    """The transaction operations that store `session` (and its family, when it starts one)."""
    token = tx_put(_token_item(session), _NEW_ITEM)
    if not session.starts_family:
        return [token, _family_alive(session)]
    family = {
        **session_family_key(session.family_id),
        "entity": "family",
        "userId": session.user_id,
        "revoked": False,
        "createdAt": session.created_at,
        "expireAt": session.expires_at,
    }
    return [token, tx_put(family, _NEW_ITEM)]


def get_refresh_token(db: Dynamo, token_hash: str) -> RefreshRecord | None:
    item = db.get(refresh_token_key(token_hash))
    if item is None:
        return None
    return RefreshRecord(
        token_hash=token_hash,
        family_id=item["familyId"],
        user_id=item["userId"],
        email=item["email"],
        expires_at=int(item["expiresAt"]),
        used="usedAt" in item,
        email_verified=item.get("emailVerified") is True,
    )


def rotate_refresh_token(db: Dynamo, *, old: RefreshRecord, used_at: str, new: NewSession) -> None:
    """Mark `old` used, store `new`, and check the family is live: one TransactWriteItems."""
    mark_used = tx_update(
        refresh_token_key(old.token_hash),
        Expression("SET usedAt = :now", values={":now": used_at}),
        Expression("attribute_exists(PK) AND attribute_not_exists(usedAt)"),
    )
    try:
        db.transact_write([mark_used, *session_items(new)])
    except TransactionCancelled as exc:
        if exc.failed(0):
            raise RefreshTokenAlreadyUsed() from exc
        if exc.failed(2):
            raise SessionRevoked() from exc
        raise


def revoke_family(db: Dynamo, *, family_id: str, user_id: str, revoked_at: str) -> None:
    """Every token of the family stops working; only the family's own user can do this."""
    with suppress(ConditionFailed):  # the family is gone (expired) or not this user's: nothing left to revoke
        db.update(
            session_family_key(family_id),
            Expression("SET revoked = :true, revokedAt = :now", values={":true": True, ":now": revoked_at}),
            condition=Expression("userId = :uid", values={":uid": user_id}),
        )
