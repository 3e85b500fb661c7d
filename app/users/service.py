"""User rules: the profile a user sees and may change, their roles; the user item's owner for other domains.

Other domains call these by module alias (`from app.users import service as users_service`):
get_user, initial_roles, new_user, lender_grant and account_exists (the operations their transactions commit);
auth's email verification: new_verification_link, email_verified (operations) and is_email_verified (the gate).
The operator role: grant_operator / revoke_operator (python -m app.admin only, never the API) and is_operator (app/ops).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.clock import Clock, iso, uuid7
from app.errors import Unauthenticated
from app.schemas import email_spellings
from app.transactions import CallerCheck
from app.users import repository
from app.users.repository import (
    ACCOUNT_GONE,
    BORROWER,
    LENDER,
    OPERATOR,
    PendingVerification,
    RoleEvent,
    UnknownAccount,
    UserRecord,
    roles_of,
)
from app.users.schemas import Profile, ProfileUpdate

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Operation

__all__ = ["BORROWER", "LENDER", "OPERATOR", "PendingVerification", "UnknownAccount", "UserRecord", "roles_of"]

logger = logging.getLogger("app.users")


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


@dataclass(frozen=True)
class OperatorChange:
    """What a grant or a revocation did: `changed` False when the role already was so (nothing was written)."""

    user_id: str
    email: str
    changed: bool


def is_operator(*, db: Dynamo, user_id: str) -> bool:
    """Whether the user item holds the operator role (one GetItem, strongly consistent: a revocation counts at once)."""
    user = repository.get_user(db, user_id)
    return user is not None and OPERATOR in user.roles


def grant_operator(*, db: Dynamo, clock: Clock, email: str, actor_id: str, request_id: str) -> OperatorChange:
    """Give the owner of `email` the operator role with its `operator_granted` event; granting twice writes nothing."""
    return _change_operator(db=db, clock=clock, email=email, actor_id=actor_id, request_id=request_id, grant=True)


def revoke_operator(*, db: Dynamo, clock: Clock, email: str, actor_id: str, request_id: str) -> OperatorChange:
    """Take the operator role from the owner of `email` with its `operator_revoked` event; a non-operator is left as is."""
    return _change_operator(db=db, clock=clock, email=email, actor_id=actor_id, request_id=request_id, grant=False)


def _owner_of(*, db: Dynamo, email: str) -> tuple[str, str]:
    """(the address as stored, its owner's userId): the normal form registration stores, then an older spelling, as
    login looks an email up; UnknownAccount when no account has it."""
    for spelling in email_spellings(email):
        user_id = repository.owner_of_email(db, spelling)
        if user_id is not None:
            return spelling, user_id
    raise UnknownAccount()


def _change_operator(*, db: Dynamo, clock: Clock, email: str, actor_id: str, request_id: str, grant: bool) -> OperatorChange:
    stored, user_id = _owner_of(db=db, email=email)
    event = RoleEvent(event_id=uuid7(), at=iso(clock.now()), actor_id=actor_id, request_id=request_id)
    changed = repository.change_operator_role(db, user_id=user_id, grant=grant, event=event)
    if changed:
        what = "operator_granted" if grant else "operator_revoked"
        extra = {"request_id": request_id, "event": what, "user_id": user_id, "event_id": event.event_id}
        logger.info("operator role changed", extra=extra)
    return OperatorChange(user_id=user_id, email=stored, changed=changed)
