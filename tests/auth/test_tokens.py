"""Access tokens: HS256 only, every claim verified, anything else is 401 UNAUTHENTICATED with a Bearer challenge."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.auth.tokens import verify_access_token
from app.clock import epoch
from app.config import Settings
from app.errors import Unauthenticated
from tests.auth.conftest import assert_unauthenticated, bearer, register
from tests.support.clock import FakeClock

PROTECTED = "/user/profile"


@pytest.fixture
def account(client: TestClient) -> dict[str, Any]:
    body: dict[str, Any] = register(client).json()
    return body


def claims_for(settings: Settings, clock: FakeClock, user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The claims we issue for `user`, with `changes` applied (None removes a claim)."""
    now = clock.now()
    claims: dict[str, Any] = {
        "sub": user["userId"],
        "email": user["email"],
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": epoch(now),
        "exp": epoch(now + timedelta(minutes=15)),
        "jti": uuid.uuid4().hex,
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_issued_token_is_hs256_with_every_claim_and_at_most_30_minutes(client: TestClient, app: FastAPI, account: dict[str, Any]) -> None:
    token = account["accessToken"]
    settings: Settings = app.state.settings
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], audience=settings.jwt_audience)
    assert {"sub", "iss", "aud", "iat", "exp", "jti"} <= set(claims)
    assert claims["sub"] == account["user"]["userId"] and claims["iss"] == settings.jwt_issuer
    assert claims["exp"] - claims["iat"] == account["expiresIn"] <= 1800
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200


def test_a_forged_token_with_our_secret_and_claims_is_accepted(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any]
) -> None:
    """The control for the refusals below: only the one change each makes is wrong."""
    settings: Settings = app.state.settings
    token = jwt.encode(claims_for(settings, clock, account["user"]), settings.jwt_secret, algorithm="HS256")
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "someone-else"},
        {"aud": "another-audience"},
        {"jti": None},
        {"exp": None},
        {"iat": None},
        {"sub": None},
        {"sub": ""},
        {"sub": 42},
        {"exp": "tomorrow"},
        {"iat": "yesterday"},
    ],
    ids=lambda changes: ",".join(f"{k}={v}" for k, v in changes.items()),
)
def test_wrong_or_missing_claims_are_refused(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any], changes: dict[str, Any]
) -> None:
    settings: Settings = app.state.settings
    token = jwt.encode(claims_for(settings, clock, account["user"], **changes), settings.jwt_secret, algorithm="HS256")
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(token)))


def test_alg_none_is_refused(client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any]) -> None:
    claims = claims_for(app.state.settings, clock, account["user"])
    for alg in ("none", "None", "NONE"):
        header = _b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        unsigned = f"{header}.{_b64(json.dumps(claims).encode())}."
        assert_unauthenticated(client.get(PROTECTED, headers=bearer(unsigned)))


@pytest.mark.parametrize("algorithm", ["HS512", "HS384"])
def test_other_algorithms_are_refused_even_with_our_secret(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any], algorithm: str
) -> None:
    settings: Settings = app.state.settings
    token = jwt.encode(claims_for(settings, clock, account["user"]), settings.jwt_secret, algorithm=algorithm)
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(token)))


def test_token_signed_with_another_secret_is_refused(client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any]) -> None:
    claims = claims_for(app.state.settings, clock, account["user"])
    token = jwt.encode(claims, "another-secret-that-is-long-enough-for-hs256", algorithm="HS256")
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(token)))


def test_tampered_payload_is_refused(client: TestClient, account: dict[str, Any]) -> None:
    header, payload, signature = account["accessToken"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    tampered = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(tampered)))
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(f"{header}.{payload}.{flipped}")))


def test_expired_token_is_refused(client: TestClient, clock: FakeClock, account: dict[str, Any]) -> None:
    token = account["accessToken"]
    clock.advance(seconds=account["expiresIn"] - 1)
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200
    clock.advance(seconds=1)
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(token)))
    clock.advance(minutes=30)
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(token)))


def test_token_issued_in_the_future_is_refused(client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any]) -> None:
    settings: Settings = app.state.settings
    later = clock.now() + timedelta(hours=1)
    claims = claims_for(settings, clock, account["user"], iat=epoch(later), exp=epoch(later + timedelta(minutes=15)))
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))))


def test_token_living_longer_than_30_minutes_is_refused(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any]
) -> None:
    settings: Settings = app.state.settings
    claims = claims_for(settings, clock, account["user"], exp=epoch(clock.now() + timedelta(days=365)))
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic x",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer not.a.jwt",
        "Bearer " + "a" * 10_000,
        "Bearer " + ".".join(["eyJhbGciOiJIUzI1NiJ9", "e30", "x" * 10_000]),
    ],
    ids=["missing", "empty", "bearer-only", "bearer-space", "basic", "basic-b64", "token-scheme", "garbage", "10k", "10k-jwt"],
)
def test_malformed_authorization_is_refused(client: TestClient, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    assert_unauthenticated(client.get(PROTECTED, headers=headers))


def test_scheme_is_case_insensitive(client: TestClient, account: dict[str, Any]) -> None:
    response = client.get(PROTECTED, headers={"Authorization": f"bearer {account['accessToken']}"})
    assert response.status_code == 200


def test_refresh_token_is_not_an_access_token(client: TestClient, account: dict[str, Any]) -> None:
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(account["refreshToken"])))


@pytest.mark.parametrize(("offset", "accepted"), [(3600, False), (61, False), (30, True), (0, True)])
def test_not_before_is_honoured_with_the_clock_skew_leeway(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any], offset: int, accepted: bool
) -> None:
    """nbf in the future beyond CLOCK_SKEW_SECONDS (60 s) is refused, against the app's clock; within it, accepted."""
    settings: Settings = app.state.settings
    claims = claims_for(settings, clock, account["user"], nbf=epoch(clock.now()) + offset)
    response = client.get(PROTECTED, headers=bearer(jwt.encode(claims, settings.jwt_secret, algorithm="HS256")))
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_unauthenticated(response)


@pytest.mark.parametrize("nbf", ["soon", True, 1.5])
def test_a_not_before_that_is_not_a_whole_number_is_refused(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any], nbf: Any
) -> None:
    settings: Settings = app.state.settings
    claims = claims_for(settings, clock, account["user"], nbf=nbf)
    assert_unauthenticated(client.get(PROTECTED, headers=bearer(jwt.encode(claims, settings.jwt_secret, algorithm="HS256"))))


def test_a_token_already_verified_is_still_checked_against_the_secret_audience_and_clock(
    client: TestClient, app: FastAPI, clock: FakeClock, account: dict[str, Any]
) -> None:
    """The claims of a verified token are remembered; another secret, audience or issuer, and the time checks, still refuse it."""
    settings: Settings = app.state.settings
    token = account["accessToken"]
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200  # verified once: remembered
    assert verify_access_token(settings=settings, token=token, now=clock.now()).user_id == account["user"]["userId"]
    for changes in ({"jwt_secret": "another-secret-that-is-long-enough-for-hs256"}, {"jwt_audience": "other"}, {"jwt_issuer": "other"}):
        with pytest.raises(Unauthenticated):
            verify_access_token(settings=settings.model_copy(update=changes), token=token, now=clock.now())
    with pytest.raises(Unauthenticated):
        verify_access_token(settings=settings, token=token, now=clock.now() + timedelta(seconds=account["expiresIn"]))
    with pytest.raises(Unauthenticated):  # issued "later" than now beyond the leeway
        verify_access_token(settings=settings, token=token, now=clock.now() - timedelta(minutes=5))
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200
