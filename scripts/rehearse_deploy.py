"""The deploy rehearsal's machinery: terraform/ applied to a moto server on 127.0.0.1, and the app run
on what it created. tests/ops/test_deploy_rehearsal.py drives it and asserts; scripts/rehearse_deploy.sh
runs that module (README "Deploy" / "Rehearsal").

Nothing here touches terraform/ itself: the stack is copied to a temporary directory, where an
override file points every AWS service the stack calls at moto and swaps the S3 backend for a local
one. Terraform installs the provider from the filesystem mirror only (TF_PLUGIN_MIRROR, default
/opt/tf-plugins) and every process started here gets a dead proxy (127.0.0.1:9) for anything that is
not loopback, so a call that escaped the override fails instead of reaching AWS. Every process is
stopped on the way out, failure or not (and dies with this one if it is killed).
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TERRAFORM_DIR = ROOT / "terraform"
HOST = "127.0.0.1"
DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, so a non-loopback call fails at once
TFVARS = "environments/dev.tfvars"
LAMBDA_DRIVER = ROOT / "tests" / "ops" / "lambda_stdio_driver.py"

# Every aws_* type in terraform/*.tf -> the provider endpoint its API calls go to (None: the provider
# computes it locally, no call). A type missing here stops the rehearsal: give its service an endpoint.
ENDPOINT_OF_TYPE: dict[str, str | None] = {
    "aws_apigatewayv2_api": "apigatewayv2",
    "aws_apigatewayv2_integration": "apigatewayv2",
    "aws_apigatewayv2_route": "apigatewayv2",
    "aws_apigatewayv2_stage": "apigatewayv2",
    "aws_caller_identity": "sts",
    "aws_cloudwatch_dashboard": "cloudwatch",
    "aws_cloudwatch_log_group": "logs",
    "aws_cloudwatch_log_metric_filter": "logs",
    "aws_cloudwatch_metric_alarm": "cloudwatch",
    "aws_dynamodb_table": "dynamodb",
    "aws_iam_policy_document": None,
    "aws_iam_role": "iam",
    "aws_iam_role_policy": "iam",
    "aws_kms_alias": "kms",
    "aws_kms_key": "kms",
    "aws_lambda_alias": "lambda",
    "aws_lambda_function": "lambda",
    "aws_lambda_permission": "lambda",
    "aws_partition": None,
    "aws_scheduler_schedule": "scheduler",
    "aws_ssm_parameter": "ssm",
}
# Resources the emulator cannot create, left out of the rehearsal with -target (README "Rehearsal"). None today.
UNSUPPORTED_RESOURCES: dict[str, str] = {}

BLOCK = re.compile(r'^(resource|data)\s+"(aws_[a-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"', re.M)


class RehearsalError(RuntimeError):
    """A step of the rehearsal failed; the message carries the tail of its output."""


# ---------------------------------------------------------------------------------------------- the stack


def blocks(tf_dir: Path = TERRAFORM_DIR) -> list[tuple[str, str, str]]:
    """(kind, type, name) of every resource and data block in the stack's .tf files."""
    found = []
    for path in sorted(tf_dir.glob("*.tf")):
        found += [(match[1], match[2], match[3]) for match in BLOCK.finditer(path.read_text())]
    return found


def declared_resources(tf_dir: Path = TERRAFORM_DIR) -> set[str]:
    """The addresses of every managed resource in the stack (none uses count or for_each)."""
    return {f"{kind}.{name}" for block, kind, name in blocks(tf_dir) if block == "resource"}


def endpoint_services(tf_dir: Path = TERRAFORM_DIR) -> list[str]:
    """The provider endpoint names the stack calls; refuses an aws_* type it does not know."""
    types = {kind for _, kind, _ in blocks(tf_dir)}
    unknown = sorted(types - set(ENDPOINT_OF_TYPE))
    if unknown:
        raise RehearsalError(f"no endpoint known for {unknown}: add them to ENDPOINT_OF_TYPE in {Path(__file__).name}")
    return sorted({service for kind in types if (service := ENDPOINT_OF_TYPE[kind])})


def tfvar(name: str, tfvars: Path = TERRAFORM_DIR / TFVARS) -> str:
    """A string variable of a .tfvars file."""
    match = re.search(rf'^{re.escape(name)}\s*=\s*"([^"]*)"', tfvars.read_text(), re.M)
    if not match:
        raise RehearsalError(f"{name} is not set in {tfvars}")
    return match.group(1)


def override_tf(endpoint: str, services: list[str]) -> str:
    """The override file of the temporary copy: a local backend and every service at `endpoint`."""
    width = max(map(len, services))
    lines = "\n".join(f'    {service.ljust(width)} = "{endpoint}"' for service in services)
    return (
        "# Written by scripts/rehearse_deploy.py into a temporary copy of terraform/ (never into terraform/).\n"
        'terraform {\n  backend "local" {}\n}\n\n'
        'provider "aws" {\n'
        '  access_key                  = "test"\n'
        '  secret_key                  = "test"\n'
        "  skip_credentials_validation = true\n"
        "  skip_requesting_account_id  = true\n"
        "  skip_metadata_api_check     = true\n"
        "  s3_use_path_style           = true\n"
        f"  endpoints {{\n{lines}\n  }}\n"
        "}\n"
    )


def cli_config(mirror: Path) -> str:
    """A Terraform CLI config that installs providers from the filesystem mirror and nowhere else."""
    return (
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
        "}\n"
    )


def mirror_has_aws(mirror: Path) -> bool:
    return (mirror / "registry.terraform.io" / "hashicorp" / "aws").is_dir()


def zip_sha256(path: Path) -> str:
    """What Lambda reports as CodeSha256 (and Terraform's filebase64sha256)."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


# ------------------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


try:  # resolved here, not in the child: between fork and exec the child only makes the call
    _PRCTL: Any = ctypes.CDLL(None, use_errno=True).prctl
except (AttributeError, OSError):  # not Linux
    _PRCTL = None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    """Linux: the child gets SIGTERM if the rehearsal dies without cleaning up (e.g. SIGKILL)."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def base_env(home: Path) -> dict[str, str]:
    """What every child starts from: no AWS profile, file or real credentials, no route off loopback."""
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT") if name in os.environ}
    return {
        **keep,
        "HOME": str(home),
        "TMPDIR": str(home),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "HTTP_PROXY": DEAD_PROXY,
        "HTTPS_PROXY": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "https_proxy": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


class Service:
    """A child process in its own session, stopped (group SIGTERM, then SIGKILL) by stop() or on exit."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], cwd: Path, log: Path, **popen: Any) -> None:
        self.name, self.log = name, log
        self._log_file = log.open("ab")
        popen.setdefault("stdout", self._log_file)
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stderr=self._log_file,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # Linux: dies with us
            **popen,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-chars:]
        return ""

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log_file.close()


def _get(url: str, timeout: float = 2) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never through a proxy
    with opener.open(url, timeout=timeout) as response:
        status: int = response.status
        return status


def wait_until_up(service: Service, url: str, *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise RehearsalError(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
        with contextlib.suppress(OSError):
            if _get(url) < 500:
                return
        time.sleep(0.2)
    raise RehearsalError(f"{service.name} did not answer {url} within {timeout:.0f} s:\n{service.log_tail()}")


# ---------------------------------------------------------------------------------------- the rehearsal


@dataclass
class Outputs:
    table_name: str
    ach_kms_key_arn: str
    function_name: str
    function_version: str
    api_url: str
    dashboard_name: str

    @property
    def region(self) -> str:
        """The stack's region: the outputs have none of their own, the key's ARN carries it."""
        return self.ach_kms_key_arn.split(":")[3]


class Rehearsal:
    """One rehearsal in `workdir`: moto up on enter, everything it started stopped on exit."""

    def __init__(
        self, workdir: Path, *, mirror: Path, zip_path: Path | None = None, terraform: str | None = None, echo: bool = True
    ) -> None:
        self.workdir = workdir
        self.echo = echo
        self.mirror = mirror
        self.zip_path = zip_path
        self.terraform_bin = terraform or shutil.which("terraform") or "terraform"
        self.stack = workdir / "terraform"
        self.logs = workdir / "logs"
        self.timings: dict[str, float] = {}
        self.jwt_secret = secrets.token_urlsafe(48)  # what the seeded SSM parameter holds
        self.services = endpoint_services()
        self.port = 0
        self._moto: Service | None = None
        self._started = time.monotonic()
        self._stack = contextlib.ExitStack()
        self._commands = 0

    # -- lifecycle

    def __enter__(self) -> Rehearsal:
        self._started = time.monotonic()
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            with self.phase("moto"):
                self._start_moto()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self.timings["total"] = time.monotonic() - self._started

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _start_moto(self) -> None:
        for _ in range(3):  # a port taken between free_port() and the bind: try another
            self.port = free_port()
            command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]
            moto = Service("moto server", command, env=base_env(self.workdir), cwd=self.workdir, log=self.logs / "moto.log")
            self._stack.callback(moto.stop)
            try:
                wait_until_up(moto, f"{self.endpoint}/moto-api/")
            except RehearsalError:
                moto.stop()
                continue
            self._moto = moto
            return
        raise RehearsalError("moto server did not start:\n" + (self.logs / "moto.log").read_text(errors="replace")[-3000:])

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase (phases of the same name add up)."""
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            self.timings[name] = self.timings.get(name, 0.0) + elapsed
            if self.echo:
                print(f"[rehearsal] {name}: {elapsed:.1f} s", file=sys.stderr, flush=True)

    def timing_line(self) -> str:
        order = ["moto", "build", "init", "apply", "story", "plan", "destroy", "total"]
        names = [name for name in order if name in self.timings] + [n for n in self.timings if n not in order]
        return "deploy rehearsal on moto: " + ", ".join(f"{name} {self.timings[name]:.1f} s" for name in names)

    # -- AWS (moto) clients of our own

    def client(self, service: str) -> Any:
        import botocore.session
        from botocore.config import Config

        # Empty proxies: straight to moto on loopback whatever proxy the environment names.
        config = Config(
            retries={"mode": "standard", "max_attempts": 2}, connect_timeout=5, read_timeout=60, proxies={"http": "", "https": ""}
        )
        return botocore.session.get_session().create_client(
            service,
            region_name=tfvar("region"),
            endpoint_url=self.endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - moto's dummy credentials
            config=config,
        )

    # -- the package

    def build_zip(self) -> Path:
        """The zip to deploy: the given one (e.g. the one CI built for this run), else a fresh build (cached wheels)."""
        with self.phase("build"):
            if self.zip_path is None:
                target = self.workdir / "lambda.zip"
                result = subprocess.run(
                    ["bash", "scripts/build_lambda.sh", "--python", "3.12", "--arch", "arm64", "--output", str(target)],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if result.returncode != 0:
                    raise RehearsalError("build_lambda.sh failed:\n" + (result.stdout + result.stderr)[-3000:])
                self.zip_path = target
            if not self.zip_path.is_file():
                raise RehearsalError(f"no Lambda package at {self.zip_path}")
            return self.zip_path

    # -- terraform

    def terraform_env(self) -> dict[str, str]:
        home = self.workdir / "tf-home"
        home.mkdir(exist_ok=True)
        (home / "cli.tfrc").write_text(cli_config(self.mirror))
        return {
            **base_env(home),
            "TF_CLI_CONFIG_FILE": str(home / "cli.tfrc"),
            "TF_DATA_DIR": str(home / "data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "NO_COLOR": "1",
        }

    def terraform(self, *args: str, ok: tuple[int, ...] = (0,), timeout: float = 300) -> subprocess.CompletedProcess[str]:
        self._commands += 1
        result = subprocess.run(
            [self.terraform_bin, *args],
            cwd=self.stack,
            env=self.terraform_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_die_with_parent,
        )
        (self.logs / f"{self._commands:02d}-terraform-{args[0]}.log").write_text(result.stdout + result.stderr)
        if result.returncode not in ok:
            raise RehearsalError(f"terraform {' '.join(args)} exited {result.returncode}:\n{(result.stdout + result.stderr)[-4000:]}")
        return result

    def _vars(self) -> list[str]:
        if self.zip_path is None:
            raise RehearsalError("build_zip() first")
        return [f"-var-file={TFVARS}", f"-var=lambda_zip_path={self.zip_path.resolve()}", *self._targets()]

    def _targets(self) -> list[str]:
        if not UNSUPPORTED_RESOURCES:
            return []
        return [f"-target={address}" for address in sorted(declared_resources() - set(UNSUPPORTED_RESOURCES))]

    def seed(self) -> str:
        """What the stack reads but does not create: the JWT secret's SSM SecureString."""
        name = tfvar("jwt_secret_ssm_parameter")
        self.client("ssm").put_parameter(Name=name, Type="SecureString", Value=self.jwt_secret, Overwrite=True)
        return name

    def init(self) -> None:
        with self.phase("init"):
            shutil.copytree(TERRAFORM_DIR, self.stack, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "tfplan", "override.tf"))
            (self.stack / "rehearsal_override.tf").write_text(override_tf(self.endpoint, self.services))
            self.seed()
            self.terraform("init", "-input=false", "-no-color")

    def apply(self) -> str:
        """plan -out, then apply that plan: what the pipeline does."""
        with self.phase("apply"):
            self.terraform("plan", "-input=false", "-no-color", "-out=tfplan", *self._vars())
            return self.terraform("apply", "-input=false", "-no-color", "tfplan").stdout

    def plan_again(self) -> subprocess.CompletedProcess[str]:
        """plan -detailed-exitcode: 0 = no changes, 2 = changes (drift)."""
        with self.phase("plan"):
            return self.terraform("plan", "-detailed-exitcode", "-input=false", "-no-color", *self._vars(), ok=(0, 2))

    def destroy(self) -> str:
        with self.phase("destroy"):
            return self.terraform("destroy", "-auto-approve", "-input=false", "-no-color", *self._vars()).stdout

    def state(self) -> list[str]:
        return self.terraform("state", "list").stdout.split()

    def outputs(self) -> Outputs:
        values = json.loads(self.terraform("output", "-json").stdout)
        return Outputs(**{name: str(values[name]["value"]) for name in Outputs.__dataclass_fields__})

    # -- the app on the applied stack

    def app_env(self, outputs: Outputs, **overrides: str | None) -> dict[str, str]:
        """The app in prod on the applied stack: TABLE_NAME, region and ACH key from the outputs; DynamoDB
        at moto through the app's DYNAMODB_ENDPOINT_URL, KMS through botocore's AWS_ENDPOINT_URL_KMS
        (app/db/kms.py takes no endpoint setting). A value of None in `overrides` removes the variable."""
        env = {
            **base_env(self.workdir),
            "PYTHONPATH": str(ROOT),
            "ENVIRONMENT": "prod",
            "TABLE_NAME": outputs.table_name,
            "AWS_REGION": outputs.region,
            "AWS_DEFAULT_REGION": outputs.region,
            "DYNAMODB_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_KMS": self.endpoint,
            "JWT_SECRET": self.jwt_secret,
            "ACH_KMS_KEY_ID": outputs.ach_kms_key_arn,
            "LOG_LEVEL": "WARNING",
        }
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    @contextlib.contextmanager
    def uvicorn(self, env: dict[str, str]) -> Iterator[str]:
        """The ASGI app served by uvicorn on 127.0.0.1 (cwd outside the repo: no .env file is read)."""
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--app-dir", str(ROOT), "--host", HOST, "--port", str(port)]
        command += ["--no-access-log", "--log-level", "warning"]
        server = Service("uvicorn", command, env=env, cwd=self.workdir, log=self.logs / "uvicorn.log")
        try:
            wait_until_up(server, f"http://{HOST}:{port}/health")
            yield f"http://{HOST}:{port}"
        finally:
            server.stop()

    @contextlib.contextmanager
    def lambda_handler(self, env: dict[str, str]) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
        """lambda_handler.handler in a fresh interpreter: send it an API Gateway HTTP API v2 event, get its result."""
        driver = Service(
            "lambda driver",
            [sys.executable, str(LAMBDA_DRIVER)],
            env=env,
            cwd=self.workdir,
            log=self.logs / "lambda.log",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        lock = threading.Lock()

        def invoke(event: dict[str, Any]) -> dict[str, Any]:
            stdin, stdout = driver.process.stdin, driver.process.stdout
            if stdin is None or stdout is None:
                raise RehearsalError("the Lambda driver has no pipes")
            watchdog = threading.Timer(60, driver.stop)  # a hung handler is stopped: readline() then ends
            with lock:
                watchdog.start()
                try:
                    stdin.write(json.dumps(event).encode() + b"\n")
                    stdin.flush()
                    while line := stdout.readline():
                        if line.startswith(b"RESULT "):
                            result: dict[str, Any] = json.loads(line[len(b"RESULT ") :])
                            return result
                finally:
                    watchdog.cancel()
            raise RehearsalError(f"the Lambda driver exited ({driver.process.poll()}):\n{driver.log_tail()}")

        try:
            yield invoke
        finally:
            driver.stop()

    def cold_start(self, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Import the Lambda entry point (what a cold start does) with `env`."""
        return subprocess.run(
            [sys.executable, "-c", "import lambda_handler"], env=env, cwd=self.workdir, capture_output=True, text=True, timeout=120
        )
