"""The HS256 signer and verifier of app/auth/tokens.py (standard library hmac), checked against PyJWT.

tests/auth/test_tokens.py covers the HTTP behaviour (every refusal is a 401); these pin the token
format and the refusals PyJWT made for us that no endpoint test reaches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from app.auth.tokens import MAX_TOKEN_LENGTH, issue_access_token, verify_access_token
from app.clock import epoch
from app.config import Settings
from app.errors import Unauthenticated

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
SETTINGS = Settings(environment="test", jwt_secret="a-test-secret-that-is-long-enough-0123456789")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "user-1",
        "email": "a@example.com",
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "iat": epoch(NOW),
        "exp": epoch(NOW + timedelta(minutes=15)),
        "jti": uuid.uuid4().hex,
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def signed(header: object, payload: object, secret: str = SETTINGS.jwt_secret) -> str:
    """A compact JWS with exactly this header and payload (JSON), HMAC-SHA256-signed with `secret`."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def refused(token: str) -> None:
    with pytest.raises(Unauthenticated):
        verify_access_token(settings=SETTINGS, token=token, now=NOW)


def test_issued_tokens_are_the_bytes_pyjwt_would_issue_and_pyjwt_reads_them() -> None:
    token = issue_access_token(settings=SETTINGS, user_id="user-1", email="a@example.com", now=NOW, email_verified=True)
    decoded = jwt.decode(
        token, SETTINGS.jwt_secret, algorithms=["HS256"], audience=SETTINGS.jwt_audience, options={"verify_exp": False, "verify_iat": False}
    )
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert jwt.encode(decoded, SETTINGS.jwt_secret, algorithm="HS256") == token
    assert decoded["ev"] is True and decoded["nbf"] == decoded["iat"] == epoch(NOW)
    principal = verify_access_token(settings=SETTINGS, token=token, now=NOW)
    assert (principal.user_id, principal.email, principal.email_verified) == ("user-1", "a@example.com", True)


def test_a_pyjwt_token_is_accepted() -> None:
    token = jwt.encode(claims(), SETTINGS.jwt_secret, algorithm="HS256")
    assert verify_access_token(settings=SETTINGS, token=token, now=NOW).user_id == "user-1"


def test_an_audience_list_holding_ours_is_accepted_as_pyjwt_did() -> None:
    token = signed({"alg": "HS256", "typ": "JWT"}, claims(aud=["someone-else", SETTINGS.jwt_audience]))
    assert verify_access_token(settings=SETTINGS, token=token, now=NOW).user_id == "user-1"


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": ["someone-else"]},
        {"aud": [SETTINGS.jwt_audience, 7]},
        {"aud": {"a": SETTINGS.jwt_audience}},
        {"iss": [SETTINGS.jwt_issuer]},
        {"jti": 12345},
        {"jti": None},
        {"sub": None},
        {"aud": None},
        {"iss": None},
    ],
    ids=repr,
)
def test_wrong_claims_are_refused(changes: dict[str, Any]) -> None:
    refused(signed({"alg": "HS256", "typ": "JWT"}, claims(**changes)))


def test_a_null_required_claim_is_refused_like_a_missing_one() -> None:
    refused(signed({"alg": "HS256", "typ": "JWT"}, {**claims(), "jti": None}))


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none"},
        {"alg": "HS512"},
        {"alg": "hs256"},
        {"typ": "JWT"},
        {"alg": ["HS256"]},
        {"alg": "HS256", "crit": ["exp"], "exp": 1},
        {"alg": "HS256", "b64": False},
        ["HS256"],
        "HS256",
    ],
    ids=repr,
)
def test_headers_other_than_plain_hs256_are_refused_even_when_signed_with_our_secret(header: object) -> None:
    refused(signed(header, claims()))


@pytest.mark.parametrize("payload", [["not", "an", "object"], "a string", 42, None])
def test_a_payload_that_is_not_a_json_object_is_refused(payload: object) -> None:
    refused(signed({"alg": "HS256", "typ": "JWT"}, payload))


def test_malformed_compact_forms_are_refused() -> None:
    good = jwt.encode(claims(), SETTINGS.jwt_secret, algorithm="HS256")
    header, payload, signature = good.split(".")
    for token in (
        f"{header}.{payload}",
        f"{header}.{payload}.{signature}.{signature}",
        f"{header}.{payload}.{signature}=",  # padding is not base64url of a JWS
        f"{header}.{payload}.{signature[:-1]}+",  # the standard alphabet
        f"{header} .{payload}.{signature}",
        f"{header}.{payload}.{signature[:-1]}",  # a truncated signature
        f"{header}.{payload}.",  # unsigned
        f"{header}.{payload}.é{signature}",
        "..",
        "",
    ):
        refused(token)


def test_the_signature_is_checked_before_the_payload_is_read() -> None:
    """A payload that is not even JSON, under a wrong signature, is refused as a bad signature would be."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    refused(f"{header}.{_b64(b'{not json')}.{_b64(b'x' * 32)}")


def test_a_deeply_nested_header_is_refused_not_a_server_error() -> None:
    """JSON nested deeper than the decoder's recursion limit, within MAX_TOKEN_LENGTH."""
    header = _b64(b"[" * 1100 + b"]" * 1100)
    token = f"{header}.{_b64(b'{}')}.{_b64(b'x' * 32)}"
    assert len(token) <= MAX_TOKEN_LENGTH
    refused(token)
