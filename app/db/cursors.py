"""Opaque, tamper-evident pagination cursors: a LastEvaluatedKey signed with HMAC and bound to one query."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from app.db.errors import InvalidCursor


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Encode a query's last key for `scope` (the query it belongs to); decode refuses anything else."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, scope: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]

    def encode(self, scope: str, last_key: dict[str, Any]) -> str:
        payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._sign(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> dict[str, Any]:
        try:
            payload_text, signature_text = cursor.split(".")
            payload, signature = _unb64(payload_text), _unb64(signature_text)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor() from exc
        if not hmac.compare_digest(signature, self._sign(scope, payload)):
            raise InvalidCursor()
        try:
            key = json.loads(payload)
        except ValueError as exc:  # pragma: no cover - a signed payload is always our JSON
            raise InvalidCursor() from exc
        if not isinstance(key, dict):  # pragma: no cover - same
            raise InvalidCursor()
        return key
