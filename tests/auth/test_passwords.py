"""Password storage: argon2id at OWASP's minimum for new hashes; legacy bcrypt ($2a$ from bcryptjs, $2b$) verified and upgraded."""

from __future__ import annotations

import bcrypt
import pytest
from fastapi.testclient import TestClient

from app.auth import passwords
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import email_key
from tests.auth.conftest import PASSWORD, login, register
from tests.factories import unique_email

ARGON2ID_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"
# A published bcryptjs test vector (dcodeIO/bcrypt.js tests: hashSync("hello", "$2a$10$X6bWGfX7NPQFL6Du3uY8Je")),
# verified below with the bcrypt package itself before we rely on it.
BCRYPTJS_PASSWORD = "hello"


def legacy_hash(password: str, prefix: bytes, rounds: int = 10) -> str:
    """A bcrypt hash as the old TypeScript service stored it (bcryptjs wrote $2a$; same algorithm as $2b$)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds, prefix=b"2b"))
    return (prefix + hashed[4:]).decode()


def stored_hash(db: Dynamo, email: str) -> str:
    claim = db.get(email_key(email))
    assert claim is not None
    value: str = claim["passwordHash"]
    return value


def store_hash(db: Dynamo, email: str, password_hash: str) -> None:
    """Put a legacy hash on the email claim, as the migration from the old service does."""
    db.update(email_key(email), Expression("SET passwordHash = :hash", values={":hash": password_hash}))


@pytest.fixture
def email(client: TestClient) -> str:
    address = unique_email()
    assert register(client, email=address).status_code == 201
    return address


def test_new_hashes_are_argon2id_at_owasp_minimum(client: TestClient, db: Dynamo, email: str) -> None:
    assert stored_hash(db, email).startswith(ARGON2ID_PREFIX)


def test_the_same_password_gets_a_different_salt(client: TestClient, db: Dynamo) -> None:
    first, second = unique_email(), unique_email()
    register(client, email=first)
    register(client, email=second)
    assert stored_hash(db, first) != stored_hash(db, second)


@pytest.mark.parametrize("prefix", [b"$2a$", b"$2b$"])
def test_legacy_bcrypt_hash_logs_in_and_is_upgraded_to_argon2id(client: TestClient, db: Dynamo, email: str, prefix: bytes) -> None:
    legacy = legacy_hash(PASSWORD, prefix)
    assert legacy.startswith(prefix.decode() + "10$") and len(legacy) == 60
    store_hash(db, email, legacy)
    response = login(client, email)
    assert response.status_code == 200, response.text
    upgraded = stored_hash(db, email)
    assert upgraded.startswith(ARGON2ID_PREFIX)
    assert login(client, email).status_code == 200
    assert stored_hash(db, email) == upgraded  # already current: not rehashed again


def test_published_bcryptjs_vector_logs_in_and_is_upgraded(client: TestClient, db: Dynamo, email: str) -> None:
    vector = bcrypt.hashpw(BCRYPTJS_PASSWORD.encode(), b"$2a$10$X6bWGfX7NPQFL6Du3uY8Je").decode()
    assert vector.startswith("$2a$10$X6bWGfX7NPQFL6Du3uY8Je")
    store_hash(db, email, vector)
    assert login(client, email, BCRYPTJS_PASSWORD).status_code == 200
    assert stored_hash(db, email).startswith(ARGON2ID_PREFIX)
    assert login(client, email, BCRYPTJS_PASSWORD).status_code == 200


def test_wrong_password_against_bcrypt_hash_keeps_the_hash(client: TestClient, db: Dynamo, email: str) -> None:
    legacy = legacy_hash(PASSWORD, b"$2a$")
    store_hash(db, email, legacy)
    response = login(client, email, PASSWORD + "!")
    assert response.status_code == 401 and response.json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert stored_hash(db, email) == legacy


def test_bcrypt_never_truncates_at_72_bytes(client: TestClient, db: Dynamo, email: str) -> None:
    seventy_two = "k" * 72
    store_hash(db, email, legacy_hash(seventy_two, b"$2a$", rounds=4))
    assert login(client, email, seventy_two + "anything after").status_code == 401
    assert login(client, email, seventy_two).status_code == 200


def test_nul_byte_against_bcrypt_hash_is_a_plain_failure(client: TestClient, db: Dynamo, email: str) -> None:
    store_hash(db, email, legacy_hash(PASSWORD, b"$2a$", rounds=4))
    response = login(client, email, "correct horse\x00battery staple")
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "INVALID_CREDENTIALS"


def test_unusable_stored_hash_refuses_every_password(client: TestClient, db: Dynamo, email: str) -> None:
    for unusable in ("!", "", "$2a$10$tooshort", "$argon2id$v=19$m=19456,t=2,p=1$broken"):
        store_hash(db, email, unusable)
        response = login(client, email)
        assert response.status_code == 401, (unusable, response.text)


def test_argon2id_hash_with_weaker_parameters_is_upgraded(client: TestClient, db: Dynamo, email: str) -> None:
    from argon2 import PasswordHasher, Type

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID).hash(PASSWORD)
    store_hash(db, email, weak)
    assert login(client, email).status_code == 200
    assert stored_hash(db, email).startswith(ARGON2ID_PREFIX)


# --- the module itself, without HTTP ------------------------------------------------------------


def test_verify_password_round_trip_and_exactness() -> None:
    hashed = passwords.hash_password(" pass word 123 ")
    assert passwords.verify_password(" pass word 123 ", hashed).valid
    assert not passwords.verify_password("pass word 123", hashed).valid
    assert not passwords.needs_rehash(hashed)


def test_verify_password_without_a_hash_is_false() -> None:
    assert passwords.verify_password(PASSWORD, None) == passwords.Verification(valid=False)


def test_multibyte_passwords_over_72_bytes_against_bcrypt_do_not_verify() -> None:
    password = "é" * 36  # exactly 72 bytes in UTF-8
    legacy = legacy_hash(password, b"$2a$", rounds=4)
    assert passwords.verify_password(password, legacy).valid
    assert not passwords.verify_password(password + "é", legacy).valid
