"""Access tokens (JWT, HS256 only) and opaque refresh tokens.

HS256 is signed and verified here with the standard library's hmac (RFC 7515/7519, compact form),
not with PyJWT: importing PyJWT imports cryptography's X.509, RSA, EC and EdDSA modules, which a
token signed with a shared secret never uses, and that was a large part of the API's cold start
(docs/performance.md "Cold start"). Every check PyJWT made for us is kept, and stricter where the
standard allows: three base64url segments (no padding, nothing else), a JSON object header whose
`alg` is on the allow-list (HS256: "none", RS256, HS512... are refused), no `crit` or unencoded
(`b64`: false) payload, the signature compared in constant time before the payload is even parsed,
a JSON object payload with every REQUIRED_CLAIMS present and not null, `iss` equal to ours, `aud`
ours (a string, or a list of strings holding ours), `sub` and `jti` strings; then the time checks
against our clock below. JSON nested too deep to decode is a refusal too, as with PyJWT. Tokens are
byte-for-byte what PyJWT would issue (tests/auth/test_tokens.py reads them back with PyJWT and
forges tokens with it).

What does not depend on time (the signature, the header, issuer, audience, the claims' types) is
checked once per token: the claims of a token that passed are remembered (at most
VERIFIED_CACHE_SIZE tokens, least recently used out), keyed by the token's exact text and the
secret, audience and issuer it was checked against. The time checks run on every request, against
the clock. A refusal is never remembered. An SPA sends the same token for up to 30 minutes, so on a
warm Lambda most requests skip the HMAC and the JSON decoding.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from app.clock import epoch
from app.config import Settings
from app.errors import Unauthenticated

ALGORITHM = "HS256"
ALLOWED_ALGORITHMS = [ALGORITHM]  # the allow-list: "none", RS256, etc. are refused
REQUIRED_CLAIMS = ["sub", "iss", "aud", "iat", "exp", "jti"]
MAX_TOKEN_LENGTH = 4096
MAX_LIFETIME_SECONDS = 30 * 60  # the contract's ceiling; a longer-lived token is refused even if signed by us
CLOCK_SKEW_SECONDS = 60
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")  # base64url without padding
# The header we write, as PyJWT writes it (sorted keys, no spaces), base64url without padding.
_HEADER_JSON = json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":"), sort_keys=True).encode()
_HEADER = base64.urlsafe_b64encode(_HEADER_JSON).rstrip(b"=")
VERIFIED_CACHE_SIZE = 1024
EMAIL_VERIFIED_CLAIM = "ev"  # present (true) when the user had verified their email when the token was issued


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified access token (no database read)."""

    user_id: str
    email: str
    email_verified: bool = False  # known from the token; False means "not known to be verified", not "unverified"
    token_id: str = ""  # the token's jti (app/auth/accounts.py remembers tokens whose account was seen)


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
    return _sign(claims, settings.jwt_secret)


class InvalidToken(Exception):
    """Why a token is refused (never shown to the caller: every refusal is the same 401)."""


def _b64encode(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64decode(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise InvalidToken("a segment is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken("a segment is not base64url") from exc


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than json decodes
        raise InvalidToken("a segment is not JSON") from exc
    if not isinstance(value, dict):
        raise InvalidToken("a segment is not a JSON object")
    return value


def _signature(signing_input: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()


def _sign(claims: dict[str, object], secret: str) -> str:
    """The compact JWS of `claims`: the same bytes as PyJWT's jwt.encode(claims, secret, algorithm="HS256")."""
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HEADER + b"." + payload
    return (signing_input + b"." + _b64encode(_signature(signing_input, secret))).decode()


@functools.lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verified_claims(token: str, *, secret: str, audience: str, issuer: str) -> Mapping[str, Any]:
    """The claims (read-only) of a token signed with `secret` under an allowed algorithm, for `issuer` and `audience`."""
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidToken("not three segments")
    header_segment, payload_segment, signature_segment = segments
    header = _json_object(_b64decode(header_segment))
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise InvalidToken("algorithm not allowed")
    if "crit" in header or header.get("b64", True) is not True:
        raise InvalidToken("unsupported header parameter")
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")  # the segments are ASCII: checked above
    signature = _b64decode(signature_segment)
    if not hmac.compare_digest(signature, _signature(signing_input, secret)):
        raise InvalidToken("bad signature")
    claims = _json_object(_b64decode(payload_segment))
    if any(claims.get(name) is None for name in REQUIRED_CLAIMS):
        raise InvalidToken("a required claim is missing")
    if claims["iss"] != issuer:
        raise InvalidToken("wrong issuer")
    audiences = [claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"]
    if not isinstance(audiences, list) or not all(isinstance(value, str) for value in audiences) or audience not in audiences:
        raise InvalidToken("wrong audience")
    if not isinstance(claims["sub"], str) or not isinstance(claims["jti"], str):
        raise InvalidToken("sub and jti must be strings")
    return MappingProxyType(claims)


def _seconds(value: object) -> int | None:
    """A NumericDate claim as whole seconds; anything else (a string, a boolean, a fraction) is None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def verify_access_token(*, settings: Settings, token: str, now: datetime) -> Principal:
    """The caller of a valid token; anything else (expired, not yet valid, tampered, wrong alg/iss/aud) is Unauthenticated."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated()
    try:
        claims = _verified_claims(token, secret=settings.jwt_secret, audience=settings.jwt_audience, issuer=settings.jwt_issuer)
    except InvalidToken as exc:
        raise Unauthenticated() from exc
    # Time checks against our clock (tests control it), not the wall clock.
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
    return Principal(user_id=user_id, email=email, email_verified=claims.get(EMAIL_VERIFIED_CLAIM) is True, token_id=claims["jti"])


def new_refresh_token() -> str:
    """An opaque, unguessable refresh token (256 bits)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """What we store: SHA-256 of the token (it is random, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
