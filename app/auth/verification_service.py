"""Email verification rules: issuing a link (at registration and on resend), using it, and the resend throttle.

Only the latest link works: each new one replaces the stored hash. A link is single use (verifying
removes the hash in the same transaction, conditional on it being the hash read), lives 24 hours, and
is checked against the caller's own user item only, so another account's link is useless. Expired,
used, replaced and foreign links get the same answer (422 INVALID_VERIFICATION_TOKEN).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.auth import repository, verification
from app.auth.errors import EmailAlreadyVerified, InvalidVerificationToken
from app.auth.repository import UserEvent
from app.auth.tokens import Principal
from app.clock import Clock, epoch, iso, uuid7
from app.config import Settings
from app.errors import RateLimited
from app.retry import retry_on_lost_race
from app.users import service as users_service
from app.users.schemas import Profile

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo

logger = logging.getLogger("app.auth")

VERIFICATION_REQUESTED = "verification_requested"
EMAIL_VERIFIED = "email_verified"


@dataclass(frozen=True)
class NewLink:
    """A link to store on the user item, and the event that has it emailed."""

    pending: users_service.PendingVerification
    event: UserEvent


def new_link(*, settings: Settings, clock: Clock, user_id: str, email: str, request_id: str, recent_sends: tuple[int, ...]) -> NewLink:
    """A fresh nonce; the user item will hold only its token's hash and expiry, the event the nonce and the address."""
    now = clock.now()
    nonce = verification.new_nonce()
    token = verification.verification_token(settings=settings, user_id=user_id, nonce=nonce)
    pending = users_service.PendingVerification(
        token_hash=verification.token_hash(token),
        expires_at=epoch(now) + verification.TOKEN_TTL_SECONDS,
        sent_at=(*recent_sends, epoch(now)),
    )
    event = UserEvent(
        user_id=user_id,
        event_id=uuid7(),  # the machine's time, as the loan events: sorts in the order things happened
        at=iso(now),
        request_id=request_id,
        type=VERIFICATION_REQUESTED,
        fields={"nonce": nonce, "email": email},
    )
    return NewLink(pending=pending, event=event)


def verify_email(*, db: Dynamo, settings: Settings, clock: Clock, caller: Principal, token: str, request_id: str) -> Profile:
    """Spend the caller's live link and mark their email verified (permanent); 422 INVALID_VERIFICATION_TOKEN otherwise."""

    def attempt() -> Profile:
        user = users_service.existing_user(db=db, user_id=caller.user_id)
        now = clock.now()
        pending = user.verification
        if pending is None or pending.token_hash is None:  # already verified, or never sent a link
            verification.token_matches(token, stored_hash=None, expires_at=None, now=epoch(now))
            raise InvalidVerificationToken()
        if not verification.token_matches(token, stored_hash=pending.token_hash, expires_at=pending.expires_at, now=epoch(now)):
            raise InvalidVerificationToken()
        event = UserEvent(user_id=user.user_id, event_id=uuid7(), at=iso(now), request_id=request_id, type=EMAIL_VERIFIED, fields={})
        verified = users_service.email_verified(user_id=user.user_id, read_hash=pending.token_hash, at=iso(now))
        repository.complete_verification(db, verified=verified, event=event)
        return users_service.profile_of(replace(user, email_verified=True, verification=None))

    try:
        profile = retry_on_lost_race(attempt, turns=db.turns(caller.user_id))
    except InvalidVerificationToken:
        logger.info("email verification refused", extra={"request_id": request_id, "event": "verify_refused", "user_id": caller.user_id})
        raise
    logger.info("email verified", extra={"request_id": request_id, "event": "email_verified", "user_id": caller.user_id})
    return profile


def resend_verification(*, db: Dynamo, settings: Settings, clock: Clock, caller: Principal, request_id: str) -> None:
    """Issue a new link (the previous one stops working); at most 3 emails in any rolling hour, the registration's included."""

    def attempt() -> None:
        user = users_service.existing_user(db=db, user_id=caller.user_id)
        if user.email_verified or user.verification is None:
            raise EmailAlreadyVerified()
        now = epoch(clock.now())
        recent = verification.sends_in_window(user.verification.sent_at, now=now)
        wait = verification.retry_after(recent, now=now)
        if wait is not None:
            raise RateLimited(wait, "At most 3 verification emails an hour; retry later")
        link = new_link(
            settings=settings, clock=clock, user_id=user.user_id, email=user.email, request_id=request_id, recent_sends=tuple(recent)
        )
        stored = users_service.new_verification_link(user_id=user.user_id, read_hash=user.verification.token_hash, link=link.pending)
        repository.store_verification_link(db, new_link=stored, event=link.event)

    context = {"request_id": request_id, "user_id": caller.user_id}
    try:
        retry_on_lost_race(attempt, turns=db.turns(caller.user_id))
    except RateLimited:
        logger.info("verification resend throttled", extra={**context, "event": "resend_throttled"})
        raise
    logger.info("verification email requested", extra={**context, "event": "resend_verification"})
