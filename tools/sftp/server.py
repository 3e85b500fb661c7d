#!/usr/bin/env python3
"""A real SFTP server standing in for the bank (the ODFI) in dev and tests: asyncssh, loopback only.

    python tools/sftp/server.py --root DIR --port N --username U --password P \\
        [--host-key PATH] [--authorized-keys PATH] [--fault short-write|drop-on-write|taken-during-write]

Listens on 127.0.0.1 only (port 0: any free port). One account: password auth, and public-key auth
with the keys of --authorized-keys (an OpenSSH authorized_keys file) when given. Every session sees
--root as "/" (asyncssh's SFTP chroot) and nothing else: no shell, exec, SCP or port forwarding.
Creates outbound/ and inbound/ under the root. Without --host-key an ephemeral ed25519 host key is
generated. Prints one line "SFTP on 127.0.0.1:PORT root=DIR" when it accepts connections and exits 0
on SIGTERM or SIGINT.

Rename never replaces an existing target and is atomic like OpenSSH's sftp-server (a hard link, then
the old name removed); posix-rename@openssh.com replaces, as its extension says.

--fault makes it misbehave, for the tests of the client's guards only: `short-write` stores each
write but its last byte while answering OK (a server that loses data), `drop-on-write` drops the
connection at the first write (a server dying in the middle of an upload), `taken-during-write` puts
a file NAME beside a temporary `.NAME.<anything>.part` at its first write (another uploader winning a race).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import os
import signal
import sys
from pathlib import Path

import asyncssh

HOST = "127.0.0.1"
FAULTS = ("short-write", "drop-on-write", "taken-during-write")


class Account(asyncssh.SSHServer):
    """The one login this server knows: the username with its password or an authorized key."""

    def __init__(self, username: str, password: str, authorized: asyncssh.SSHAuthorizedKeys | None) -> None:
        self._username, self._password, self._authorized = username, password, authorized
        self._connection: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connection = conn

    def begin_auth(self, username: str) -> bool:
        if self._connection is not None and self._authorized is not None and username == self._username:
            self._connection.set_authorized_keys(self._authorized)
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        same_user = hmac.compare_digest(username.encode(), self._username.encode())
        return hmac.compare_digest(password.encode(), self._password.encode()) and same_user

    def public_key_auth_supported(self) -> bool:
        return self._authorized is not None


class BankFolder(asyncssh.SFTPServer):
    """The SFTP session, chrooted to the root; OpenSSH's non-replacing rename; the optional fault."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], *, root: Path, fault: str | None) -> None:
        super().__init__(chan, chroot=os.fsencode(root))
        self._fault = fault

    def rename(self, oldpath: bytes, newpath: bytes) -> None:
        old, new = self.map_path(oldpath), self.map_path(newpath)
        try:
            os.link(old, new, follow_symlinks=False)  # EEXIST when the target exists: the client is told
        except FileExistsError:
            raise
        except OSError:  # a directory, or a filesystem without hard links: asyncssh's check-then-rename
            super().rename(oldpath, newpath)
            return
        os.unlink(old)

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        if self._fault == "drop-on-write":
            self.connection.abort()
            raise asyncssh.SFTPConnectionLost("connection dropped by --fault drop-on-write")
        if self._fault == "taken-during-write":
            _another_uploader_takes_the_name_of(Path(os.fsdecode(getattr(file_obj, "name", ""))))
        super().write(file_obj, offset, data[:-1] if self._fault == "short-write" else data)  # synchronous: a local file
        return len(data)  # short-write: "all of it", whatever was stored


def _another_uploader_takes_the_name_of(temp: Path) -> None:
    """--fault taken-during-write: NAME appears beside the temporary .NAME.<anything>.part (once)."""
    if temp.name.startswith(".") and temp.name.endswith(".part"):
        with contextlib.suppress(FileExistsError), (temp.parent / temp.name[1:].rsplit(".", 2)[0]).open("xb") as theirs:
            theirs.write(b"another uploader's file\n")


async def serve(args: argparse.Namespace) -> None:
    root = Path(args.root).resolve()
    for folder in ("outbound", "inbound"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    host_key = asyncssh.read_private_key(args.host_key) if args.host_key else asyncssh.generate_private_key("ssh-ed25519")
    authorized = asyncssh.read_authorized_keys(args.authorized_keys) if args.authorized_keys else None

    def session(chan: asyncssh.SSHServerChannel[bytes]) -> BankFolder:
        return BankFolder(chan, root=root, fault=args.fault)

    server = await asyncssh.listen(
        HOST,
        args.port,
        server_host_keys=[host_key],
        server_factory=lambda: Account(args.username, args.password, authorized),
        sftp_factory=session,
        allow_scp=False,
        agent_forwarding=False,
        x11_forwarding=False,
        login_timeout=10,
    )
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"SFTP on {HOST}:{port} root={root}", flush=True)  # noqa: T201 - the ready line callers wait for
    await stop.wait()
    server.close()
    await server.wait_closed()


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="the folder every session sees as /")
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free one)")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--host-key", help="the server's private host key (default: an ephemeral ed25519 key)")
    parser.add_argument("--authorized-keys", help="an authorized_keys file: public-key logins for --username")
    parser.add_argument("--fault", choices=FAULTS, help="tests only: misbehave (see above)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
