"""The botocore DynamoDB client: its timeouts and retries (`ClientTimeouts`, also used for KMS) and `make_client`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config

from app.db.metrics import count_call


@dataclass(frozen=True)
class ClientTimeouts:
    """Connect/read timeouts and retries of a botocore client (DynamoDB, KMS).

    The values are set in app/config.py (AWS_CONNECT_TIMEOUT_SECONDS, AWS_READ_TIMEOUT_SECONDS,
    AWS_MAX_ATTEMPTS, AWS_RETRY_MODE; `of(settings)`); the defaults here are the same, for callers
    without settings (scripts), and tests/faults/test_client_config.py keeps the two equal.
    """

    connect_seconds: float = 1
    read_seconds: float = 2
    max_attempts: int = 3  # the first call included (botocore's total_max_attempts)
    retry_mode: str = "standard"

    @classmethod
    def of(cls, settings: Any) -> ClientTimeouts:
        """From anything with the aws_* fields of app.config.Settings (the data layer does not import it)."""
        return cls(
            connect_seconds=settings.aws_connect_timeout_seconds,
            read_seconds=settings.aws_read_timeout_seconds,
            max_attempts=settings.aws_max_attempts,
            retry_mode=settings.aws_retry_mode,
        )

    def config(self, **extra: Any) -> Config:
        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_seconds,
            read_timeout=self.read_seconds,
            **extra,
        )


def make_client(*, region: str, endpoint_url: str | None, timeouts: ClientTimeouts | None = None) -> Any:
    """A DynamoDB client with short timeouts and bounded retries; dummy credentials for a local endpoint."""
    config = (timeouts or ClientTimeouts()).config(max_pool_connections=64)
    extra: dict[str, str] = {}
    if endpoint_url and not os.environ.get("AWS_ACCESS_KEY_ID"):
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    client = botocore.session.get_session().create_client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **extra)
    client.meta.events.register("before-call.dynamodb", count_call)
    return client
