"""Email verification, the pure part: the token scheme and the resend throttle's arithmetic (no I/O).

The token is never stored. It is derived by an HMAC from the server secret, the user id and a random
nonce (the nonce travels in the user's `verification_requested` event, which the notifications code
turns into the link); the user item keeps only SHA-256 of the token and its expiry. Each request for
a link (registration, each resend) makes a new nonce and replaces the stored hash, so only the latest
link works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from app.config import Settings

TOKEN_TTL_SECONDS = 24 * 60 * 60
MAX_SENDS_PER_WINDOW = 3  # the registration's own email counts as one
SEND_WINDOW_SECONDS = 60 * 60
_PURPOSE = b"email-verification:v1"  # domain separation: this HMAC of the JWT secret signs nothing else


def new_nonce() -> str:
    """The random input of one link (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def verification_token(*, settings: Settings, user_id: str, nonce: str) -> str:
    """The token of the link `nonce` was made for: URL-safe base64 (no padding) of HMAC-SHA256 over (user id, nonce)."""
    message = b"\x00".join((_PURPOSE, user_id.encode(), nonce.encode()))
    digest = hmac.new(settings.jwt_secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """What the user item stores: SHA-256 of the token (it carries 256 bits, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, *, stored_hash: str | None, expires_at: int | None, now: int) -> bool:
    """Whether `token` is the caller's live link: its hash equals the stored one (constant time) and it has not expired."""
    if stored_hash is None or expires_at is None:
        hmac.compare_digest(token_hash(token), token_hash(""))  # the same work whatever the reason
        return False
    return hmac.compare_digest(token_hash(token), stored_hash) and now < expires_at


def sends_in_window(sent_at: Iterable[int], *, now: int) -> list[int]:
    """The send times (epoch seconds) still inside the rolling hour, oldest first."""
    return sorted(moment for moment in sent_at if moment > now - SEND_WINDOW_SECONDS)


def retry_after(recent: list[int], *, now: int) -> int | None:
    """Seconds until one more email may be sent (when the oldest of the window's sends leaves it); None if one may go now."""
    if len(recent) < MAX_SENDS_PER_WINDOW:
        return None
    return max(1, recent[-MAX_SENDS_PER_WINDOW] + SEND_WINDOW_SECONDS - now)
