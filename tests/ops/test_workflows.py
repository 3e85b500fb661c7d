"""The GitHub workflows are valid (GitHub's workflow JSON schema, shipped inside check-jsonschema: no
network) and deploy.yml keeps the properties the deploy depends on."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def _offline() -> list[str]:
    """A prefix that runs a command without any network, where this machine allows it (root, Linux)."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def _validate(*files: Path) -> subprocess.CompletedProcess[str]:
    command = [*_offline(), sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
    return subprocess.run([*command, *map(str, files)], capture_output=True, text=True, timeout=120)


def _load(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def test_every_workflow_matches_githubs_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {f.name for f in files} >= {"ci.yml", "deploy.yml"}
    result = _validate(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation done" in result.stdout


def test_the_validator_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    assert _validate(broken).returncode == 1


def test_deploy_runs_after_tests_on_main_with_oidc_and_approval() -> None:
    deploy = _load("deploy.yml")
    triggers = deploy[True]  # YAML 1.1 reads the bare key `on` as a boolean
    assert triggers["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert "workflow_call" in _load("ci.yml")[True]
    assert jobs["build"]["needs"] == "test"
    assert jobs["deploy-dev"]["needs"] == "build" and jobs["deploy-prod"]["needs"] == "deploy-dev"
    for name, environment in (("deploy-dev", "dev"), ("deploy-prod", "prod")):
        job = jobs[name]
        assert job["environment"]["name"] == environment
        assert job["permissions"]["id-token"] == "write"
        assert job["concurrency"] == {"group": f"deploy-{environment}", "cancel-in-progress": False}
        steps = job["steps"]
        (credentials,) = [s for s in steps if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials")]
        assert "role-to-assume" in credentials["with"]
        assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials["with"]), "OIDC only"
        scripts = "\n".join(str(s.get("run", "")) for s in steps)
        assert "terraform plan" in scripts and "terraform apply" in scripts and "/health" in scripts
        assert f"environments/{environment}.tfvars" in scripts
