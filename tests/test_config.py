"""Settings: read from the environment; prod refuses weak secrets with a message naming the setting."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from app.ach.settings import AchRail
from app.config import Settings

STRONG = "x" * 48
KMS = "arn:aws:kms:us-east-1:123456789012:key/abc"


RAIL = {
    "odfi_routing": "091000019",
    "company_id": "1234567890",
    "company_name": "LENDING",
    "sftp_host": "sftp.odfi.example",
    "sftp_username": "lending",
}


def build(**values: object) -> Settings:
    """Settings from `values` only; in prod with the ACH rail's identity unless `ach` is given."""
    if values.get("environment") == "prod" and "ach" not in values:
        values["ach"] = AchRail(_env_file=None, **RAIL)  # type: ignore[call-arg, arg-type]
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("unset", sorted(RAIL))
def test_prod_refuses_to_start_without_the_ach_rails_settings(unset: str) -> None:
    rail = AchRail(_env_file=None, **{name: value for name, value in RAIL.items() if name != unset})  # type: ignore[call-arg, arg-type]
    with pytest.raises(ValidationError, match=f"without the ACH rail's settings: ACH_{unset.upper()}"):
        build(environment="prod", jwt_secret=STRONG, ach_kms_key_id=KMS, ach=rail)


def test_prod_refuses_missing_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET is missing or weak"):
        build(environment="prod", ach_kms_key_id=KMS)


def test_prod_refuses_short_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        build(environment="prod", jwt_secret="short-secret", ach_kms_key_id=KMS)


def test_prod_requires_kms_key_for_ach() -> None:
    with pytest.raises(ValidationError, match="ACH_KMS_KEY_ID"):
        build(environment="prod", jwt_secret=STRONG)


def test_prod_refuses_debug_metrics() -> None:
    with pytest.raises(ValidationError, match="DEBUG_DB_METRICS"):
        build(environment="prod", jwt_secret=STRONG, ach_kms_key_id=KMS, debug_db_metrics=True)


def test_prod_with_strong_secret_starts() -> None:
    settings = build(environment="prod", jwt_secret=STRONG, ach_kms_key_id=KMS)
    assert settings.environment == "prod"


def test_dev_allows_the_default_secret() -> None:
    assert build(environment="dev").jwt_secret


def test_reads_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "from-env")
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example ,")
    monkeypatch.setenv("ENVIRONMENT", "test")
    settings = build()
    assert settings.table_name == "from-env"
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]


def test_local_ach_key_must_be_32_bytes() -> None:
    with pytest.raises(ValidationError, match="ACH_LOCAL_KEY"):
        build(ach_local_key=base64.b64encode(b"short").decode())
    with pytest.raises(ValidationError, match="ACH_LOCAL_KEY"):
        build(ach_local_key="not base64 !!")


def test_prod_refuses_email_verification_off() -> None:
    with pytest.raises(ValidationError, match="EMAIL_VERIFICATION"):
        build(environment="prod", jwt_secret=STRONG, ach_kms_key_id=KMS, email_verification="off")
    assert build(environment="prod", jwt_secret=STRONG, ach_kms_key_id=KMS).email_verification == "required"
    assert build(environment="dev", email_verification="off").email_verification == "off"
