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
import fnmatch
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
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
    "aws_lambda_event_source_mapping": "lambda",
    "aws_lambda_function": "lambda",
    "aws_lambda_permission": "lambda",
    "aws_partition": None,
    "aws_s3_bucket": "s3",
    "aws_s3_bucket_lifecycle_configuration": "s3",
    "aws_s3_bucket_ownership_controls": "s3",
    "aws_s3_bucket_policy": "s3",
    "aws_s3_bucket_public_access_block": "s3",
    "aws_s3_bucket_server_side_encryption_configuration": "s3",
    "aws_s3_bucket_versioning": "s3",
    "aws_scheduler_schedule": "scheduler",
    "aws_sesv2_email_identity": "sesv2",
    "aws_sqs_queue": "sqs",
    "aws_ssm_parameter": "ssm",
}
# Resources the emulator cannot create, left out of the rehearsal with -target (README "Rehearsal"). None today.
UNSUPPORTED_RESOURCES: dict[str, str] = {}
# Resources moto creates but reads back with tags it lost: the override ignores their tags_all (only
# in the rehearsal's copy), so the second plan shows the emulator's drift nowhere (README "Rehearsal").
TAGS_LOST_BY_THE_EMULATOR: dict[str, str] = {
    "aws_sesv2_email_identity.sender": (
        "moto 5.2.5 files the tags given to CreateEmailIdentity under ...:email-identity/<name>, but AWS's ARN "
        "of an identity, which the provider lists tags by, is ...:identity/<name>"
    ),
}
# Settings moto accepts but reads back as unset: the override ignores that one argument of that one
# resource (only in the rehearsal's copy), for the same reason.
SETTINGS_LOST_BY_THE_EMULATOR: dict[str, tuple[str, str]] = {
    "aws_lambda_function.api": (
        "snap_start",
        "moto 5.2.5 answers GetFunction with SnapStart {ApplyOn: None} whatever CreateFunction was given, so "
        'every plan would re-add snap_start { apply_on = "PublishedVersions" }',
    ),
}

BLOCK = re.compile(r'^(resource|data)\s+"(aws_[a-z0-9_]+)"\s+"([A-Za-z0-9_-]+)"', re.M)


def with_overrides(env: dict[str, str], overrides: dict[str, str | None]) -> dict[str, str]:
    """`env` with each override set, or removed where its value is None."""
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


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
        "  skip_metadata_api_check     = true\n"
        "  s3_use_path_style           = true\n"
        f"  endpoints {{\n{lines}\n  }}\n"
        "}\n"
        + "".join(
            f'\nresource "{kind}" "{name}" {{\n  lifecycle {{\n    ignore_changes = [tags_all]\n  }}\n}}\n'
            for kind, name in (address.split(".") for address in sorted(TAGS_LOST_BY_THE_EMULATOR))
        )
        + "".join(
            f'\nresource "{kind}" "{name}" {{\n  lifecycle {{\n    ignore_changes = [{argument}]\n  }}\n}}\n'
            for address, (argument, _why) in sorted(SETTINGS_LOST_BY_THE_EMULATOR.items())
            for kind, name in [address.split(".")]
        )
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


# ------------------------------------------------------------------------------- IAM, which moto does not enforce


@dataclass(frozen=True)
class Call:
    """One AWS request as the emulator received it: what IAM would authorize (action, resources, the
    dynamodb:LeadingKeys of the items it touches)."""

    action: str
    resources: tuple[str, ...]
    leading_keys: tuple[str, ...] = ()
    detail: str = ""


def calls_of(entries: list[dict[str, Any]], *, table_arn: str, ses_identity_arn: str) -> list[Call]:
    """The calls in moto's recorded requests: DynamoDB item and query calls on `table_arn`'s table and
    SES v2 SendEmail (authorized on the sender's identity). Anything else is returned as-is (action
    "unknown:<method> <path>"), for the caller to refuse."""
    table_name = table_arn.rsplit("/", 1)[1]
    calls = []
    for entry in entries:
        raw = base64.b64decode(entry["body"]) if entry.get("body_encoded") else (entry.get("body") or "").encode()
        target = next((v for k, v in entry["headers"].items() if k.lower() == "x-amz-target"), "")
        path = entry["url"].split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        if target.startswith("DynamoDB_20120810."):
            operation = target.split(".", 1)[1]
            body = json.loads(raw)
            if operation in {"BatchGetItem", "BatchWriteItem"}:
                tables = sorted(body["RequestItems"])
                keys = [key["PK"]["S"] for name in tables for key in body["RequestItems"][name].get("Keys", [])]
                resources = tuple(table_arn if name == table_name else f"table/{name}" for name in tables)
                calls.append(Call(f"dynamodb:{operation}", resources, tuple(keys), operation))
                continue
            name = body.get("TableName", "")
            resource = table_arn if name == table_name else f"table/{name}"
            if body.get("IndexName"):
                resource = f"{resource}/index/{body['IndexName']}"
            key = body.get("Item") or body.get("Key") or {}
            leading = (key["PK"]["S"],) if "PK" in key else ()
            calls.append(Call(f"dynamodb:{operation}", (resource,), leading, f"{operation} {leading or body.get('IndexName', '')}"))
        elif entry["method"] == "POST" and path.endswith("v2/email/outbound-emails"):
            sender = parseaddr(json.loads(raw).get("FromEmailAddress", ""))[1].lower()
            # SES authorizes a send on the identity it is sent from: the address's own, or its domain's.
            prefix, identity = ses_identity_arn.rsplit("/", 1)
            used = identity if identity.lower() in {sender, sender.rpartition("@")[2]} else sender.rpartition("@")[2]
            calls.append(Call("ses:SendEmail", (f"{prefix}/{used}",), (), sender))
        else:
            calls.append(Call(f"unknown:{entry['method']} /{path} {target}".strip(), ()))
    return calls


def _condition_holds(operator: str, values: dict[str, Any], call: Call) -> bool:
    for key, wanted in values.items():
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        if key != "dynamodb:LeadingKeys":
            raise RehearsalError(f"allows() knows no condition key {key}")
        present = list(call.leading_keys)
        if operator == "Null":
            if (not present) != (wanted == ["true"]):
                return False
        elif operator == "ForAllValues:StringLike":
            if not all(any(fnmatch.fnmatchcase(value, pattern) for pattern in wanted) for value in present):
                return False
        elif operator == "StringEquals":
            if not present or not all(value in wanted for value in present):
                return False
        else:
            raise RehearsalError(f"allows() knows no condition operator {operator}")
    return True


def allows(policy: dict[str, Any], call: Call) -> bool:
    """IAM's verdict for an identity policy of Allow statements (no Deny, no NotAction/NotResource: the
    stack has none) on one call: some statement names the action and every resource, and its
    conditions hold. Enough for the stack's own statements; anything else it does not know raises."""
    statements = policy["Statement"]
    for statement in statements if isinstance(statements, list) else [statements]:
        if statement.get("Effect") != "Allow" or {"NotAction", "NotResource"} & set(statement):
            raise RehearsalError(f"allows() knows only Allow statements with Action and Resource: {statement}")
        actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        resources = [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
        if not any(fnmatch.fnmatchcase(call.action.lower(), action.lower()) for action in actions):
            continue
        if not call.resources or not all(any(fnmatch.fnmatchcase(r, pattern) for pattern in resources) for r in call.resources):
            continue
        if all(_condition_holds(operator, values, call) for operator, values in statement.get("Condition", {}).items()):
            return True
    return False


# ------------------------------------------------------------------------------------------ the stream


def filter_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Lambda event filtering, for the patterns the stack uses: nested objects whose leaves are lists of
    allowed exact values (no prefix, numeric or exists matching)."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        if isinstance(wanted, dict):
            if not isinstance(event[key], dict) or not filter_matches(wanted, event[key]):
                return False
        elif not isinstance(wanted, list) or any(isinstance(value, dict) for value in wanted):
            raise RehearsalError(f"filter_matches knows only lists of exact values, not {wanted!r}")
        elif event[key] not in wanted:
            return False
    return True


def insert_records(items: list[dict[str, Any]], *, stream_arn: str, region: str) -> list[dict[str, Any]]:
    """The INSERT records a NEW_IMAGE stream carries for `items` (DynamoDB JSON, as Scan returns them),
    shaped as Lambda hands them to a function, in the order given, with increasing sequence numbers."""
    records = []
    for number, item in enumerate(items, start=1):
        sequence = f"{number:021d}"
        records.append(
            {
                "eventID": hashlib.sha256(f"{stream_arn}|{sequence}".encode()).hexdigest()[:32],
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(time.time()),
                    "Keys": {"PK": item["PK"], "SK": item["SK"]},
                    "NewImage": item,
                    "SequenceNumber": sequence,
                    "SizeBytes": len(json.dumps(item)),
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": stream_arn,
            }
        )
    return records


# ------------------------------------------------------------------------------------------ the ACH rail


def sftp_login() -> dict[str, str]:
    """A stand-in for the ODFI's SFTP login, in the JSON shape of the ACH SFTP parameter (README "The ACH
    rail"): a fresh ed25519 key of ours (OpenSSH text) and a fresh host key of "the bank". No server
    answers at that host: the rehearsal runs no ACH job against it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ours, bank = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    private = ours.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    host_key = bank.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return {
        "host": "sftp.odfi.rehearsal.example",
        "username": "lending-rehearsal",
        "host_key": host_key.decode(),
        "private_key": private.decode(),
    }


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


class _NoDocker(BaseHTTPRequestHandler):
    """The Docker API moto is given (DOCKER_HOST): it tells its version and refuses everything else.

    moto delivers a DynamoDB stream to a mapped function inside every write, by running the function in
    Docker (pulling a Lambda image). With this stand-in the attempt fails at once, the same way on every
    machine (a CI runner has a real daemon), moto logs it and the write succeeds; the rehearsal runs
    lambda_handler.stream_handler itself (README "Rehearsal")."""

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/version"):
            self._answer(200, {"ApiVersion": "1.41", "Version": "rehearsal-no-docker", "MinAPIVersion": "1.12"})
        else:
            self._refuse()

    def _refuse(self) -> None:
        self._answer(503, {"message": "the deploy rehearsal runs no containers"})

    do_POST = do_PUT = do_DELETE = do_HEAD = _refuse

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


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
    ach_archive_bucket: str
    function_name: str
    function_version: str
    api_url: str
    dashboard_name: str
    notifications_function_name: str
    notifications_dlq_url: str
    email_identity_arn: str

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
        self.recording = self.logs / "moto-requests.jsonl"  # moto's request recorder (record_requests)
        self._recording = False
        self.timings: dict[str, float] = {}
        self.jwt_secret = secrets.token_urlsafe(48)  # what the seeded SSM parameter holds
        self.ach_sftp = sftp_login()  # what the seeded ACH SFTP parameter holds (JSON)
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

    def _start_no_docker(self) -> str:
        server = ThreadingHTTPServer((HOST, 0), _NoDocker)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="no-docker", daemon=True)
        thread.start()
        self._stack.callback(server.server_close)
        self._stack.callback(server.shutdown)
        return f"tcp://{HOST}:{server.server_address[1]}"

    def _start_moto(self) -> None:
        docker_host = self._start_no_docker()
        for _ in range(3):  # a port taken between free_port() and the bind: try another
            self.port = free_port()
            command = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]
            # The recorder is off until record_requests(): the stack's zips are not worth a copy.
            env = {**base_env(self.workdir), "DOCKER_HOST": docker_host, "MOTO_RECORDER_FILEPATH": str(self.recording)}
            moto = Service("moto server", command, env=env, cwd=self.workdir, log=self.logs / "moto.log")
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

    def seed(self) -> list[str]:
        """What the stack reads but does not create: the SSM SecureStrings of the JWT secret and of the ACH
        rail's SFTP login (JSON, as README "The ACH rail" has the operator write it)."""
        ssm = self.client("ssm")
        jwt, sftp = tfvar("jwt_secret_ssm_parameter"), tfvar("ach_sftp_ssm_parameter")
        ssm.put_parameter(Name=jwt, Type="SecureString", Value=self.jwt_secret, Overwrite=True)
        ssm.put_parameter(Name=sftp, Type="SecureString", Value=json.dumps(self.ach_sftp), Overwrite=True)
        return [jwt, sftp]

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

    def plan_refused(self, *variables: str) -> str:
        """plan with extra -var NAME=VALUE settings that the stack must refuse (a validation or a
        precondition): its output. Nothing is applied."""
        with self.phase("plan"):
            extra = [f"-var={variable}" for variable in variables]
            return self.terraform("plan", "-input=false", "-no-color", "-lock=false", *self._vars(), *extra, ok=(1,)).stderr

    def destroy(self) -> str:
        with self.phase("destroy"):
            return self.terraform("destroy", "-auto-approve", "-input=false", "-no-color", *self._vars()).stdout

    def state(self) -> list[str]:
        return self.terraform("state", "list").stdout.split()

    def outputs(self) -> Outputs:
        values = json.loads(self.terraform("output", "-json").stdout)
        return Outputs(**{name: str(values[name]["value"]) for name in Outputs.__dataclass_fields__})

    # -- the app on the applied stack

    def function_env(self, function_name: str, **overrides: str | None) -> dict[str, str]:
        """An applied function's own environment (as Terraform configured it), with the emulator's endpoints:
        DynamoDB through the app's DYNAMODB_ENDPOINT_URL, SES v2 through its SES_ENDPOINT_URL, KMS through
        botocore's AWS_ENDPOINT_URL_KMS. A value of None in `overrides` removes the variable."""
        configured = self.client("lambda").get_function_configuration(FunctionName=function_name)["Environment"]["Variables"]
        region = tfvar("region")
        env = {
            **base_env(self.workdir),
            "PYTHONPATH": str(ROOT),
            **configured,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "DYNAMODB_ENDPOINT_URL": self.endpoint,
            "SES_ENDPOINT_URL": self.endpoint,
            "AWS_ENDPOINT_URL_KMS": self.endpoint,
        }
        return with_overrides(env, overrides)

    def record_requests(self) -> None:
        """Turn on moto's request recorder (once): sent_emails() reads the SES requests from it."""
        if not self._recording:
            request = urllib.request.Request(f"{self.endpoint}/moto-api/recorder/start-recording", method="POST", data=b"")
            with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as answer:
                if answer.status != 200:
                    raise RehearsalError(f"moto's recorder did not start: {answer.status}")
            self._recording = True

    def sent_emails(self) -> list[dict[str, str]]:
        """Every SES v2 SendEmail moto received since record_requests(), in order: {"from", "to", "subject",
        "text", "html"} (moto keeps only one body of a message, and offers no read of what it accepted other
        than a count: ses_accepted())."""
        if not self._recording:
            raise RehearsalError("record_requests() first")
        emails = []
        lines = self.recording.read_text().splitlines() if self.recording.exists() else []
        for entry in map(json.loads, lines):
            if entry["method"] != "POST" or not entry["url"].split("?", 1)[0].endswith("/v2/email/outbound-emails"):
                continue
            body = json.loads(base64.b64decode(entry["body"]) if entry["body_encoded"] else entry["body"])
            simple = body["Content"]["Simple"]
            (to,) = body["Destination"]["ToAddresses"]
            emails.append(
                {
                    "from": body["FromEmailAddress"],
                    "to": to,
                    "subject": simple["Subject"]["Data"],
                    "text": simple["Body"].get("Text", {}).get("Data", ""),
                    "html": simple["Body"].get("Html", {}).get("Data", ""),
                }
            )
        return emails

    def recording_mark(self) -> int:
        """Where the request recording stands: calls_since(mark) returns what came after."""
        if not self._recording:
            raise RehearsalError("record_requests() first")
        return len(self.recording.read_text().splitlines()) if self.recording.exists() else 0

    def recorded_since(self, mark: int) -> list[dict[str, Any]]:
        lines = self.recording.read_text().splitlines() if self.recording.exists() else []
        return [json.loads(line) for line in lines[mark:]]

    def role_policy(self, role_name: str, policy_name: str = "least-privilege") -> dict[str, Any]:
        """An applied inline policy of a role, as IAM holds it."""
        document = self.client("iam").get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
        policy: dict[str, Any] = json.loads(document) if isinstance(document, str) else document
        return policy

    def ses_accepted(self) -> int:
        """How many recipients moto's SES accepted (SentLast24Hours): a send it refused (an unverified
        sender, say) is not counted."""
        return int(self.client("ses").get_send_quota()["SentLast24Hours"])

    def app_env(self, outputs: Outputs, **overrides: str | None) -> dict[str, str]:
        """The app in prod on the applied stack: TABLE_NAME, region and ACH key from the outputs, the ACH
        rail's settings as the applied API function has them; DynamoDB at moto through the app's
        DYNAMODB_ENDPOINT_URL, KMS through botocore's AWS_ENDPOINT_URL_KMS (app/db/kms.py takes no
        endpoint setting). A value of None in `overrides` removes the variable."""
        configured = self.client("lambda").get_function_configuration(FunctionName=outputs.function_name)["Environment"]["Variables"]
        rail = {name: value for name, value in configured.items() if name.startswith("ACH_") and name != "ACH_KMS_KEY_ID"}
        env = {
            **rail,
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
        return with_overrides(env, overrides)

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
    def lambda_handler(self, env: dict[str, str], handler: str = "handler") -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
        """lambda_handler.<handler> in a fresh interpreter: send it an event (for `handler`, an API Gateway
        HTTP API v2 event; for `stream_handler`, {"Records": [...]}), get its result."""
        driver = Service(
            f"lambda driver ({handler})",
            [sys.executable, str(LAMBDA_DRIVER), handler],
            env=env,
            cwd=self.workdir,
            log=self.logs / f"lambda-{handler}.log",
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
