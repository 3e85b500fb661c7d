"""Passwords, password hashes and tokens never reach a log line, nor a response beyond what the contract returns."""

from __future__ import annotations

import logging
from typing import Any

import bcrypt
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from app.auth.tokens import hash_refresh_token
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import email_key
from app.observability import JsonFormatter
from tests.auth.conftest import bearer, login, refresh, register
from tests.factories import latest_verification_token, unique_email, verification_tokens
from tests.support.table import whole_table

PASSWORD = "s3cret-Passphrase-for-logs"
WRONG_PASSWORD = "wrong-Passphrase-for-logs"


def log_lines(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as the JSON line our formatter writes, plus its raw message and arguments."""
    formatter = JsonFormatter()
    return "\n".join(f"{formatter.format(record)} {record.msg!r} {record.args!r}" for record in caplog.records)


def nonce_events(db: Dynamo, user_id: str) -> list[dict[str, Any]]:
    """The user's verification_requested events (each holds the nonce its link is derived from)."""
    return [item for item in whole_table(db) if item.get("userId") == user_id and item.get("type") == "verification_requested"]


def test_no_secret_reaches_a_log_line_or_an_unexpected_response(
    app: FastAPI, client: TestClient, db: Dynamo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="app")
    email = unique_email()
    responses: list[Response] = []
    issued: list[tuple[Response, str]] = []  # (the response that legitimately carries a token, the token)

    def call(response: Response, *token_fields: str) -> dict[str, Any]:
        responses.append(response)
        body: dict[str, Any] = response.json() if response.content else {}
        issued.extend((response, body[field]) for field in token_fields)
        return body

    # A whole session: register, failures, a legacy hash upgraded at login, refresh, reuse, logout
    registered = call(register(client, email=email, password=PASSWORD), "accessToken", "refreshToken")
    argon2_hash = db.get(email_key(email))["passwordHash"]  # type: ignore[index]
    call(login(client, email, WRONG_PASSWORD))
    call(login(client, unique_email(), WRONG_PASSWORD))
    call(client.post("/auth/register", json={"email": email, "password": "short"}))
    call(client.post("/auth/login", json={"email": email, "password": PASSWORD + "x" * 128}))
    legacy = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode().replace("$2b$", "$2a$", 1)
    db.update(email_key(email), Expression("SET passwordHash = :hash", values={":hash": legacy}))
    logged_in = call(login(client, email, PASSWORD), "accessToken", "refreshToken")
    upgraded_hash = db.get(email_key(email))["passwordHash"]  # type: ignore[index]
    assert upgraded_hash.startswith("$argon2id$")
    rotated = call(refresh(client, logged_in["refreshToken"]), "accessToken", "refreshToken")
    call(refresh(client, logged_in["refreshToken"]))  # reuse: the family is revoked
    call(client.get("/user/profile", headers=bearer(registered["accessToken"])))
    call(client.get("/user/profile", headers=bearer(registered["accessToken"] + "tampered")))
    call(client.get("/user/profile", headers=bearer(registered["refreshToken"])))
    call(client.post("/auth/logout", json={"refreshToken": registered["refreshToken"]}, headers=bearer(rotated["accessToken"])))
    call(client.post("/auth/logout", json={"refreshToken": registered["refreshToken"]}))
    # Email verification: a resend, a replaced link, a wrong one, the right one, then a resend once verified
    user_id, access = registered["user"]["userId"], bearer(rotated["accessToken"])
    replaced_link = latest_verification_token(app, user_id)
    call(client.post("/auth/resend-verification", headers=access))
    call(client.post("/auth/verify-email", json={"token": replaced_link}, headers=access))
    call(client.post("/auth/verify-email", json={"token": "not-" + replaced_link}, headers=access))
    call(client.post("/auth/verify-email", json={"token": latest_verification_token(app, user_id)}, headers=access))
    call(client.post("/auth/resend-verification", headers=access))
    verification_links = verification_tokens(app, user_id)
    assert len(verification_links) == 2
    for _ in range(5):
        call(login(client, email, WRONG_PASSWORD))  # ends locked: 429

    tokens = [token for _, token in issued]
    secrets = [PASSWORD, WRONG_PASSWORD, argon2_hash, legacy, upgraded_hash, *tokens, *map(hash_refresh_token, tokens), *verification_links]
    secrets += [str(event["nonce"]) for event in nonce_events(db, user_id)] + [hash_refresh_token(link) for link in verification_links]
    # Hashes are also checked without their salt-and-parameters prefix: the digest alone is the secret part
    secrets += [argon2_hash.rsplit("$", 1)[-1], upgraded_hash.rsplit("$", 1)[-1], legacy[-31:]]

    lines = log_lines(caplog)
    assert "login failed" in lines and "logged out" in lines and "email verified" in lines  # the events were logged
    for secret in secrets:
        assert secret not in lines

    for response in responses:
        text = response.text + str(response.headers)
        for secret in [PASSWORD, WRONG_PASSWORD, argon2_hash, legacy, upgraded_hash, *verification_links]:
            assert secret not in text
        for issuer, token in issued:
            if response is not issuer:
                assert token not in text
        assert "passwordHash" not in text and "$argon2" not in text and "$2a$" not in text
