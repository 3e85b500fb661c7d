"""SnapStart on the API function (issue 19, docs/performance.md "SnapStart"): enabled on the published
versions, the only ones API Gateway reaches (through the "live" alias); the other functions stay on
plain init. And the rehearsal's one concession to moto for it (moto reads SnapStart back as unset) is
scoped to that one argument of that one resource."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from scripts.rehearse_deploy import SETTINGS_LOST_BY_THE_EMULATOR, override_tf

ROOT = Path(__file__).resolve().parents[2]

OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def resources(kind: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((ROOT / "terraform").glob("*.tf")):
        with path.open() as handle:
            parsed = hcl2.load(handle, serialization_options=OPTIONS)
        for block in parsed.get("resource", []):
            found.update(block.get(kind, {}))
    return found


def test_the_api_function_snapshots_its_published_versions_behind_the_live_alias() -> None:
    functions = resources("aws_lambda_function")
    api = functions["api"]
    assert api["runtime"] == "python3.12", "SnapStart for Python needs python3.12 or later"
    assert api["publish"] is True, "SnapStart applies to published versions only"
    (snap_start,) = api["snap_start"]
    assert snap_start == {"apply_on": "PublishedVersions"}
    live = resources("aws_lambda_alias")["live"]
    assert live["function_name"] == "${aws_lambda_function.api.function_name}"
    assert live["function_version"] == "${aws_lambda_function.api.version}"
    # SnapStart does not combine with EFS or ephemeral storage above 512 MB: neither is configured.
    assert "file_system_config" not in api and "ephemeral_storage" not in api
    # The jobs and notifications functions are invoked at $LATEST (unpublished): no snapshot to restore.
    for name, function in functions.items():
        if name != "api":
            assert "snap_start" not in function and not function.get("publish", False), name


def test_the_rehearsal_ignores_only_the_snap_start_moto_loses() -> None:
    assert set(SETTINGS_LOST_BY_THE_EMULATOR) == {"aws_lambda_function.api"}
    assert SETTINGS_LOST_BY_THE_EMULATOR["aws_lambda_function.api"][0] == "snap_start"
    override = override_tf("http://127.0.0.1:1", ["lambda"])
    assert 'resource "aws_lambda_function" "api" {\n  lifecycle {\n    ignore_changes = [snap_start]\n  }\n}' in override
    assert override.count("snap_start") == 1


RESTORE_PROBE = """
import random, sys, types
hooks = []
sys.modules["snapshot_restore_py"] = types.SimpleNamespace(register_after_restore=lambda f, *a: hooks.append(f))
import lambda_handler
assert hooks == [random.seed], hooks
random.seed(1); snapshot = random.random()
random.seed(1); hooks[0]()  # what the runtime does in each restored sandbox
print("RESEEDED" if random.random() != snapshot else "SAME")
"""


def test_each_restored_sandbox_reseeds_random(tmp_path: Path) -> None:
    """Under SnapStart, `random` (retry jitter) would be the snapshot's in every sandbox: the handler module
    registers random.seed (from os.urandom) with the runtime's after-restore hook; without the hook module
    (anywhere but Lambda) it registers nothing."""
    import subprocess
    import sys

    from tests.jobs.helpers import subprocess_env

    env = subprocess_env("http://127.0.0.1:9", "unused")
    done = subprocess.run([sys.executable, "-c", RESTORE_PROBE], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "RESEEDED"
