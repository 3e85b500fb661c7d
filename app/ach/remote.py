"""The SFTP rail's vocabulary, without I/O: where the bank is, what a remote file is, what can go wrong,
and the rules for file names (app/ach/transport.py does the talking)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

InboundFolder = Literal["processed", "rejected"]
TEMP_SUFFIXES = (".part", ".tmp", ".filepart")  # ours (.<name>.<random>.part) and the usual tools' temporary names
MAX_NAME = 200  # with room for the temporary name's 15 more characters within a server's 255


@dataclass(frozen=True)
class SftpTarget:
    """Where and how to reach the bank's SFTP server.

    Authenticates with `private_key` (OpenSSH or PEM text, unencrypted) and/or `password`.
    `known_host_key` is the server's public key as in known_hosts ("ssh-ed25519 AAAA..."); None
    accepts any host key, which is for the local dev/test server only: against a real bank it lets
    anyone on the path impersonate it.
    """

    host: str
    port: int
    username: str
    password: str | None = field(repr=False)  # never in a log line or a traceback
    private_key: str | None = field(repr=False)
    outbound_dir: str
    inbound_dir: str
    known_host_key: str | None
    connect_timeout_seconds: float = 5.0  # TCP connect, SSH handshake and login
    io_timeout_seconds: float = 30.0  # each SFTP step (a whole file's write or read is one step)


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: datetime  # UTC


class BankUnreachable(Exception):
    """The bank's server could not be reached, refused the login, timed out or failed a file operation."""


class RemoteFileMissing(BankUnreachable):
    """The named file (or its folder) is not on the server, e.g. already moved by an earlier run."""


class UploadNotRenamed(BankUnreachable):
    """An upload failed before its rename: the final name never held this content (the bank cannot have it)."""


class FolderMissingBeforeRename(RemoteFileMissing, UploadNotRenamed):
    """An upload's folder is not there: nothing was written, certainly not under the final name."""


class RemoteFileExists(Exception):
    """An upload's final name is already taken on the server: nothing was replaced."""


def check_name(name: str) -> str:
    """A plain printable-ASCII file name: no folder, no '..', no leading dot or space, no temporary suffix; else ValueError."""
    plain = 0 < len(name) <= MAX_NAME and name.isascii() and name.isprintable() and name == name.strip()
    if not plain or name[0] == "." or "/" in name or "\\" in name or ".." in name or name.endswith(TEMP_SUFFIXES):
        raise ValueError(f"not a plain file name: {name!r}")
    return name


def is_listed(name: str) -> bool:
    """Whether a listing reports this entry: dot and temporary files are not, nor names check_name refuses."""
    try:
        check_name(name)
    except ValueError:
        return False
    return True


def ensure_complete(name: str, written: int | None, expected: int) -> None:
    """The size the server reports for an upload's temporary file must be the content's: else no rename."""
    if written != expected:
        raise UploadNotRenamed(f"upload of {name}: the server holds {written} of {expected} bytes; not renamed")


def copy_name(name: str, copy: int) -> str:
    """The name of a duplicate: copy 2 of 'ack.txt' is 'ack-2.txt' (copy 0 is the name itself)."""
    if copy == 0:
        return name
    stem, dot, extension = name.rpartition(".")
    return f"{stem}-{copy}.{extension}" if dot and stem else f"{name}-{copy}"


def join(folder: str, name: str) -> str:
    """A path on the server: `name` inside `folder` ("/x" from the root, "x" or "" from the login's home folder)."""
    if not folder:
        return name
    return f"{folder.rstrip('/')}/{name}" if folder.rstrip("/") else f"/{name}"
