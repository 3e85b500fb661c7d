"""The payments tests' fixtures: a real SFTP server for the bank (tests/support/sftp.py), and a rail configured on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ach.settings import AchRail
from tests.support.nacha import ORIGINATOR
from tests.support.sftp import Bank, bank, sftp_server

__all__ = ["bank", "rail_settings", "sftp_server"]


@pytest.fixture
def rail_settings(bank: Bank, tmp_path: Path) -> AchRail:
    """The ACH_* settings of a rail to this test's folders on the SFTP server, with an archive folder of its own."""
    target = bank.target
    return AchRail(
        _env_file=None,  # type: ignore[call-arg]
        odfi_routing=ORIGINATOR.odfi_routing,
        company_id=ORIGINATOR.company_id,
        company_name=ORIGINATOR.company_name,
        sftp_host=target.host,
        sftp_port=target.port,
        sftp_username=target.username,
        sftp_password=target.password,
        sftp_host_key=target.known_host_key,
        sftp_outbound_dir=target.outbound_dir,
        sftp_inbound_dir=target.inbound_dir,
        archive_dir=str(tmp_path / "archive"),
    )
