"""The KMS client factory and the two calls envelope encryption needs (GenerateDataKey, Decrypt).

Like dynamo.py, this is a data-layer module: it is the only place that talks to KMS, and every
boto/KMS failure leaves it as one of our own exceptions:
  KeyServiceUnavailable  KMS cannot be reached, throttles us, or the key is disabled/missing
  DataKeyRejected        KMS refused to decrypt a data key (wrong encryption context, tampered blob)
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from app.db.client import ClientTimeouts
from app.db.errors import DataLayerError

REJECTED_CODES = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})


class KeyServiceUnavailable(DataLayerError):
    """KMS cannot serve the request now."""


class DataKeyRejected(DataLayerError):
    """KMS refused to decrypt this data key with this context."""


@lru_cache(maxsize=4)
def kms_client(region: str, endpoint_url: str | None = None, timeouts: ClientTimeouts | None = None) -> Any:
    """One KMS client per process and region (clients are thread-safe); timeouts as DynamoDB's (ClientTimeouts)."""
    config = (timeouts or ClientTimeouts()).config()
    return botocore.session.get_session().create_client("kms", region_name=region, endpoint_url=endpoint_url, config=config)


class KmsKeyring:
    """Data keys under one KMS key, bound to an encryption context (authenticated, logged by CloudTrail)."""

    def __init__(self, client: Any, key_id: str) -> None:
        self.client = client
        self.key_id = key_id

    def generate_data_key(self, *, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        """A fresh AES-256 key: (plaintext, KMS-encrypted blob to store beside the ciphertext)."""
        try:
            response = self.client.generate_data_key(KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=dict(context))
        except (ClientError, BotoCoreError) as exc:
            raise KeyServiceUnavailable(type(exc).__name__) from exc
        return bytes(response["Plaintext"]), bytes(response["CiphertextBlob"])

    def decrypt_data_key(self, *, encrypted_key: bytes, context: Mapping[str, str]) -> bytes:
        """The plaintext of a stored data key; refused unless `context` is the one it was made with."""
        try:
            response = self.client.decrypt(CiphertextBlob=encrypted_key, KeyId=self.key_id, EncryptionContext=dict(context))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in REJECTED_CODES:
                raise DataKeyRejected() from exc
            raise KeyServiceUnavailable(exc.response.get("Error", {}).get("Code", "ClientError")) from exc
        except BotoCoreError as exc:
            raise KeyServiceUnavailable(type(exc).__name__) from exc
        return bytes(response["Plaintext"])
