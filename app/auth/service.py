"""Auth rules: who may sign in, how sessions rotate, when a user becomes a lender (email verification: verification_service.py).

`verification_token` is public here: the notifications code derives the link of a `verification_requested` event with it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, NoReturn

from app.auth import passwords, repository, sessions, throttle, verification_service
from app.auth.schemas import AuthResponse, LoginRequest, LoginResponse, RegisterRequest, TokenPair
from app.auth.sessions import NewSession, RefreshTokenAlreadyUsed, SessionRevoked
from app.auth.tokens import Principal, hash_refresh_token, issue_access_token, new_refresh_token
from app.auth.verification import verification_token
from app.clock import Clock, epoch, iso
from app.config import Settings
from app.errors import InvalidCredentials, RateLimited, Unauthenticated
from app.loans import service as loans_service
from app.schemas import email_spellings
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo

__all__ = ["login", "logout", "refresh", "register", "verification_token"]

logger = logging.getLogger("app.auth")


def _new_session(
    *, settings: Settings, clock: Clock, user_id: str, email: str, family_id: str | None, email_verified: bool
) -> tuple[str, NewSession]:
    now = clock.now()
    token = new_refresh_token()
    session = NewSession(
        token_hash=hash_refresh_token(token),
        family_id=family_id or str(uuid.uuid4()),
        user_id=user_id,
        email=email,
        created_at=iso(now),
        expires_at=epoch(now + timedelta(days=settings.refresh_token_ttl_days)),
        starts_family=family_id is None,
        email_verified=email_verified,
    )
    return token, session


def _token_pair(*, settings: Settings, clock: Clock, session: NewSession, refresh_token: str) -> TokenPair:
    """The tokens of `session`; the access token says the email is verified when the session knows it."""
    access = issue_access_token(
        settings=settings, user_id=session.user_id, email=session.email, now=clock.now(), email_verified=session.email_verified
    )
    bearer = "bearer"
    return TokenPair(access_token=access, refresh_token=refresh_token, token_type=bearer, expires_in=settings.access_token_ttl_seconds)


def register(*, db: Dynamo, settings: Settings, clock: Clock, data: RegisterRequest, request_id: str) -> AuthResponse:
    """Create the account (409 EMAIL_TAKEN if the email is claimed), unverified, with its first verification link;
    invited emails start as lenders."""
    password_hash = passwords.hash_password(data.password)
    invitations = loans_service.invitations_of(db=db, email=data.email)
    now = iso(clock.now())
    user_id = str(uuid.uuid4())
    link = verification_service.new_link(
        settings=settings, clock=clock, user_id=user_id, email=data.email, request_id=request_id, recent_sends=()
    )
    user = users_service.UserRecord(
        user_id=user_id,
        email=data.email,
        first_name=data.first_name,
        last_name=data.last_name,
        phone=data.phone,
        roles=users_service.initial_roles(invited=bool(invitations)),
        created_at=now,
        updated_at=now,
        verification=link.pending,
    )
    refresh_token, session = _new_session(
        settings=settings, clock=clock, user_id=user.user_id, email=user.email, family_id=None, email_verified=False
    )
    repository.register_user(
        db,
        new_user=users_service.new_user(user),
        email=user.email,
        user_id=user.user_id,
        created_at=user.created_at,
        password_hash=password_hash,
        session=session,
        event=link.event,
    )
    logger.info("user registered", extra={"request_id": request_id, "event": "register", "user_id": user.user_id})
    tokens = _token_pair(settings=settings, clock=clock, session=session, refresh_token=refresh_token)
    return AuthResponse(user=users_service.profile_of(user), **tokens.model_dump())


def login(*, db: Dynamo, settings: Settings, clock: Clock, data: LoginRequest, request_id: str) -> LoginResponse:
    """Check the password (same answer and cost for unknown emails), throttle failures, grant lender."""
    now = clock.now()
    spellings = email_spellings(data.email)
    attempt = throttle.count_attempt(db, spellings[0], now=epoch(now))
    if isinstance(attempt, throttle.Locked):
        logger.warning("login refused: email locked", extra={"request_id": request_id, "event": "login_locked"})
        raise RateLimited(attempt.retry_after_seconds, "Too many failed logins; retry later")
    credentials = None
    for spelling in spellings:  # one GetItem; a second only for an address stored before normalisation changed
        credentials = repository.credentials_of(db, spelling)
        if credentials is not None:
            break
    verification = passwords.verify_password(data.password, credentials.password_hash if credentials else None)
    if credentials is None or not verification.valid:
        if attempt.number >= throttle.MAX_FAILED_LOGINS:
            throttle.lock(db, spellings[0], now=epoch(now))
        logger.info("login failed", extra={"request_id": request_id, "event": "login_failed"})
        raise InvalidCredentials()
    user = users_service.get_user(db=db, user_id=credentials.user_id)
    if user is None:
        raise RuntimeError("email claim points at a missing user item")
    invitations = loans_service.invitations_of(db=db, email=user.email)
    grant_lender = bool(invitations) and users_service.LENDER not in user.roles
    refresh_token, session = _new_session(
        settings=settings, clock=clock, user_id=user.user_id, email=user.email, family_id=None, email_verified=user.email_verified
    )
    repository.complete_login(
        db,
        email=user.email,
        session=session,
        lender_grant=users_service.lender_grant(user_id=user.user_id, at=iso(now)) if grant_lender else None,
        rehash=(credentials.password_hash, verification.replacement_hash) if verification.replacement_hash else None,
    )
    if grant_lender:
        user = replace(user, roles=user.roles | {users_service.LENDER})
        logger.info("lender role granted", extra={"request_id": request_id, "event": "lender_granted", "user_id": user.user_id})
    logger.info("login succeeded", extra={"request_id": request_id, "event": "login", "user_id": user.user_id})
    tokens = _token_pair(settings=settings, clock=clock, session=session, refresh_token=refresh_token)
    pending = sum(1 for invitation in invitations if loans_service.is_pending_invitation(invitation, now))
    return LoginResponse(user=users_service.profile_of(user), pending_invitations=pending, **tokens.model_dump())


def refresh(*, db: Dynamo, settings: Settings, clock: Clock, refresh_token: str, request_id: str) -> TokenPair:
    """Rotate: the presented token is spent; presenting a spent token again revokes its whole family."""
    now = clock.now()
    record = sessions.get_refresh_token(db, hash_refresh_token(refresh_token))
    if record is None or record.expires_at <= epoch(now):
        raise Unauthenticated("Invalid or expired refresh token")
    if record.used:
        _revoke_on_reuse(db=db, record=record, now_iso=iso(now), request_id=request_id)
    new_token, session = _new_session(
        settings=settings,
        clock=clock,
        user_id=record.user_id,
        email=record.email,
        family_id=record.family_id,
        email_verified=record.email_verified,  # what the session knew at login (no read of the user item)
    )
    try:
        sessions.rotate_refresh_token(db, old=record, used_at=iso(now), new=session)
    except RefreshTokenAlreadyUsed:
        _revoke_on_reuse(db=db, record=record, now_iso=iso(now), request_id=request_id)
    except SessionRevoked as exc:
        raise Unauthenticated("Invalid or expired refresh token") from exc
    return _token_pair(settings=settings, clock=clock, session=session, refresh_token=new_token)


def _revoke_on_reuse(*, db: Dynamo, record: sessions.RefreshRecord, now_iso: str, request_id: str) -> NoReturn:
    sessions.revoke_family(db, family_id=record.family_id, user_id=record.user_id, revoked_at=now_iso)
    logger.warning(
        "refresh token reuse: session family revoked",
        extra={"request_id": request_id, "event": "refresh_reuse", "user_id": record.user_id},
    )
    raise Unauthenticated("Invalid or expired refresh token")


def logout(*, db: Dynamo, clock: Clock, caller: Principal, refresh_token: str, request_id: str) -> None:
    """End the session of `refresh_token` (its whole family) if it is the caller's; otherwise do nothing."""
    record = sessions.get_refresh_token(db, hash_refresh_token(refresh_token))
    if record is None or record.user_id != caller.user_id:
        return
    sessions.revoke_family(db, family_id=record.family_id, user_id=caller.user_id, revoked_at=iso(clock.now()))
    logger.info("logged out", extra={"request_id": request_id, "event": "logout", "user_id": caller.user_id})
