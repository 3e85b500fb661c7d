"""scripts/build_lambda.sh: a reproducible zip that carries everything the function needs, within
Lambda's limits, with native code for the target it was built for.

Two targets: the default (python3.12 arm64, what Terraform deploys), checked statically (every .so is
an aarch64 ELF from a wheel tagged for cp312, and a second build is byte-identical); and this
machine's own interpreter and architecture, which is unpacked and run: an isolated interpreter with
only that directory on sys.path answers a real-shaped API Gateway event for /health. The first run
downloads wheels into .local/wheels/<target>; later runs need no network."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENT = Path(__file__).resolve().parent / "events" / "http_api_v2.json"
MAX_ZIPPED, MAX_UNZIPPED = 50 * 1024 * 1024, 250 * 1024 * 1024
ELF_MACHINE = {"aarch64": 183, "x86_64": 62}  # e_machine of an ELF header
# Lambda's python3.12 runtime runs on Amazon Linux 2023: glibc 2.34.
MAX_GLIBC = {12: (2, 34), 11: (2, 26)}

pytestmark = pytest.mark.slow


def build(output: Path, *, python: str, arch: str) -> tuple[Path, str]:
    result = subprocess.run(
        ["bash", "scripts/build_lambda.sh", "--python", python, "--arch", arch, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return output, result.stdout


def sizes(archive: Path) -> tuple[int, int]:
    with zipfile.ZipFile(archive) as opened:
        return archive.stat().st_size, sum(info.file_size for info in opened.infolist())


def pinned_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.sub(r"[-_.]+", "-", line.split("==")[0].split("[")[0]).lower())
    return names


@pytest.fixture(scope="module")
def default_zip(tmp_path_factory: pytest.TempPathFactory, ops_report: list[str]) -> tuple[Path, str]:
    built = build(tmp_path_factory.mktemp("arm64") / "lambda.zip", python="3.12", arch="arm64")
    zipped, unzipped = sizes(built[0])
    ops_report.append(f"lambda.zip python3.12 arm64: zipped {zipped / 1e6:.1f} MB, unzipped {unzipped / 1e6:.1f} MB")
    return built


@pytest.fixture(scope="module")
def host_zip(tmp_path_factory: pytest.TempPathFactory, ops_report: list[str]) -> tuple[Path, str]:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    built = build(tmp_path_factory.mktemp("host") / "lambda.zip", python=version, arch=platform.machine())
    zipped, unzipped = sizes(built[0])
    ops_report.append(f"lambda.zip python{version} {platform.machine()}: zipped {zipped / 1e6:.1f} MB, unzipped {unzipped / 1e6:.1f} MB")
    return built


def test_default_build_is_within_lambdas_limits_and_says_so(default_zip: tuple[Path, str]) -> None:
    archive, output = default_zip
    zipped, unzipped = sizes(archive)
    assert zipped <= MAX_ZIPPED and unzipped <= MAX_UNZIPPED
    assert re.search(rf"zipped .*\({zipped} bytes\), unzipped .*\({unzipped} bytes\)", output), output


def inputs_digest() -> str:
    """What the package is built from: our code, the handler, the pins."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "app").rglob("*.py"), ROOT / "lambda_handler.py", ROOT / "requirements.txt"]):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_default_build_is_byte_identical_when_rebuilt(tmp_path: Path) -> None:
    # Identical inputs, identical bytes. Someone editing app/ during the run changes the inputs, so
    # the pair is rebuilt (once) when the sources moved under it.
    for _ in range(2):
        before = inputs_digest()
        first, _ = build(tmp_path / "first.zip", python="3.12", arch="arm64")
        second, _ = build(tmp_path / "second.zip", python="3.12", arch="arm64")
        if inputs_digest() == before:
            break
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_default_build_carries_our_code_and_exactly_the_runtime_requirements(default_zip: tuple[Path, str]) -> None:
    with zipfile.ZipFile(default_zip[0]) as archive:
        names = archive.namelist()
    assert "lambda_handler.py" in names and "app/main.py" in names and "app/db/table.py" in names
    assert not [n for n in names if n.startswith(("tests/", "scripts/", "terraform/")) or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if "__pycache__" in n or n.startswith(("bin/", ".")) or "/." in n]
    distributions = {
        re.sub(r"[-_.]+", "-", n.split("/")[0].removesuffix(".dist-info").rsplit("-", 1)[0]).lower()
        for n in names
        if n.split("/")[0].endswith(".dist-info")
    }
    # boto3 is bundled on purpose (README "Deploy"); dev tools (pytest, moto, hcl2, ...) never are.
    assert distributions == pinned_names()
    assert "boto3" in distributions


def test_default_build_native_code_is_for_cp312_on_aarch64(default_zip: tuple[Path, str]) -> None:
    with zipfile.ZipFile(default_zip[0]) as archive:
        names = archive.namelist()
        owner = {}  # file -> the .dist-info that installed it (from RECORD)
        tags: dict[str, list[str]] = {}
        for name in names:
            top = name.split("/")[0]
            if name == f"{top}/RECORD" and top.endswith(".dist-info"):
                for line in archive.read(name).decode().splitlines():
                    owner[line.split(",")[0]] = top
            if name == f"{top}/WHEEL" and top.endswith(".dist-info"):
                tags[top] = re.findall(r"^Tag: (\S+)$", archive.read(name).decode(), re.M)
        natives = [n for n in names if re.search(r"\.so(\.[0-9.]+)?$", n)]
        assert natives, "pydantic_core, cryptography, cffi, ... ship native code"
        for name in natives:
            header = archive.read(name)[:20]
            assert header[:4] == b"\x7fELF" and header[4] == 2, f"{name}: not a 64-bit ELF"
            assert int.from_bytes(header[18:20], "little") == ELF_MACHINE["aarch64"], f"{name}: not aarch64"
            abi = re.search(r"\.cpython-(\d+)-([a-z0-9_]+)-linux-gnu\.so$", name)
            if abi:
                assert abi.groups() == ("312", "aarch64"), name
            assert name in owner, f"{name}: not installed from a wheel"
            for tag in tags[owner[name]]:
                assert_wheel_tag_runs_on(tag, minor=12, machine="aarch64", where=name)


def assert_wheel_tag_runs_on(tag: str, *, minor: int, machine: str, where: str) -> None:
    interpreter, abi, platform_tag = tag.split("-")
    if abi == "abi3":  # the stable ABI: built for cp3X, runs on every CPython >= 3.X
        assert interpreter.startswith("cp3") and int(interpreter[3:]) <= minor, f"{where}: {tag}"
    else:
        assert (interpreter, abi) == (f"cp3{minor}", f"cp3{minor}"), f"{where}: {tag}"
    assert platform_tag.endswith(f"_{machine}"), f"{where}: {tag}"
    glibc = re.match(r"manylinux_(\d+)_(\d+)_", platform_tag)
    if glibc:
        assert (int(glibc.group(1)), int(glibc.group(2))) <= MAX_GLIBC[minor], f"{where}: {tag}"
    else:
        assert platform_tag.startswith(("manylinux2014_", "manylinux1_", "manylinux2010_")), f"{where}: {tag}"


# Runs inside `python -I -S`: no site-packages, no user site, no PYTHON* variables, no cwd on the path.
ISOLATED_HANDLER = r"""
import json, sys, sysconfig
package = sys.argv[1]
sys.path.insert(0, package)
event = json.loads(sys.stdin.read())

import lambda_handler

class Context:
    function_name = "lending-api"
    aws_request_id = "zip-smoke-1"
    memory_limit_in_mb = 1024
    def get_remaining_time_in_millis(self):
        return 15000

result = lambda_handler.handler(event, Context())
stdlib = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
foreign = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith(package)
    and not any(module.__file__.startswith(path) for path in stdlib)
)
print("RESULT " + json.dumps({"result": result, "sys_path": sys.path, "foreign": foreign}))
"""


def test_host_build_answers_health_from_the_zip_alone(
    host_zip: tuple[Path, str], tmp_path: Path, endpoint_url: str, table_name: str
) -> None:
    archive, _ = host_zip
    zipped, unzipped = sizes(archive)
    assert zipped <= MAX_ZIPPED and unzipped <= MAX_UNZIPPED
    package = tmp_path / "task"
    package.mkdir()
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(package)
    workdir = tmp_path / "cwd"  # empty: no .env, nothing importable
    workdir.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "ENVIRONMENT": "test",
        "AWS_REGION": "us-east-1",
        "TABLE_NAME": table_name,
        "DYNAMODB_ENDPOINT_URL": endpoint_url,
        "LOG_LEVEL": "WARNING",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", ISOLATED_HANDLER, str(package)],
        input=EVENT.read_text(),
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    report = json.loads(line.removeprefix("RESULT "))
    assert report["foreign"] == [], "every module came from the zip or the standard library"
    assert not [p for p in report["sys_path"] if "site-packages" in p]
    response = report["result"]
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert body["status"] == "ok" and body["checks"] == {"dynamodb": "ok"}


def test_host_build_native_code_matches_this_machine(host_zip: tuple[Path, str]) -> None:
    machine = platform.machine()
    minor = sys.version_info.minor
    with zipfile.ZipFile(host_zip[0]) as archive:
        for name in archive.namelist():
            abi = re.search(r"\.cpython-(\d+)-([a-z0-9_]+)-linux-gnu\.so$", name)
            if abi:
                assert abi.groups() == (f"3{minor}", machine), name
            if name.endswith(".so"):
                assert int.from_bytes(archive.read(name)[18:20], "little") == ELF_MACHINE[machine], name
    assert sysconfig.get_platform().endswith(machine)
