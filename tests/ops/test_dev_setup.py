"""The set-up scripts on a shared machine: dev.sh installs nothing it does not use, every apt-get waits
for the dpkg lock, and DynamoDB Local runs with its telemetry off, listening on 127.0.0.1 only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

import dynamodb_local  # noqa: E402 - scripts/ is not a package on the path

LOCK_WAIT = "DPkg::Lock::Timeout=600"


def _apt_get_calls(text: str) -> list[str]:
    """Each line that runs apt-get (update or install), shell or Python, not mentions in messages or comments."""
    calls = []
    for line in text.splitlines():
        code = line.split("#", 1)[0] if not line.lstrip().startswith(("#", '"', "f'", 'f"')) else ""
        if re.search(r"""(^|[\s;&|(\["])apt-get\b""", code) and re.search(r"\b(update|install)\b", code) and "sudo apt-get" not in code:
            calls.append(line.strip())
    return calls


def test_every_apt_get_in_the_scripts_waits_for_the_dpkg_lock() -> None:
    calls = {
        path.name: _apt_get_calls(path.read_text())
        for path in sorted(SCRIPTS.iterdir())
        if path.suffix in {".sh", ".py"} and "apt-get" in path.read_text()
    }
    assert calls["setup.sh"] and calls["dynamodb_local.py"], calls  # the scripts that install with apt
    unguarded = {name: [line for line in lines if LOCK_WAIT not in line and "APT_LOCK_WAIT" not in line] for name, lines in calls.items()}
    assert all(not lines for lines in unguarded.values()), unguarded
    assert LOCK_WAIT in (SCRIPTS / "setup.sh").read_text()
    assert dynamodb_local.APT_LOCK_WAIT == ["-o", LOCK_WAIT]


def test_dev_sh_installs_no_browser_only_test_sh_does() -> None:
    """setup.sh (sourced by both) only defines install_chromium; test.sh calls it, dev.sh does not."""
    setup = (SCRIPTS / "setup.sh").read_text()
    body = setup.split("install_chromium() {", 1)
    assert len(body) == 2, "setup.sh defines install_chromium"
    before, function = body[0], body[1].split("\n}\n", 1)[0]
    after = body[1].split("\n}\n", 1)[1]
    assert "chromium" in function and "apt-get" in function
    assert not re.search(r"apt-get[^\n]*chromium", before + after), "chromium is installed only inside install_chromium"
    assert re.search(r"^install_chromium\b", (SCRIPTS / "test.sh").read_text(), re.MULTILINE)
    assert "install_chromium" not in (SCRIPTS / "dev.sh").read_text()


def test_sourcing_setup_sh_defines_install_chromium_without_running_it() -> None:
    probe = f"cd {str(ROOT)!r} && DYNAMODB_ENDPOINT_URL=http://127.0.0.1:9 . scripts/setup.sh >/dev/null && type -t install_chromium"
    result = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "function"
    assert "chromium" not in result.stdout + result.stderr


def test_dynamodb_local_runs_with_telemetry_off() -> None:
    line = dynamodb_local.command(8001, None)
    assert "-disableTelemetry" in line
    assert line[line.index("-port") + 1] == "8001" and "-inMemory" in line


def test_the_installed_dynamodb_local_knows_the_flags_we_pass() -> None:
    """`-help` through our launcher lists -disableTelemetry; it lists no bind-address option, which is why the
    launcher sets the host itself (tools/dynamodb-local/LoopbackDynamoDBLocal.java)."""
    line = dynamodb_local.command(8001, None)
    launcher = line[: line.index(dynamodb_local.LAUNCHER_CLASS) + 1]
    result = subprocess.run([*launcher, "-help"], capture_output=True, text=True, timeout=120, check=False)
    usage = result.stdout + result.stderr
    assert "-disableTelemetry" in usage, usage[-2000:]
    assert not re.search(r"-(host|bind|address|listen)\b", usage), "a bind option now exists: pass it instead of the launcher"


def _listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as the kernel writes them) of the TCP sockets listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_dynamodb_local_listens_on_the_loopback_address_only() -> None:
    port = dynamodb_local.free_port()
    process = dynamodb_local.start(port)
    try:
        # 127.0.0.1 (0100007F), over IPv4 or as an IPv4-mapped IPv6 socket; never 0.0.0.0 nor ::
        assert _listening_addresses(port) <= {"0100007F", "0000000000000000FFFF00000100007F"}
        assert _listening_addresses(port)
    finally:
        process.kill()
        process.wait()
