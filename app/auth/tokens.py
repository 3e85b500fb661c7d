"""Access tokens (PyJWT, HS256 only) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from app.clock import epoch
from app.config import Settings
from app.errors import Unauthenticated

ALGORITHM = "HS256"
ALLOWED_ALGORITHMS = [ALGORITHM]  # the allow-list: "none", RS256, etc. are refused
REQUIRED_CLAIMS = ["sub", "iss", "aud", "iat", "exp", "jti"]
MAX_TOKEN_LENGTH = 4096
MAX_LIFETIME_SECONDS = 30 * 60  # the contract's ceiling; a longer-lived token is refused even if signed by us
CLOCK_SKEW_SECONDS = 60
EMAIL_VERIFIED_CLAIM = "ev"  # present (true) when the user had verified their email when the token was issued


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified access token (no database read)."""

    user_id: str
    email: str
    email_verified: bool = False  # known from the token; False means "not known to be verified", not "unverified"


def issue_access_token(*, settings: Settings, user_id: str, email: str, now: datetime, email_verified: bool = False) -> str:
    """A signed token that lives ACCESS_TOKEN_TTL_SECONDS (<= 30 minutes); verification is permanent, so it may say so."""
    claims: dict[str, object] = {
        "sub": user_id,
        "email": email,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": epoch(now),
        "nbf": epoch(now),
        "exp": epoch(now + timedelta(seconds=settings.access_token_ttl_seconds)),
        "jti": uuid.uuid4().hex,
    }
    if email_verified:
        claims[EMAIL_VERIFIED_CLAIM] = True
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def _seconds(value: object) -> int | None:
    """A NumericDate claim as whole seconds; anything else (a string, a boolean, a fraction) is None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def verify_access_token(*, settings: Settings, token: str, now: datetime) -> Principal:
    """The caller of a valid token; anything else (expired, not yet valid, tampered, wrong alg/iss/aud) is Unauthenticated."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated()
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=ALLOWED_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated() from exc
    # Time checks against our clock (tests control it); PyJWT's own would use the wall clock.
    current = epoch(now)
    expires, issued = _seconds(claims.get("exp")), _seconds(claims.get("iat"))
    not_before = _seconds(claims["nbf"]) if "nbf" in claims else issued  # optional; a present nbf must be valid
    if expires is None or issued is None or not_before is None:
        raise Unauthenticated()
    if expires <= current or expires - issued > MAX_LIFETIME_SECONDS:
        raise Unauthenticated()
    # Not yet valid: issued, or usable only from, later than now (with the same leeway for clock skew).
    if issued > current + CLOCK_SKEW_SECONDS or not_before > current + CLOCK_SKEW_SECONDS:
        raise Unauthenticated()
    user_id, email = claims.get("sub"), claims.get("email")
    if not isinstance(user_id, str) or not isinstance(email, str) or not user_id or not email:
        raise Unauthenticated()
    return Principal(user_id=user_id, email=email, email_verified=claims.get(EMAIL_VERIFIED_CLAIM) is True)


def new_refresh_token() -> str:
    """An opaque, unguessable refresh token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """What we store: SHA-256 of the token (it is random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
