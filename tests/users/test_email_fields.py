"""Profile.emailVerified and Profile.emailNotifications: what a user sees and may change, and how items written
before these fields existed read (read-time defaults, no backfill)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.keys import user_key
from tests.factories import a_user


def test_email_notifications_can_be_turned_off_and_on(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    ada = a_user(app)
    assert client.get("/user/profile", headers=ada.headers).json()["emailNotifications"] is True

    off = client.patch("/user/profile", json={"emailNotifications": False}, headers=ada.headers)
    assert off.status_code == 200 and off.json()["emailNotifications"] is False
    assert off.json()["firstName"] == "Ada" and off.json()["emailVerified"] is True  # nothing else changed
    assert (db.get(user_key(ada.user_id)) or {})["emailNotifications"] is False
    assert client.get("/user/profile", headers=ada.headers).json()["emailNotifications"] is False

    on = client.patch("/user/profile", json={"emailNotifications": True, "lastName": "King"}, headers=ada.headers)
    assert on.status_code == 200 and (on.json()["emailNotifications"], on.json()["lastName"]) == (True, "King")


def test_an_item_written_before_the_email_fields_reads_with_their_defaults(app: FastAPI, client: TestClient, db: Dynamo) -> None:
    # Given a user item exactly as the previous version wrote it (no emailVerified, no emailNotifications)
    ada = a_user(app, verified=False)
    item = db.get(user_key(ada.user_id)) or {}
    legacy = {
        name: value
        for name, value in item.items()
        if name not in ("emailVerified", "emailNotifications", "verificationHash", "verificationExpiresAt", "verificationSentAt")
    }
    db.put(legacy)

    # Then it reads as unverified, with notifications on
    profile = client.get("/user/profile", headers=ada.headers).json()
    assert (profile["emailVerified"], profile["emailNotifications"]) == (False, True)
    # And turning notifications off writes the attribute
    client.patch("/user/profile", json={"emailNotifications": False}, headers=ada.headers)
    assert client.get("/user/profile", headers=ada.headers).json()["emailNotifications"] is False


def test_a_verified_user_reads_verified_everywhere_the_profile_appears(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app)
    login = client.post("/auth/login", json={"email": ada.email, "password": ada.password}).json()
    assert login["user"]["emailVerified"] is True
    assert client.get("/user/profile", headers=ada.headers).json()["emailVerified"] is True
