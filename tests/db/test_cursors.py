"""The cursor codec alone (no network): sealed with AES-256-GCM for one scope, opaque, tamper-evident."""

from __future__ import annotations

import base64
import json

import pytest

from app.db.cursors import CursorCodec
from app.db.errors import InvalidCursor
from tests.support.old_cursors import old_format

SECRET = b"s" * 32
SCOPE = "user-a|lending|None|PK = :pk|[(':pk', {'S': 'LOAN#1'})]|"
LAST_KEY = {"PK": {"S": "LOAN#1"}, "SK": {"S": "REPAYMENT#0192"}}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_cursor_round_trips_for_its_own_scope() -> None:
    codec = CursorCodec(SECRET)
    assert codec.decode(SCOPE, codec.encode(SCOPE, LAST_KEY)) == LAST_KEY


def test_a_cursor_is_not_base64_of_readable_json() -> None:
    cursor = CursorCodec(SECRET).encode(SCOPE, LAST_KEY)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    assert b"LOAN#1" not in raw and b"REPAYMENT" not in raw and b'"PK"' not in raw
    with pytest.raises(ValueError):
        json.loads(raw)
    assert "." not in cursor


def test_the_same_key_gives_a_different_cursor_each_time() -> None:
    """A random nonce per cursor: equal cursors would tell a client that two pages end at the same item."""
    codec = CursorCodec(SECRET)
    assert codec.encode(SCOPE, LAST_KEY) != codec.encode(SCOPE, LAST_KEY)


def test_another_scope_is_refused() -> None:
    codec = CursorCodec(SECRET)
    cursor = codec.encode(SCOPE, LAST_KEY)
    for other in ("user-b" + SCOPE.removeprefix("user-a"), SCOPE.replace("LOAN#1", "LOAN#2"), "", SCOPE + "x"):
        with pytest.raises(InvalidCursor):
            codec.decode(other, cursor)


def test_another_secret_is_refused() -> None:
    cursor = CursorCodec(SECRET).encode(SCOPE, LAST_KEY)
    with pytest.raises(InvalidCursor):
        CursorCodec(b"t" * 32).decode(SCOPE, cursor)


def test_every_single_byte_change_is_refused() -> None:
    codec = CursorCodec(SECRET)
    sealed = base64.urlsafe_b64decode((cursor := codec.encode(SCOPE, LAST_KEY)) + "=" * (-len(cursor) % 4))
    for index in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[index] ^= 0x01
        with pytest.raises(InvalidCursor):
            codec.decode(SCOPE, _b64(bytes(flipped)))


def test_a_cursor_of_the_old_format_is_refused_even_when_its_signature_is_right() -> None:
    old = old_format(SECRET, SCOPE, LAST_KEY)
    assert json.loads(base64.urlsafe_b64decode(old.split(".")[0] + "==")) == LAST_KEY  # what the old format let anyone read
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(SCOPE, old)


@pytest.mark.parametrize("cursor", ["", "garbage", "abc.def", "e30.AAAAAAAAAAAAAAAAAAAAAA", "..", "é", "A" * 39, "A" * 2000, "a b", "++//"])
def test_garbage_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(SCOPE, cursor)


def test_a_non_alphabet_character_is_an_error_not_skipped() -> None:
    """Lenient base64 drops characters it does not know: a '.' inserted into a good cursor must not pass."""
    codec = CursorCodec(SECRET)
    cursor = codec.encode(SCOPE, LAST_KEY)
    with pytest.raises(InvalidCursor):
        codec.decode(SCOPE, cursor[:5] + "." + cursor[5:])
