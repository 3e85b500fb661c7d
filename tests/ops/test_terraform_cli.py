"""terraform fmt and validate, and the email and ACH variables' validations (terraform console), offline: the
AWS provider comes from a local filesystem mirror.

Skipped (with the reason) where terraform or the mirror is missing; CI's deploy runs init/plan anyway."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
TERRAFORM = shutil.which("terraform")

pytestmark = [
    pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed"),
    pytest.mark.skipif(
        not (MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir(),
        reason=f"no AWS provider mirror at {MIRROR} (no registry access offline)",
    ),
]


def _terraform(workdir: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM
    return subprocess.run([TERRAFORM, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def offline_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A CLI config that installs hashicorp providers from the mirror only, and a private data dir."""
    home = tmp_path_factory.mktemp("terraform")
    config = home / "cli.tfrc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{MIRROR}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        "}\n"
    )
    return {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_DATA_DIR": str(home / "data"),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",  # no version check call
        "NO_COLOR": "1",
    }


def test_fmt_check(offline_env: dict[str, str]) -> None:
    result = _terraform(ROOT / "terraform", "fmt", "-check", "-recursive", "-diff", "-no-color", env=offline_env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_validate(offline_env: dict[str, str], tmp_path: Path) -> None:
    # A copy, so init's lock file and data never land in the work tree.
    workdir = tmp_path / "terraform"
    shutil.copytree(ROOT / "terraform", workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    init = _terraform(workdir, "init", "-backend=false", "-input=false", "-no-color", env=offline_env)
    assert init.returncode == 0, init.stdout + init.stderr
    validate = _terraform(workdir, "validate", "-no-color", env=offline_env)
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "The configuration is valid" in validate.stdout


@pytest.fixture(scope="module")
def console_dir(offline_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of terraform/ with a local backend, initialized: `terraform console` evaluates variables
    (and their validations) and locals without any AWS call."""
    workdir = tmp_path_factory.mktemp("console") / "terraform"
    shutil.copytree(ROOT / "terraform", workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (workdir / "console_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    init = _terraform(workdir, "init", "-input=false", "-no-color", env=offline_env)
    assert init.returncode == 0, init.stdout + init.stderr
    return workdir


def _console(workdir: Path, env: dict[str, str], expression: str, *variables: str) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM
    args = ["console", "-no-color", "-var-file=environments/dev.tfvars", "-var=lambda_zip_path=/nonexistent.zip"]
    args += [f"-var={variable}" for variable in variables]
    return subprocess.run([TERRAFORM, *args], cwd=workdir, env=env, input=expression + "\n", capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("email_from", "address", "domain"),
    [
        ("Lending <No-Reply@Dev.Lending.example.com>", "no-reply@dev.lending.example.com", "dev.lending.example.com"),
        ("no-reply@dev.lending.example.com", "no-reply@dev.lending.example.com", "dev.lending.example.com"),
    ],
)
def test_the_from_address_is_read_out_of_email_from(
    console_dir: Path, offline_env: dict[str, str], email_from: str, address: str, domain: str
) -> None:
    """What email.tf's precondition compares with the sender identity (the rehearsal checks a plan refuses a mismatch)."""
    result = _console(
        console_dir, offline_env, "jsonencode([local.email_from_address, local.email_from_domain])", f"email_from={email_from}"
    )
    assert result.returncode == 0 and "Error" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert json.loads(json.loads(result.stdout)) == [address, domain]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "refused"),
    [
        ("app_base_url=http://dev.app.example.com", "app_base_url must be an https URL"),
        ("app_base_url=https://dev.app.example.com/", "app_base_url must be an https URL"),
        ("email_sender_identity=not a domain", "email_sender_identity must be a domain"),
        ("email_from=no-reply", "email_from must be"),
        ("notifications_reserved_concurrency=0", "notifications_reserved_concurrency must be -1"),
    ],
)
def test_email_variables_refuse_what_the_app_or_ses_would(
    console_dir: Path, offline_env: dict[str, str], variable: str, refused: str
) -> None:
    # (console reports an invalid variable and carries on: the message is the check, not the exit status)
    result = _console(console_dir, offline_env, "var.app_base_url", variable)
    output = " ".join((result.stdout + result.stderr).split())
    assert "Error: Invalid value for variable" in output and refused in output, output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "refused"),
    [
        ("ach_odfi_routing=091000018", "ach_odfi_routing must be a valid ABA routing number"),  # checksum
        ("ach_odfi_routing=001000019", "ach_odfi_routing must be a valid ABA routing number"),  # prefix 00
        ("ach_odfi_routing=09100001", "ach_odfi_routing must be a valid ABA routing number"),
        ("ach_company_id=123456789", "ach_company_id must be exactly 10 characters"),
        ("ach_company_id=abcdefghij", "ach_company_id must be exactly 10 characters"),
        ("ach_company_id= 123456789", "ach_company_id must be exactly 10 characters"),
        ("ach_company_name=", "ach_company_name must be 1 to 16 characters"),
        ("ach_company_name=LENDING MARKETPLACE", "ach_company_name must be 1 to 16 characters"),
        ("ach_company_name=Lending", "ach_company_name must be 1 to 16 characters"),
        ("ach_sftp_ssm_parameter=-----BEGIN OPENSSH PRIVATE KEY-----", "ach_sftp_ssm_parameter is a parameter name"),
        ("ach_sftp_port=0", "ach_sftp_port must be a port number"),
        ("ach_return_window_days=11", "ach_return_window_days must be a whole number"),
        ("jobs_timeout_seconds=301", "jobs_timeout_seconds must be between 10 and 300"),
    ],
)
def test_ach_variables_refuse_what_the_app_or_the_bank_would(
    console_dir: Path, offline_env: dict[str, str], variable: str, refused: str
) -> None:
    result = _console(console_dir, offline_env, "var.ach_odfi_routing", variable)
    output = " ".join((result.stdout + result.stderr).split())
    assert "Error: Invalid value for variable" in output and refused in output, output


@pytest.mark.slow
@pytest.mark.parametrize(
    "variable",
    ["ach_odfi_routing=021000021", "ach_company_id=1 23456789", "ach_company_name=A", "ach_company_name=LENDING & CO. 16"],
)
def test_ach_variables_accept_what_the_app_accepts(console_dir: Path, offline_env: dict[str, str], variable: str) -> None:
    from app.ach.settings import AchRail

    name, value = variable.split("=", 1)
    AchRail.model_validate({name.removeprefix("ach_"): value})  # the app's own validators agree
    result = _console(console_dir, offline_env, f"var.{name}", variable)
    assert result.returncode == 0 and "Error" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert json.loads(result.stdout) == value
