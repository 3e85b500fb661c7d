"""A real SFTP server for the tests: tools/sftp/server.py as a subprocess on a free port, the bank's side of
app/ach/transport.py. Each pytest-xdist worker starts its own (the fixtures are module-scoped).

Use the fixtures from a package's conftest.py (`from tests.support.sftp import bank, sftp_server`):
`sftp_server` is the running server of the module, `bank` one test's own outbound/inbound folders on it.
The host and client keys live outside the served root, so no session can read them.
"""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from app.ach.remote import SftpTarget
from scripts import sftp_local

USERNAME = "odfi-drop"


@dataclass
class SftpServer:
    root: Path  # what every session sees as "/"
    port: int
    password: str
    host_key: str  # the server's public host key, as known_hosts has it
    client_key: str  # an OpenSSH private key the server accepts for USERNAME
    process: Any  # subprocess.Popen[bytes]

    def target(self, **changes: Any) -> SftpTarget:
        """A target for this server: the password login, its outbound/ and inbound/, the host key pinned."""
        base = SftpTarget(
            host="127.0.0.1",
            port=self.port,
            username=USERNAME,
            password=self.password,
            private_key=None,
            outbound_dir="/outbound",
            inbound_dir="/inbound",
            known_host_key=self.host_key,
            connect_timeout_seconds=10,  # a loaded CI machine; what a timeout does is tested with a short one
            io_timeout_seconds=30,
        )
        return dataclasses.replace(base, **changes)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@contextmanager
def running_sftp_server(root: Path, keys: Path, *, fault: str | None = None) -> Iterator[SftpServer]:
    """Start the server on `root` (keys written in `keys`, outside it) and stop it on the way out."""
    host_key, client_key = asyncssh.generate_private_key("ssh-ed25519"), asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(keys / "host_key")
    (keys / "authorized_keys").write_bytes(client_key.export_public_key())
    password = secrets.token_urlsafe(16)
    port = sftp_local.free_port()
    process = sftp_local.start(
        root=root,
        port=port,
        username=USERNAME,
        password=password,
        host_key=keys / "host_key",
        authorized_keys=str(keys / "authorized_keys"),
        fault=fault,
    )
    server = SftpServer(
        root=root,
        port=port,
        password=password,
        host_key=host_key.export_public_key().decode().strip(),
        client_key=client_key.export_private_key().decode(),
        process=process,
    )
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Bank:
    """One test's folders on the server: the target the client uses, and the same folders on the bank's disk."""

    target: SftpTarget
    outbound: Path
    inbound: Path


@pytest.fixture(scope="module")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    with running_sftp_server(tmp_path_factory.mktemp("sftp-root"), tmp_path_factory.mktemp("sftp-keys")) as server:
        yield server


@pytest.fixture
def bank(sftp_server: SftpServer) -> Bank:
    """Fresh, empty outbound/ and inbound/ folders for one test, under a folder of its own."""
    folder = f"t-{uuid.uuid4().hex[:12]}"
    outbound, inbound = sftp_server.root / folder / "outbound", sftp_server.root / folder / "inbound"
    outbound.mkdir(parents=True)
    inbound.mkdir()
    return Bank(sftp_server.target(outbound_dir=f"/{folder}/outbound", inbound_dir=f"/{folder}/inbound"), outbound, inbound)
