"""app/ach/transport.py against a real SFTP server (tools/sftp/server.py, tests/support/sftp.py).

The bank's side of every check is its disk: the fixture's folders are the server's own files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from app.ach import transport
from app.ach.remote import (
    MAX_NAME,
    BankUnreachable,
    RemoteFileExists,
    RemoteFileMissing,
    check_name,
    copy_name,
    ensure_complete,
    join,
)
from scripts import sftp_local
from tests.support.sftp import Bank, SftpServer, running_sftp_server

ACH_FILE = b"101 091000019 1234567890260102\r\n" + bytes(range(256)) * 40 + b"9" * 94 + b"\r\n"


def visible(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, SftpServer]]:
    """One misbehaving server per fault (tools/sftp/server.py --fault), for the client's guards."""
    servers: dict[str, SftpServer] = {}
    with (
        running_sftp_server(tmp_path_factory.mktemp("short"), tmp_path_factory.mktemp("k1"), fault="short-write") as short,
        running_sftp_server(tmp_path_factory.mktemp("drop"), tmp_path_factory.mktemp("k2"), fault="drop-on-write") as drop,
        running_sftp_server(tmp_path_factory.mktemp("race"), tmp_path_factory.mktemp("k3"), fault="taken-during-write") as race,
    ):
        servers.update({"short-write": short, "drop-on-write": drop, "taken-during-write": race})
        yield servers


# --- upload ---------------------------------------------------------------------------------------


def test_upload_puts_exactly_the_bytes_under_the_final_name_and_leaves_no_temporary_file(bank: Bank) -> None:
    with transport.session(bank.target) as session:
        session.upload("ACH_20260102_001.txt", ACH_FILE)
        listed = session.list_outbound()
    assert visible(bank.outbound) == ["ACH_20260102_001.txt"]
    assert (bank.outbound / "ACH_20260102_001.txt").read_bytes() == ACH_FILE
    assert [(file.name, file.size) for file in listed] == [("ACH_20260102_001.txt", len(ACH_FILE))]


def test_the_longest_name_uploads_with_its_temporary_name_within_the_server_s_limit(bank: Bank) -> None:
    transport.upload(bank.target, "A" * MAX_NAME, b"x")
    assert visible(bank.outbound) == ["A" * MAX_NAME]


def test_relative_folders_are_inside_the_login_s_home_folder(bank: Bank) -> None:
    relative = dataclasses.replace(bank.target, outbound_dir=bank.target.outbound_dir.lstrip("/"))  # "/" on this server
    transport.upload(relative, "RELATIVE.txt", b"x")
    assert visible(bank.outbound) == ["RELATIVE.txt"]
    assert [join(folder, "a.txt") for folder in ("", "/", "in", "in/", "/in")] == ["a.txt", "/a.txt", "in/a.txt", "in/a.txt", "/in/a.txt"]


def test_upload_of_a_taken_name_raises_remote_file_exists_and_keeps_the_original(bank: Bank) -> None:
    (bank.outbound / "ACH_1.txt").write_bytes(b"the bank has not collected this one yet")
    with pytest.raises(RemoteFileExists):
        transport.upload(bank.target, "ACH_1.txt", ACH_FILE)
    assert (bank.outbound / "ACH_1.txt").read_bytes() == b"the bank has not collected this one yet"
    assert visible(bank.outbound) == ["ACH_1.txt"]


def test_a_name_taken_during_the_upload_is_not_replaced(faulty: dict[str, SftpServer]) -> None:
    # Given a server where another uploader creates the final name while our bytes are being written
    server = faulty["taken-during-write"]
    # When we upload under that name
    with pytest.raises(RemoteFileExists):
        transport.upload(server.target(), "RACE.txt", ACH_FILE)
    # Then the rename refused to replace it, and our temporary file is gone
    assert (server.root / "outbound" / "RACE.txt").read_bytes() == b"another uploader's file\n"
    assert visible(server.root / "outbound") == ["RACE.txt"]


def test_a_short_write_is_never_renamed_and_its_temporary_file_is_removed(faulty: dict[str, SftpServer]) -> None:
    # Given a server that answers OK to each write but stores one byte less
    server = faulty["short-write"]
    with pytest.raises(BankUnreachable, match=f"holds {len(ACH_FILE) - 1} of {len(ACH_FILE)} bytes"):
        transport.upload(server.target(), "SHORT.txt", ACH_FILE)
    assert visible(server.root / "outbound") == []


def test_a_connection_dropped_during_the_upload_never_leaves_the_final_name(faulty: dict[str, SftpServer]) -> None:
    server = faulty["drop-on-write"]
    with pytest.raises(BankUnreachable, match="write"):
        transport.upload(server.target(), "DROPPED.txt", ACH_FILE)
    left = visible(server.root / "outbound")
    assert "DROPPED.txt" not in left
    assert all(name.startswith(".DROPPED.txt.") and name.endswith(".part") for name in left)  # at most our dot-file
    assert transport.list_outbound(server.target()) == []  # which no listing shows


def test_upload_into_a_missing_outbound_folder_fails_and_creates_nothing(bank: Bank, sftp_server: SftpServer) -> None:
    target = dataclasses.replace(bank.target, outbound_dir=bank.target.outbound_dir + "/missing")
    with pytest.raises(RemoteFileMissing):
        transport.upload(target, "ACH_2.txt", ACH_FILE)
    assert visible(bank.outbound) == []


def test_the_size_check_refuses_anything_but_the_exact_length() -> None:
    ensure_complete("a.txt", 10, 10)
    for written in (None, 0, 9, 11):
        with pytest.raises(BankUnreachable, match="not renamed"):
            ensure_complete("a.txt", written, 10)


# --- inbound --------------------------------------------------------------------------------------


def test_list_inbound_shows_only_the_bank_s_regular_files_sorted_by_name(bank: Bank) -> None:
    for name in ("b.ack", "a.ret", "C.ret"):
        (bank.inbound / name).write_bytes(name.encode())
    for name in (".hidden", ".x.ret.1234.part", "y.part", "z.tmp", "w.filepart"):
        (bank.inbound / name).write_bytes(b"ignored")
    (bank.inbound / "processed").mkdir()
    (bank.inbound / "processed" / "old.ret").write_bytes(b"done")
    (bank.inbound / "link.ret").symlink_to(bank.inbound / "a.ret")
    files = transport.list_inbound(bank.target)
    assert [(file.name, file.size) for file in files] == [("C.ret", 5), ("a.ret", 5), ("b.ack", 5)]
    assert all(file.mtime.utcoffset() is not None for file in files)
    assert abs(files[0].mtime.timestamp() - (bank.inbound / "C.ret").stat().st_mtime) < 1


def test_read_inbound_returns_the_exact_bytes(bank: Bank) -> None:
    (bank.inbound / "RETURNS.txt").write_bytes(ACH_FILE)
    assert transport.read_inbound(bank.target, "RETURNS.txt") == ACH_FILE
    with pytest.raises(RemoteFileMissing):
        transport.read_inbound(bank.target, "NOPE.txt")


def test_move_inbound_files_to_processed_and_rejected_keeps_both_of_a_repeated_name(bank: Bank) -> None:
    (bank.inbound / "ACK.txt").write_bytes(b"first")
    (bank.inbound / "BAD.txt").write_bytes(b"unreadable")
    with transport.session(bank.target) as session:
        assert session.move_inbound("ACK.txt", "processed") == "ACK.txt"
        assert session.move_inbound("BAD.txt", "rejected") == "BAD.txt"
        (bank.inbound / "ACK.txt").write_bytes(b"second")  # the bank sends a file of the same name again
        assert session.move_inbound("ACK.txt", "processed") == "ACK-1.txt"
        assert session.list_inbound() == []
        with pytest.raises(RemoteFileMissing):
            session.move_inbound("ACK.txt", "processed")
    assert (bank.inbound / "processed" / "ACK.txt").read_bytes() == b"first"
    assert (bank.inbound / "processed" / "ACK-1.txt").read_bytes() == b"second"
    assert (bank.inbound / "rejected" / "BAD.txt").read_bytes() == b"unreadable"
    assert visible(bank.inbound) == ["processed", "rejected"]


def test_a_file_in_place_of_the_processed_folder_fails_the_move_and_loses_nothing(bank: Bank) -> None:
    (bank.inbound / "processed").write_bytes(b"not a folder")
    (bank.inbound / "ACK.txt").write_bytes(b"kept")
    with pytest.raises(BankUnreachable, match="move"):
        transport.move_inbound(bank.target, "ACK.txt", "processed")
    assert (bank.inbound / "ACK.txt").read_bytes() == b"kept"
    assert (bank.inbound / "processed").read_bytes() == b"not a folder"


def test_copy_names_keep_the_extension() -> None:
    assert [copy_name("ACK.txt", n) for n in (0, 1, 2)] == ["ACK.txt", "ACK-1.txt", "ACK-2.txt"]
    assert copy_name("ACK", 3) == "ACK-3"
    assert copy_name("a.b.txt", 1) == "a.b-1.txt"


# --- names ----------------------------------------------------------------------------------------

BAD_NAMES = [
    "",
    ".hidden",
    "..",
    "../etc/passwd",
    "a/b",
    "/abs",
    "a\\b",
    "a..b",
    "é.txt",
    "a\nb",
    " a.txt",
    "a.txt ",
    "x.part",
    "x.tmp",
    "a" * 256,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_invalid_names_are_refused_before_anything_is_sent(name: str, bank: Bank) -> None:
    with pytest.raises(ValueError, match="not a plain file name"):
        check_name(name)
    with transport.session(bank.target) as session:
        for call in (
            lambda: session.upload(name, b"x"),
            lambda: session.read_inbound(name),
            lambda: session.move_inbound(name, "processed"),
        ):
            with pytest.raises(ValueError):
                call()
    assert visible(bank.outbound) == []


def test_plain_names_are_accepted() -> None:
    for name in ("ACH_20260102_001.txt", "a", "RET-1.ach", "Return File (2).txt", "a" * 200):
        assert check_name(name) == name


def test_move_inbound_refuses_another_folder(bank: Bank) -> None:
    (bank.inbound / "ACK.txt").write_bytes(b"x")
    with pytest.raises(ValueError, match="not an inbound folder"):
        transport.move_inbound(bank.target, "ACK.txt", "elsewhere")  # type: ignore[arg-type]
    assert visible(bank.inbound) == ["ACK.txt"]


# --- connection -----------------------------------------------------------------------------------


def test_a_wrong_password_is_bank_unreachable_without_the_password(sftp_server: SftpServer) -> None:
    wrong = "not-the-password-" + sftp_server.password
    target = sftp_server.target(password=wrong, connect_timeout_seconds=3)
    started = time.monotonic()
    with pytest.raises(BankUnreachable) as raised:
        transport.list_outbound(target)
    assert time.monotonic() - started < 3
    assert "PermissionDenied" in str(raised.value)
    for text in (str(raised.value), repr(raised.value), str(raised.value.__cause__), repr(target)):
        assert wrong not in text and sftp_server.password not in text


def test_nothing_listening_is_bank_unreachable_at_once(sftp_server: SftpServer) -> None:
    target = sftp_server.target(port=sftp_local.free_port(), connect_timeout_seconds=3)
    started = time.monotonic()
    with pytest.raises(BankUnreachable, match="connect"):
        transport.list_outbound(target)
    assert time.monotonic() - started < 3


def test_a_server_that_never_answers_is_bank_unreachable_after_the_connect_timeout(sftp_server: SftpServer) -> None:
    with socket.socket() as silent:  # the kernel accepts the TCP connection; no SSH banner ever comes
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        target = sftp_server.target(port=silent.getsockname()[1], connect_timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(BankUnreachable, match="timed out"):
            transport.list_outbound(target)
        assert time.monotonic() - started < 5


def test_a_host_key_other_than_the_pinned_one_is_refused(sftp_server: SftpServer) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(BankUnreachable, match="HostKeyNotVerifiable"):
        transport.list_outbound(sftp_server.target(known_host_key=impostor))
    assert transport.list_outbound(sftp_server.target(known_host_key=None)) == []  # None: any key (dev/test only)


def test_a_private_key_logs_in_without_a_password(bank: Bank, sftp_server: SftpServer) -> None:
    target = dataclasses.replace(bank.target, password=None, private_key=sftp_server.client_key)
    transport.upload(target, "KEYED.txt", b"signed in with a key")
    assert (bank.outbound / "KEYED.txt").read_bytes() == b"signed in with a key"
    assert sftp_server.client_key not in repr(target)
    other = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    with pytest.raises(BankUnreachable, match="PermissionDenied") as raised:
        transport.list_outbound(dataclasses.replace(target, private_key=other))
    assert other not in str(raised.value)


def test_an_unreadable_private_key_is_bank_unreachable_without_quoting_it(sftp_server: SftpServer) -> None:
    garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n"
    with pytest.raises(BankUnreachable, match="KeyImportError") as raised:
        transport.list_outbound(sftp_server.target(password=None, private_key=garbage))
    assert "c2VjcmV0" not in str(raised.value)


def test_works_from_a_thread_without_a_loop_and_beside_a_running_loop(bank: Bank) -> None:
    # From a plain thread (no event loop in it)
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            transport.upload(bank.target, "FROM_THREAD.txt", b"1")
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    worker = threading.Thread(target=in_thread)
    worker.start()
    worker.join(timeout=60)
    assert errors == [] and not worker.is_alive()

    # From a worker thread while this thread runs an event loop
    async def beside_a_loop() -> list[transport.RemoteFile]:
        await asyncio.to_thread(transport.upload, bank.target, "BESIDE_LOOP.txt", b"2")
        return await asyncio.to_thread(transport.list_outbound, bank.target)

    listed = asyncio.run(beside_a_loop())
    assert [file.name for file in listed] == ["BESIDE_LOOP.txt", "FROM_THREAD.txt"]


def test_the_transport_is_the_only_module_of_the_app_that_talks_to_the_bank() -> None:
    app = Path(__file__).resolve().parents[2] / "app"
    network = re.compile(r"^\s*(import|from) (asyncssh|paramiko|socket|ftplib|ssl)\b", re.M)
    callers = sorted(str(path.relative_to(app)) for path in app.rglob("*.py") if network.search(path.read_text()))
    assert callers == ["ach/transport.py"]


# --- the server -----------------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (Linux /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_the_server_listens_on_127_0_0_1_only(sftp_server: SftpServer) -> None:
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("reads the listening sockets from Linux's /proc/net/tcp")
    assert listening_addresses(sftp_server.port) == {"0100007F"}  # 127.0.0.1, little-endian hex; no IPv6 socket


def test_the_server_confines_every_session_to_its_root(sftp_server: SftpServer) -> None:
    (sftp_server.root.parent / "outside.txt").write_bytes(b"not the bank's")
    (sftp_server.root / "at-root.txt").write_bytes(b"the bank's")
    escape = sftp_server.target(inbound_dir="/../..")  # "/.." is "/" again: the root
    try:
        with pytest.raises(RemoteFileMissing):
            transport.read_inbound(escape, "outside.txt")
        assert [file.name for file in transport.list_inbound(escape)] == ["at-root.txt"]
    finally:
        (sftp_server.root / "at-root.txt").unlink()
