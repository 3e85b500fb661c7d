"""terraform fmt and validate, offline: the AWS provider comes from a local filesystem mirror.

Skipped (with the reason) where terraform or the mirror is missing; CI's deploy runs init/plan anyway."""

from __future__ import annotations

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
