"""Bank account numbers: field-level AES-256-GCM encryption before anything is written.

Each encrypted field is base64(nonce || ciphertext+tag) with a random 12-byte nonce; the associated
data binds it to its record (a Binding: the user and bank account, or for the ACH records of earlier
versions the loan and lender) and its field, so a ciphertext copied to another record (or swapped
between routing and account number) fails to decrypt. The data key comes from KMS in production
(GenerateDataKey per record, the encrypted data key stored beside the ciphertext: envelope
encryption, its encryption context the binding) and from the configured ACH_LOCAL_KEY in dev/test.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import Settings, local_ach_key
from app.db.client import ClientTimeouts
from app.db.expressions import Item
from app.db.kms import DataKeyRejected, KeyServiceUnavailable, KmsKeyring, kms_client
from app.errors import ServiceUnavailable

NONCE_BYTES = 12
ENCRYPTED_FIELDS = ("routingNumber", "accountNumber")


class AchDecryptionFailed(Exception):
    """The ciphertext, its associated data or its data key does not match: tampered or misplaced."""


def last4(value: str) -> str:
    return value[-4:]


class DataKeySource(Protocol):
    name: str

    def new_data_key(self, context: Mapping[str, str]) -> tuple[bytes, bytes | None]: ...

    def data_key(self, encrypted_key: bytes | None, context: Mapping[str, str]) -> bytes: ...


class LocalDataKeys:
    """dev/test: one configured 32-byte key, nothing stored beside the ciphertext."""

    name = "local"

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the local ACH key must be 32 bytes")
        self._key = key

    def new_data_key(self, context: Mapping[str, str]) -> tuple[bytes, bytes | None]:
        return self._key, None

    def data_key(self, encrypted_key: bytes | None, context: Mapping[str, str]) -> bytes:
        return self._key


class KmsDataKeys:
    """prod: a fresh KMS data key per record (envelope encryption), bound to the loan and lender."""

    name = "kms"

    def __init__(self, keyring: KmsKeyring) -> None:
        self.keyring = keyring

    def new_data_key(self, context: Mapping[str, str]) -> tuple[bytes, bytes | None]:
        return self.keyring.generate_data_key(context=context)

    def data_key(self, encrypted_key: bytes | None, context: Mapping[str, str]) -> bytes:
        if encrypted_key is None:
            raise AchDecryptionFailed("record has no encrypted data key")
        try:
            return self.keyring.decrypt_data_key(encrypted_key=encrypted_key, context=context)
        except DataKeyRejected as exc:
            raise AchDecryptionFailed("KMS refused the data key") from exc


def data_keys_for(settings: Settings) -> DataKeySource:
    """KMS when ACH_KMS_KEY_ID is set (required in prod), else the local dev/test key."""
    if settings.ach_kms_key_id:
        return KmsDataKeys(KmsKeyring(kms_client(settings.aws_region, timeouts=ClientTimeouts.of(settings)), settings.ach_kms_key_id))
    key = local_ach_key(settings)
    if key is None:
        raise ServiceUnavailable("ACH encryption is not configured")
    return LocalDataKeys(key)


@dataclass(frozen=True)
class Binding:
    """What a ciphertext belongs to: its KMS encryption context, and the prefix of its associated data."""

    context: tuple[tuple[str, str], ...]
    prefix: str

    @classmethod
    def bank_account(cls, user_id: str, bank_account_id: str) -> Binding:
        return cls((("userId", user_id), ("bankAccountId", bank_account_id)), f"bank|{user_id}|{bank_account_id}")

    @classmethod
    def ach_record(cls, loan_id: str, lender_id: str) -> Binding:
        """The ACH record an acceptance wrote before bank accounts existed (LOAN#<loanId> / ACH#<lenderId>)."""
        return cls((("loanId", loan_id), ("lenderId", lender_id)), f"ach|{loan_id}|{lender_id}")

    def associated_data(self, field: str) -> bytes:
        return f"{self.prefix}|{field}".encode()


def seal(*, keys: DataKeySource, binding: Binding, routing_number: str, account_number: str) -> Item:
    """The encrypted attributes of a bank account's numbers; plaintext numbers never leave this function."""
    context = dict(binding.context)
    try:
        key, encrypted_key = keys.new_data_key(context)
    except KeyServiceUnavailable as exc:
        raise ServiceUnavailable("The key service is unavailable; retry later") from exc
    cipher = AESGCM(key)
    sealed: Item = {"keySource": keys.name}
    for field, value in (("routingNumber", routing_number), ("accountNumber", account_number)):
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = cipher.encrypt(nonce, value.encode(), binding.associated_data(field))
        sealed[f"{field}Cipher"] = base64.b64encode(nonce + ciphertext).decode("ascii")
    if encrypted_key is not None:
        sealed["dataKey"] = base64.b64encode(encrypted_key).decode("ascii")
    return sealed


def unseal(*, keys: DataKeySource, binding: Binding, item: Mapping[str, object]) -> dict[str, str]:
    """The plaintext numbers of an item sealed with `binding`: for the file builder only, never for responses."""
    encoded_key = item.get("dataKey")
    try:
        key = keys.data_key(base64.b64decode(str(encoded_key)) if encoded_key else None, dict(binding.context))
    except KeyServiceUnavailable as exc:
        raise ServiceUnavailable("The key service is unavailable; retry later") from exc
    cipher = AESGCM(key)
    plain: dict[str, str] = {}
    for field in ENCRYPTED_FIELDS:
        blob = base64.b64decode(str(item[f"{field}Cipher"]))
        try:
            value = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], binding.associated_data(field))
        except InvalidTag as exc:
            raise AchDecryptionFailed(f"{field} does not decrypt for this record") from exc
        plain[field] = value.decode()
    return plain
