"""The bank simulator (tools/bank_simulator) for the tests: imported from its own folder, as it runs (it shares no code with app/)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import cast

TOOL = Path(__file__).resolve().parents[2] / "tools" / "bank_simulator"
if str(TOOL) not in sys.path:
    sys.path.insert(0, str(TOOL))

process_once = cast(Callable[..., list[str]], importlib.import_module("bank_processing").process_once)


def bank_step(root: Path, state_dir: Path, now: datetime) -> list[str]:
    """One step of the simulated bank on an SFTP root holding outbound/ and inbound/: what it did, a line each."""
    return process_once(root, state_dir, now)
