"""The ACH tests' fixtures: a real SFTP server standing in for the bank (tests/support/sftp.py)."""

from tests.support.sftp import bank, sftp_server

__all__ = ["bank", "sftp_server"]
