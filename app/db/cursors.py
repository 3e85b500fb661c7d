"""Opaque, tamper-evident pagination cursors: a LastEvaluatedKey sealed with AES-256-GCM for one scope.

A cursor is base64url(nonce || ciphertext || tag): the key's JSON encrypted under a key derived from the
cursor secret, with a random 96-bit nonce and the scope (the caller and the query it belongs to) as
associated data. So a cursor reads as noise, and one altered, issued for another scope (another caller,
another query) or in the format before this one (readable JSON "payload.signature") fails to open:
InvalidCursor, which the API answers 422 VALIDATION_ERROR on `cursor`.

AESGCM is imported on first use: the API already loads it (app/payments/sealing.py), while the jobs and
notifications functions, which import this package but page nothing, do not pay for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import TYPE_CHECKING, Any

from app.db.errors import InvalidCursor

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
TAG_BYTES = 16
KEY_LABEL = b"pagination-cursor aes-256-gcm v2"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: a character outside the base64url alphabet (the old format's '.') is an error, not skipped."""
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class CursorCodec:
    """Encode a query's last key for `scope` (who asks and which query); decode refuses anything else."""

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, KEY_LABEL, hashlib.sha256).digest()  # 32 bytes: AES-256
        self._cipher: AESGCM | None = None

    def _aead(self) -> AESGCM:
        if self._cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            self._cipher = AESGCM(self._key)
        return self._cipher

    def encode(self, scope: str, last_key: dict[str, Any]) -> str:
        payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
        nonce = os.urandom(NONCE_BYTES)
        return _b64(nonce + self._aead().encrypt(nonce, payload, scope.encode()))

    def decode(self, scope: str, cursor: str) -> dict[str, Any]:
        from cryptography.exceptions import InvalidTag

        try:
            sealed = _unb64(cursor)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor() from exc
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise InvalidCursor()
        try:
            payload = self._aead().decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], scope.encode())
        except InvalidTag as exc:
            raise InvalidCursor() from exc
        try:
            key = json.loads(payload)
        except ValueError as exc:  # pragma: no cover - a sealed payload is always our JSON
            raise InvalidCursor() from exc
        if not isinstance(key, dict):  # pragma: no cover - same
            raise InvalidCursor()
        return key
