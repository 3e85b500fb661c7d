"""The pagination cursor as issued before cursors were sealed (issue 24): for tests that it is now refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def old_format(secret: bytes, scope: str, last_key: dict[str, object]) -> str:
    """base64url JSON of the key, '.', and a 16-byte HMAC-SHA256 of scope NUL key: readable and caller-free."""
    payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    signature = hmac.new(secret, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]
    return f"{_b64(payload)}.{_b64(signature)}"


def app_cursor_secret(jwt_secret: str) -> bytes:
    """The cursor secret app/resources.py derives from the JWT secret (unchanged by the new format)."""
    return hmac.new(jwt_secret.encode(), b"pagination-cursor", hashlib.sha256).digest()
