"""ACH_* settings: validated when read; the rail is off until every one it needs is set."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.ach.settings import AchRail, RailNotConfigured
from app.config import Settings

COMPLETE = {
    "odfi_routing": "091000019",
    "company_id": "1234567890",
    "company_name": "Lendwise",
    "sftp_host": "127.0.0.1",
    "sftp_port": 2222,
    "sftp_username": "lendwise",
    "sftp_password": "a-dev-password",
}


def rail(**values: object) -> AchRail:
    return AchRail(_env_file=None, **values)  # type: ignore[arg-type]


def test_a_complete_rail_gives_the_originator_and_the_sftp_target() -> None:
    settings = rail(**COMPLETE)
    assert settings.missing() == []
    assert settings.originator().company_id == "1234567890"
    target = settings.sftp_target()
    assert (target.host, target.port, target.username, target.password) == ("127.0.0.1", 2222, "lendwise", "a-dev-password")
    assert (target.outbound_dir, target.inbound_dir, settings.return_window_days) == ("outbound", "inbound", 2)
    assert "a-dev-password" not in repr(settings) and "a-dev-password" not in repr(target)


def test_an_unset_rail_says_what_it_needs() -> None:
    settings = rail(odfi_routing="091000019")
    assert settings.missing() == [
        "ACH_COMPANY_ID",
        "ACH_COMPANY_NAME",
        "ACH_SFTP_HOST",
        "ACH_SFTP_USERNAME",
        "ACH_SFTP_PASSWORD or ACH_SFTP_PRIVATE_KEY",
    ]
    with pytest.raises(RailNotConfigured, match="ACH_COMPANY_ID"):
        settings.originator()
    with pytest.raises(RailNotConfigured, match="ACH_SFTP_HOST"):
        rail(**{**COMPLETE, "sftp_host": None}).sftp_target()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("odfi_routing", "091000018", "checksum"),
        ("odfi_routing", "0910000", "9 digits"),
        ("company_id", "12345", "ACH_COMPANY_ID"),
        ("company_id", "abcdefghij", "ACH_COMPANY_ID"),
        ("company_name", "A name far too long for ACH", "ACH_COMPANY_NAME"),
        ("company_name", "漢字", "ACH_COMPANY_NAME"),
        ("sftp_port", 0, "sftp_port"),
        ("return_window_days", 0, "return_window_days"),
    ],
)
def test_a_bad_value_is_refused_when_read(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rail(**{**COMPLETE, field: value})


def test_the_rail_is_read_from_ach_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in COMPLETE.items():
        monkeypatch.setenv(f"ACH_{name.upper()}", str(value))
    monkeypatch.setenv("ACH_SFTP_OUTBOUND_DIR", "to-bank")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.ach.missing() == []
    assert settings.ach.sftp_target().outbound_dir == "to-bank"
