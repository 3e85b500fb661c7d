"""Settings, read once from the environment (and an optional .env file)."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.ach.settings import AchRail

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me-0123456789"  # noqa: S105 - refused outside dev
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """Every knob of the service; see README "Configuration" for each variable."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    environment: Literal["dev", "test", "prod"] = "dev"
    table_name: str = "lending"
    dynamodb_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # Every botocore client (DynamoDB, KMS): the one place timeouts and retries are set (app/db/client.py
    # ClientTimeouts carries them to the clients). Sized so the slowest endpoint's worst case stays
    # under the Lambda timeout and API Gateway's 29 s: README "Timeouts and retries".
    aws_connect_timeout_seconds: float = Field(default=1, gt=0, le=10)
    aws_read_timeout_seconds: float = Field(default=2, gt=0, le=10)
    aws_max_attempts: int = Field(default=3, ge=1, le=5)  # the first call included (botocore's total_max_attempts)
    aws_retry_mode: Literal["standard", "adaptive"] = "standard"
    # A write that keeps losing races to concurrent writes of the same loan is re-run for this long
    # (app/retry.py) before it answers 409 CONFLICT with Retry-After; within one process writes of a loan queue.
    write_retry_seconds: float = Field(default=5, gt=0, le=20)
    # A transaction whose answer was lost (timeout, dropped connection, 500) is asked after (GetItem of
    # what it creates, the same request again with its ClientRequestToken) for this long before 503.
    write_settle_seconds: float = Field(default=8, gt=0, le=20)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    cors_origins: str = ""

    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "lending-api"
    jwt_audience: str = "lending-spa"
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=1800)
    refresh_token_ttl_days: int = Field(default=14, ge=1, le=90)

    # ACH field encryption: a KMS key in prod (envelope encryption), a local 32-byte key elsewhere.
    ach_kms_key_id: str | None = None
    ach_local_key: str | None = None

    # No relay for spam: per account per UTC day, at most this many loans created and invitations sent with them
    # (POST /loans answers 429 RATE_LIMITED beyond, Retry-After = seconds to the next UTC midnight; app/loans/quota.py).
    loan_create_daily_limit: int = Field(default=10, ge=1, le=10_000)
    invitation_daily_limit: int = Field(default=60, ge=1, le=100_000)

    # A borrower may close funding early once this share of the amount is funded (POST /loans/{id}/close-funding).
    min_partial_funding_percent: int = Field(default=50, ge=1, le=100)

    # The local worker (python -m app.worker): seconds between runs of the scheduled jobs.
    worker_interval_seconds: float = Field(default=60, gt=0, le=86_400)

    # Email (app/notifications): SES v2 in AWS, a real SMTP server locally (scripts/dev.sh starts maildev).
    email_backend: Literal["ses", "smtp"] = "smtp"
    email_from: str = "Lending <no-reply@lending.example>"
    app_base_url: str = "http://localhost:5173"  # the SPA: every link in an email starts here
    ses_endpoint_url: str | None = None  # unset in AWS; tests point SES v2 at moto
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=1025, ge=1, le=65_535)
    smtp_timeout_seconds: float = Field(default=5, gt=0, le=60)
    # required: an unverified account may not create loans or see/answer invitations. Prod refuses off.
    email_verification: Literal["required", "off"] = "required"

    # Counts DynamoDB requests per HTTP request in a response header; for benchmarks, never in prod.
    debug_db_metrics: bool = False

    # The ACH rail (ACH_ODFI_ROUTING, ACH_COMPANY_*, ACH_SFTP_*, ACH_RETURN_WINDOW_DAYS): its own group, app/ach/settings.py.
    ach: AchRail = Field(default_factory=AchRail)

    @field_validator("jwt_secret")
    @classmethod
    def _strong_secret_outside_dev(cls, value: str, info: ValidationInfo) -> str:
        env = info.data.get("environment", "dev")
        if env == "prod" and (value == DEV_JWT_SECRET or len(value) < MIN_SECRET_LENGTH):
            raise ValueError(f"JWT_SECRET is missing or weak: prod needs a random secret of at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("ach_local_key")
    @classmethod
    def _valid_local_key(cls, value: str | None) -> str | None:
        if value is not None and len(_decode_key(value)) != 32:
            raise ValueError("ACH_LOCAL_KEY must be 32 bytes, base64-encoded")
        return value

    @field_validator("ach_kms_key_id")
    @classmethod
    def _kms_key_in_prod(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("environment") == "prod" and not value:
            raise ValueError("ACH_KMS_KEY_ID is required in prod (ACH details are KMS-encrypted)")
        return value

    @field_validator("debug_db_metrics")
    @classmethod
    def _no_debug_metrics_in_prod(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("environment") == "prod":
            raise ValueError("DEBUG_DB_METRICS must be off in prod")
        return value

    @field_validator("email_verification")
    @classmethod
    def _verification_in_prod(cls, value: str, info: ValidationInfo) -> str:
        if value == "off" and info.data.get("environment") == "prod":
            raise ValueError("EMAIL_VERIFICATION=off is refused in prod")
        return value

    @model_validator(mode="after")
    def _ach_rail_in_prod(self) -> Settings:
        missing = self.ach.missing_in_prod() if self.environment == "prod" else []
        if missing:
            raise ValueError(f"prod refuses to start without the ACH rail's settings: {', '.join(missing)}")
        return self

    @field_validator("app_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("APP_BASE_URL must be an http(s) URL")
        return value.rstrip("/")

    @property
    def cors_origin_list(self) -> list[str]:
        """CORS_ORIGINS split on commas, blanks dropped."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]


def _decode_key(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("ACH_LOCAL_KEY is not valid base64") from exc


def local_ach_key(settings: Settings) -> bytes | None:
    """The decoded dev/test ACH key, if configured."""
    return _decode_key(settings.ach_local_key) if settings.ach_local_key else None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
