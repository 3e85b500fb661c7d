"""The kept copy of every outbound file, for the ACH desk's disputes: only ever stored encrypted.

In AWS: S3 (ACH_ARCHIVE_BUCKET), each object under outbound/<name> encrypted by S3 with the ACH KMS key
(SSE-KMS; the bucket refuses anything else, terraform/ach.tf). Locally: a folder (ACH_ARCHIVE_DIR) of
<name>.enc files, each AES-256-GCM under the local ACH key with the file's name as associated data, written
whole under a dot-name and renamed. The plaintext exists only in memory; nothing here ever reads a copy back
(the desk decrypts with `read_local` or the S3 console under its own grant).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.ach.remote import BankUnreachable, check_name
from app.db.client import ClientTimeouts

NONCE_BYTES = 12
PREFIX = "outbound/"


class ArchiveUnavailable(BankUnreachable):
    """The archive could not keep a copy: the file is not sent without one (the job retries on its next run)."""


class Archive(Protocol):
    def keep(self, name: str, content: bytes) -> None: ...


class LocalArchive:
    """dev/test: encrypted files in a folder."""

    def __init__(self, folder: str | Path, key: bytes) -> None:
        self.folder = Path(folder)
        self._cipher = AESGCM(key)

    def keep(self, name: str, content: bytes) -> None:
        check_name(name)
        self.folder.mkdir(parents=True, exist_ok=True)
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._cipher.encrypt(nonce, content, name.encode())
        temp = self.folder / f".{name}.{os.getpid()}.part"
        temp.write_bytes(sealed)
        temp.replace(self.folder / f"{name}.enc")

    def read_local(self, name: str) -> bytes:
        """A kept file, decrypted (the desk's tool and the tests'; the jobs never read one)."""
        sealed = (self.folder / f"{name}.enc").read_bytes()
        return self._cipher.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], name.encode())


@lru_cache(maxsize=2)
def s3_client(region: str, timeouts: ClientTimeouts) -> Any:
    return botocore.session.get_session().create_client("s3", region_name=region, config=timeouts.config(max_pool_connections=4))


class S3Archive:
    """prod: SSE-KMS objects in the archive bucket."""

    def __init__(self, client: Any, bucket: str, kms_key_id: str) -> None:
        self.client, self.bucket, self.kms_key_id = client, bucket, kms_key_id

    def keep(self, name: str, content: bytes) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=f"{PREFIX}{check_name(name)}",
                Body=content,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self.kms_key_id,
            )
        except (BotoCoreError, ClientError) as exc:
            raise ArchiveUnavailable(f"the archive did not keep {name}: {type(exc).__name__}") from exc
