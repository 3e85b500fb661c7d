"""The SFTP rail to the bank (the ODFI): the only network caller of app/ach.

A plain synchronous API for the jobs: `with session(target) as bank: bank.upload(...)` opens one SSH
connection and one SFTP session for the whole job run (each call is one `asyncio.Runner` step over
asyncssh on a private event loop of the calling thread, so it works from a thread with no loop, and
beside a loop running in another thread; never from a thread whose own loop is running). The
module-level functions open a session per call.

Uploads are never seen half-written: the bytes go from memory to a dot-named temporary file in the
outbound folder (the bank ignores dot-files), its size is checked with a stat, and only then is it
renamed to its final name with the plain SFTP rename, which the protocol defines as refusing an
existing target (OpenSSH's server makes that atomic with link+unlink); posix-rename would silently
replace it, so it is not used. Every connection, authentication, timeout or I/O failure is
BankUnreachable, whose message names the host, the step and the reason, never a password or a key.
asyncssh is imported on first use only: importing this module costs a job that never connects nothing.
The vocabulary (SftpTarget, RemoteFile, the errors, the name rules) is app/ach/remote.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from app.ach.remote import (
    BankUnreachable,
    FolderMissingBeforeRename,
    InboundFolder,
    RemoteFile,
    RemoteFileExists,
    RemoteFileMissing,
    SftpTarget,
    UploadNotRenamed,
    check_name,
    copy_name,
    ensure_complete,
    is_listed,
    join,
)

if TYPE_CHECKING:
    import asyncssh

T = TypeVar("T")
_MAX_COPIES = 1000  # move_inbound: <name>, <stem>-1.<ext>, ... before it gives up


def _reason(exc: BaseException) -> str:
    import asyncssh

    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, asyncssh.Error):
        return f"{type(exc).__name__}: {exc.reason}"
    if isinstance(exc, OSError):
        return f"{type(exc).__name__}: {exc.strerror or 'I/O error'}"
    return type(exc).__name__  # a key that could not be read: its text is never quoted


class BankSession:
    """One SSH connection and SFTP session to the bank; made by `session()`, used by one thread."""

    def __init__(self, target: SftpTarget, runner: asyncio.Runner) -> None:
        self.target = target
        self._runner = runner
        self._connection, self._sftp = self._step("connect", _connect(target), target.connect_timeout_seconds)

    def _step(self, step: str, operation: Coroutine[Any, Any, T], seconds: float | None = None) -> T:
        import asyncssh

        try:
            return self._runner.run(_within(seconds or self.target.io_timeout_seconds, operation))
        except (asyncssh.Error, OSError, asyncssh.KeyImportError) as exc:
            kind = RemoteFileMissing if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath) else BankUnreachable
            raise kind(f"SFTP {self.target.host}:{self.target.port} {step}: {_reason(exc)}") from exc

    def upload(self, name: str, content: bytes) -> None:
        """Put `content` in the outbound folder under `name`, whole or not at all; RemoteFileExists if taken."""
        final = join(self.target.outbound_dir, check_name(name))
        if self._step("stat", self._sftp.exists(final)):
            raise RemoteFileExists(f"{name} is already in the outbound folder")
        temp = join(self.target.outbound_dir, f".{name}.{secrets.token_hex(4)}.part")
        try:
            try:
                self._step("write", _write_new(self._sftp, temp, content))
                ensure_complete(name, self._step("stat", self._sftp.stat(temp)).size, len(content))
            except UploadNotRenamed:
                raise
            except RemoteFileMissing as exc:
                raise FolderMissingBeforeRename(str(exc)) from exc
            except BankUnreachable as exc:
                raise UploadNotRenamed(str(exc)) from exc
            self._step("rename", _rename_keeping(self._sftp, temp, final, name))
        except BaseException:
            with suppress(BankUnreachable):  # the connection may be gone: the bank ignores dot-files anyway
                self._step("remove", self._sftp.remove(temp), min(5.0, self.target.io_timeout_seconds))
            raise

    def list_inbound(self) -> list[RemoteFile]:
        """The bank's files waiting in the inbound folder (not its subfolders nor dot/temporary files), by name."""
        return self._step("list", _regular_files(self._sftp, self.target.inbound_dir))

    def list_outbound(self) -> list[RemoteFile]:
        """Our files in the outbound folder (not yet collected by the bank), by name; temporary files left out."""
        return self._step("list", _regular_files(self._sftp, self.target.outbound_dir))

    def read_outbound(self, name: str) -> bytes:
        """The whole content of one of our files still in the outbound folder (to tell ours from another's)."""
        return self._step("read", _read(self._sftp, join(self.target.outbound_dir, check_name(name))))

    def read_inbound(self, name: str) -> bytes:
        """The whole content of one inbound file."""
        return self._step("read", _read(self._sftp, join(self.target.inbound_dir, check_name(name))))

    def move_inbound(self, name: str, folder: InboundFolder) -> str:
        """Move an inbound file into inbound/<folder>/ (created when missing); the name it got there (suffixed if taken)."""
        if folder not in ("processed", "rejected"):
            raise ValueError(f"not an inbound folder: {folder!r}")
        source = join(self.target.inbound_dir, check_name(name))
        return self._step("move", _move_keeping_both(self._sftp, source, join(self.target.inbound_dir, folder), name))

    def close(self) -> None:
        with suppress(BankUnreachable):
            self._step("close", _close(self._connection), 5.0)


@contextmanager
def session(target: SftpTarget) -> Iterator[BankSession]:
    """One connection for a job run; closed on the way out, whatever happened inside."""
    with asyncio.Runner() as runner:
        bank = BankSession(target, runner)
        try:
            yield bank
        finally:
            bank.close()


def upload(target: SftpTarget, name: str, content: bytes) -> None:
    with session(target) as bank:
        bank.upload(name, content)


def list_inbound(target: SftpTarget) -> list[RemoteFile]:
    with session(target) as bank:
        return bank.list_inbound()


def list_outbound(target: SftpTarget) -> list[RemoteFile]:
    with session(target) as bank:
        return bank.list_outbound()


def read_inbound(target: SftpTarget, name: str) -> bytes:
    with session(target) as bank:
        return bank.read_inbound(name)


def move_inbound(target: SftpTarget, name: str, folder: InboundFolder) -> str:
    with session(target) as bank:
        return bank.move_inbound(name, folder)


async def _within(seconds: float, operation: Coroutine[Any, Any, T]) -> T:
    async with asyncio.timeout(seconds):
        return await operation


async def _connect(target: SftpTarget) -> tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient]:
    import asyncssh

    connection = await asyncssh.connect(
        target.host,
        target.port,
        username=target.username,
        password=target.password,
        client_keys=[asyncssh.import_private_key(target.private_key)] if target.private_key else None,
        known_hosts=([asyncssh.import_public_key(target.known_host_key)], [], []) if target.known_host_key else None,
        config=None,  # nothing from ~/.ssh (config, keys, agent): the target says it all
        agent_path=None,
        connect_timeout=target.connect_timeout_seconds,
    )
    try:
        return connection, await connection.start_sftp_client()
    except BaseException:
        connection.abort()
        raise


async def _close(connection: asyncssh.SSHClientConnection) -> None:
    connection.close()
    await connection.wait_closed()


async def _write_new(sftp: asyncssh.SFTPClient, path: str, content: bytes) -> None:
    async with sftp.open(path, "xb") as file:  # exclusive create: never into someone else's file
        await file.write(content)


async def _rename_keeping(sftp: asyncssh.SFTPClient, source: str, target: str, name: str) -> None:
    import asyncssh

    try:
        await sftp.rename(source, target)  # SFTP rename: fails when the target exists
    except asyncssh.SFTPError as exc:
        if await sftp.exists(target):
            raise RemoteFileExists(f"{name} appeared in the outbound folder during the upload") from exc
        raise


async def _regular_files(sftp: asyncssh.SFTPClient, folder: str) -> list[RemoteFile]:
    from asyncssh.constants import FILEXFER_TYPE_REGULAR

    files = [
        RemoteFile(str(entry.filename), entry.attrs.size or 0, datetime.fromtimestamp(entry.attrs.mtime or 0, UTC))
        for entry in await sftp.readdir(folder)
        if entry.attrs.type == FILEXFER_TYPE_REGULAR and is_listed(str(entry.filename))
    ]
    return sorted(files, key=lambda file: file.name)


async def _read(sftp: asyncssh.SFTPClient, path: str) -> bytes:
    async with sftp.open(path, "rb") as file:
        content: bytes = await file.read()
    return content


async def _move_keeping_both(sftp: asyncssh.SFTPClient, source: str, folder: str, name: str) -> str:
    import asyncssh

    if not await sftp.isdir(folder):
        try:
            await sftp.mkdir(folder)
        except asyncssh.SFTPError:
            if not await sftp.isdir(folder):  # else another run created it at the same moment
                raise
    for copy in range(_MAX_COPIES):
        target = join(folder, copy_name(name, copy))
        if await sftp.exists(target):
            continue
        try:
            await sftp.rename(source, target)  # never replaces: a file that appeared meanwhile makes it fail
        except asyncssh.SFTPError:
            if await sftp.exists(target) and await sftp.exists(source):
                continue
            raise
        return target.rsplit("/", 1)[-1]
    raise asyncssh.SFTPFailure(f"{_MAX_COPIES} copies of {name} already in {folder}")
