"""Password hashing through libpass (the maintained passlib): argon2id for new hashes, bcrypt for legacy ones.

Legacy bcrypt hashes (`$2a$`/`$2b$`, as bcryptjs wrote them in the old service) verify, and a
successful verification hands back an argon2id replacement to store.

Bcrypt only ever looks at the first 72 bytes of a password. We never truncate: a password longer
than 72 UTF-8 bytes is refused against a bcrypt hash (it does not verify; the user resets their
password), so two passwords that differ only after byte 72 never verify against each other; so is
a password with a NUL byte (bcrypt would stop reading there). Argon2id hashes the whole password,
so neither limit exists for new hashes. A stored hash we cannot parse verifies nothing (no 500).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import lru_cache

from passlib.context import CryptContext

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
ARGON2_MEMORY_COST_KIB = 19456
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
BCRYPT_MAX_BYTES = 72

logger = logging.getLogger("app.auth.passwords")

_context = CryptContext(
    schemes=["argon2", "bcrypt"],
    default="argon2",
    deprecated=["bcrypt"],  # verify_and_update rehashes these to the default scheme
    argon2__type="ID",
    argon2__memory_cost=ARGON2_MEMORY_COST_KIB,
    argon2__time_cost=ARGON2_TIME_COST,
    argon2__parallelism=ARGON2_PARALLELISM,
)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both failures cost one argon2id verify.

    Made on first use, not at import: an argon2id hash would add its cost to every cold start.
    """
    hashed: str = _context.hash(secrets.token_urlsafe(24))
    return hashed


@dataclass(frozen=True)
class Verification:
    valid: bool
    replacement_hash: str | None = None  # set when the stored hash should be upgraded


def hash_password(password: str) -> str:
    """An argon2id hash of the password exactly as given (no trimming, no truncation)."""
    hashed: str = _context.hash(password)
    return hashed


def _refuse(password: str) -> Verification:
    """No match, at the cost of one argon2id verify, so timing does not tell why."""
    _context.verify(password, _dummy_hash())
    return Verification(valid=False)


def _bcrypt_cannot_take(password: str) -> bool:
    encoded = password.encode("utf-8")
    return len(encoded) > BCRYPT_MAX_BYTES or b"\x00" in encoded


def verify_password(password: str, stored_hash: str | None) -> Verification:
    """Whether `password` matches `stored_hash`; with no hash, burn one verify so timing looks the same."""
    if stored_hash is None:
        return _refuse(password)
    scheme = _context.identify(stored_hash)
    if scheme is None or (scheme == "bcrypt" and _bcrypt_cannot_take(password)):
        return _refuse(password)
    try:
        valid, replacement = _context.verify_and_update(password, stored_hash)
    except ValueError:  # passlib's answer to a malformed stored hash: it can match nothing
        logger.warning("unusable password hash", extra={"event": "unusable_password_hash"})
        return _refuse(password)
    return Verification(valid=bool(valid), replacement_hash=replacement if valid else None)


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash uses an old scheme or weaker parameters than today's."""
    return bool(_context.needs_update(stored_hash))
