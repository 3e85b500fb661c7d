"""User rules: the profile a user sees and may change, their roles; the user item's owner for other domains.

Other domains call these by module alias (`from app.users import service as users_service`):
get_user, initial_roles, new_user, lender_grant and account_exists (the operations their transactions commit);
auth's email verification: new_verification_link, email_verified (operations) and is_email_verified (the gate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.clock import Clock, iso
from app.errors import Unauthenticated
from app.transactions import CallerCheck
from app.users import repository
from app.users.repository import ACCOUNT_GONE, BORROWER, LENDER, PendingVerification, UserRecord, roles_of
from app.users.schemas import Profile, ProfileUpdate

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Operation

__all__ = ["BORROWER", "LENDER", "PendingVerification", "UserRecord", "roles_of"]


def initial_roles(*, invited: bool) -> frozenset[str]:
    """Everyone borrows; an email with any invitation lends too (see the Roles rule in docs/api.md)."""
    return frozenset({BORROWER, LENDER}) if invited else frozenset({BORROWER})


def get_user(*, db: Dynamo, user_id: str) -> UserRecord | None:
    """The user item (one GetItem), or None when the account is gone."""
    return repository.get_user(db, user_id)


def existing_user(*, db: Dynamo, user_id: str) -> UserRecord:
    """The caller's user item; 401 when a valid token outlived its account."""
    user = repository.get_user(db, user_id)
    if user is None:
        raise account_gone()
    return user


def account_gone() -> Unauthenticated:
    """401: a valid token whose account no longer exists (a read found no user item, or an account_exists check failed)."""
    return Unauthenticated(ACCOUNT_GONE)


def account_exists(*, user_id: str) -> CallerCheck:
    """A ConditionCheck on the user item with its meaning (401 account_gone), for every write transaction a user makes
    that does not otherwise touch their item: the write proves, atomically with its changes, that the account exists."""
    return CallerCheck(operation=repository.account_exists(user_id), refused=account_gone)


def new_user(user: UserRecord) -> Operation:
    """The operation that creates the user item (a registration commits it with its own items)."""
    return repository.new_user(user)


def lender_grant(*, user_id: str, at: str) -> Operation:
    """The operation that gives an existing user the lender role (login and acceptance commit it)."""
    return repository.lender_grant(user_id, at)


def new_verification_link(*, user_id: str, read_hash: str | None, link: PendingVerification) -> Operation:
    """The operation that stores a new verification link, valid only if the user item still holds the one read."""
    return repository.new_verification_link(user_id, read_hash=read_hash, link=link)


def email_verified(*, user_id: str, read_hash: str, at: str) -> Operation:
    """The operation that marks the email verified and spends the link read (fails if it changed)."""
    return repository.email_verified(user_id, read_hash=read_hash, at=at)


def is_email_verified(*, db: Dynamo, user_id: str) -> bool:
    """Whether the user proved their email (one GetItem; 401 when the account is gone)."""
    return existing_user(db=db, user_id=user_id).email_verified


def profile_of(user: UserRecord) -> Profile:
    """The wire Profile of a user (roles sorted)."""
    return Profile(
        user_id=user.user_id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=user.phone,
        roles=sorted(user.roles),
        created_at=user.created_at,
        email_verified=user.email_verified,
        email_notifications=user.email_notifications,
    )


def get_profile(*, db: Dynamo, user_id: str) -> Profile:
    """The caller's profile (one GetItem)."""
    return profile_of(existing_user(db=db, user_id=user_id))


def update_profile(*, db: Dynamo, clock: Clock, user_id: str, update: ProfileUpdate) -> Profile:
    """Apply only the fields that were sent; phone null removes the phone; nothing sent changes nothing."""
    sent = update.model_fields_set
    if not sent:
        return get_profile(db=db, user_id=user_id)
    attributes = {"first_name": "firstName", "last_name": "lastName", "phone": "phone", "email_notifications": "emailNotifications"}
    changes = {attributes[name]: getattr(update, name) for name in sent if getattr(update, name) is not None}
    removals = [attributes[name] for name in sent if getattr(update, name) is None]
    updated = repository.update_user(db, user_id=user_id, changes=changes, removals=removals, updated_at=iso(clock.now()))
    return profile_of(updated)


def get_users(*, db: Dynamo, user_ids: list[str]) -> dict[str, UserRecord]:
    """Several users at once (BatchGetItem), by id; ids without an account are left out (the notifications' recipients)."""
    return repository.get_users(db, user_ids)
