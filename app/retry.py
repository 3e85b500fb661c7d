"""Pauses between attempts, and the one loop that re-runs a read-decide-commit step after it lost a race.

A state change reads an item, decides, and commits a transaction conditioned on what it read. When
another request changed the item in between, the repository raises `LostRace`; the service's step
is then run again on fresh data, a bounded number of times, with full-jitter pauses.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from app.errors import LostRace

T = TypeVar("T")

RACE_ATTEMPTS = 8  # runs of a read-decide-commit step before answering 409 CONFLICT


def pause(attempt: int, *, base: float, cap: float) -> None:
    """Full jitter: a random sleep in [0, min(cap, base * 2**attempt)] seconds."""
    time.sleep(random.uniform(0, min(cap, base * 2**attempt)))  # noqa: S311 - jitter, not a secret


def retry_on_lost_race(step: Callable[[], T], *, attempts: int = RACE_ATTEMPTS) -> T:
    """Run `step` until it commits; after `attempts` lost races the last LostRace (409) propagates."""
    for attempt in range(attempts - 1):
        try:
            return step()
        except LostRace:
            pause(attempt, base=0.005, cap=0.2)
    return step()
