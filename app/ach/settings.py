"""The ACH rail's settings (environment variables ACH_*): the platform at its ODFI, and the ODFI's SFTP server.

Unset, the rail is off: nothing is sent or read. The SFTP login is by password (the local server of dev
and test) or private key; ACH_SFTP_HOST_KEY pins the server's host key (unset accepts any: dev/test only).
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.ach.entries import Originator
from app.ach.records import ach_text
from app.ach.remote import SftpTarget
from app.money.routing import valid_routing_number


class RailNotConfigured(Exception):
    """The rail was asked for while some of its settings are unset; the message lists them."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"the ACH rail needs {', '.join(missing)}")


class AchRail(BaseSettings):
    """ACH_ODFI_ROUTING, ACH_COMPANY_ID, ACH_COMPANY_NAME, ACH_SFTP_*, ACH_RETURN_WINDOW_DAYS (README "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="ACH_", env_file=".env", extra="ignore", env_ignore_empty=True)

    odfi_routing: str | None = None
    company_id: str | None = None
    company_name: str | None = None
    sftp_host: str | None = None
    sftp_port: int = Field(default=22, ge=1, le=65_535)
    sftp_username: str | None = None
    sftp_password: SecretStr | None = None
    sftp_private_key: SecretStr | None = None
    sftp_host_key: str | None = None  # the server's public key as in known_hosts; unset accepts any (dev/test only)
    sftp_outbound_dir: str = "outbound"
    sftp_inbound_dir: str = "inbound"
    return_window_days: int = Field(default=2, ge=1, le=10)
    archive_bucket: str | None = None  # AWS: the S3 bucket that keeps every outbound file (SSE-KMS)
    archive_dir: str | None = None  # dev/test: a folder of encrypted copies instead

    @field_validator("odfi_routing")
    @classmethod
    def _routing(cls, value: str | None) -> str | None:
        return None if value is None else valid_routing_number(value)

    @field_validator("company_id")
    @classmethod
    def _company_id(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 10 or ach_text(value) != value):
            raise ValueError("ACH_COMPANY_ID must be 10 characters of upper-case letters, digits and spaces")
        return value

    @field_validator("company_name")
    @classmethod
    def _company_name(cls, value: str | None) -> str | None:
        if value is not None and not 0 < len(ach_text(value)) <= 16:
            raise ValueError("ACH_COMPANY_NAME must be 1 to 16 characters of the ACH alphabet")
        return value

    def missing(self) -> list[str]:
        """The variables a working rail still needs."""
        needed = {
            "ACH_ODFI_ROUTING": self.odfi_routing,
            "ACH_COMPANY_ID": self.company_id,
            "ACH_COMPANY_NAME": self.company_name,
            "ACH_SFTP_HOST": self.sftp_host,
            "ACH_SFTP_USERNAME": self.sftp_username,
            "ACH_SFTP_PASSWORD or ACH_SFTP_PRIVATE_KEY": self.sftp_password or self.sftp_private_key,
        }
        return [name for name, value in needed.items() if not value]

    def missing_in_prod(self) -> list[str]:
        """What every prod process needs (the API, the jobs, the email function): the rail's identity and where the
        bank is. The SFTP key and the archive are the ACH jobs' alone: their runs refuse to start without them."""
        needed = {
            "ACH_ODFI_ROUTING": self.odfi_routing,
            "ACH_COMPANY_ID": self.company_id,
            "ACH_COMPANY_NAME": self.company_name,
            "ACH_SFTP_HOST": self.sftp_host,
            "ACH_SFTP_USERNAME": self.sftp_username,
        }
        return [name for name, value in needed.items() if not value]

    def originator(self) -> Originator:
        if not (self.odfi_routing and self.company_id and self.company_name):
            raise RailNotConfigured(self.missing())
        return Originator(odfi_routing=self.odfi_routing, company_id=self.company_id, company_name=self.company_name)

    def sftp_target(self) -> SftpTarget:
        if not (self.sftp_host and self.sftp_username) or self.missing():
            raise RailNotConfigured(self.missing())
        return SftpTarget(
            host=self.sftp_host,
            port=self.sftp_port,
            username=self.sftp_username,
            password=self.sftp_password.get_secret_value() if self.sftp_password else None,
            private_key=self.sftp_private_key.get_secret_value() if self.sftp_private_key else None,
            outbound_dir=self.sftp_outbound_dir,
            inbound_dir=self.sftp_inbound_dir,
            known_host_key=self.sftp_host_key,
        )
