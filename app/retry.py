"""Pauses between attempts, and the one loop that re-runs a read-decide-commit step after it lost a race.

A state change reads an item, decides, and commits a transaction conditioned on what it read. When
another request changed the item in between, the repository raises `LostRace`; the service's step
is then run again on fresh data, with full-jitter pauses, for up to RACE_SECONDS: contention on one
loan is served one write after the other, not refused. Only when the budget runs out does the last
LostRace reach the caller (409 CONFLICT with Retry-After).

Within one process, writes to the same loan also take turns on a `KeyedLocks` lock (one per
`app.db.dynamo.Dynamo`, so one per app): threads of one server then queue instead of racing each
other's transactions, and DynamoDB's conditions arbitrate only between processes (Lambda sandboxes).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from app.errors import LostRace

T = TypeVar("T")

RACE_ATTEMPTS = 8  # a step runs at least this many times before a lost race can answer 409 CONFLICT ...
RACE_SECONDS = 5.0  # ... and keeps being re-run until this much time has gone by (WRITE_RETRY_SECONDS)
LOCK_WAIT_SECONDS = 10.0  # a writer waits at most this long for its turn, then goes ahead optimistically


def pause(attempt: int, *, base: float, cap: float) -> None:
    """Full jitter: a random sleep in [0, min(cap, base * 2**attempt)] seconds."""
    time.sleep(random.uniform(0, min(cap, base * 2**attempt)))  # noqa: S311 - jitter, not a secret


class KeyedLocks:
    """One lock per key while anyone holds or waits for it (the map never grows past the keys in use)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str, *, wait: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
        """Take `key`'s turn (waiting up to `wait` seconds; after that, go ahead without it)."""
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        acquired = lock.acquire(timeout=wait)
        try:
            yield
        finally:
            if acquired:
                lock.release()
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)

    def waiting(self, key: str) -> int:
        """How many callers hold or wait for `key` now (for tests)."""
        with self._guard:
            return self._locks.get(key, (None, 0))[1]


@dataclass(frozen=True)
class Turns:
    """Where writes to one key take turns in this process (`locks`), and how long a write keeps retrying."""

    locks: KeyedLocks
    key: str
    seconds: float = RACE_SECONDS


def retry_on_lost_race(step: Callable[[], T], *, turns: Turns | None = None, attempts: int = RACE_ATTEMPTS) -> T:
    """Run `step` until it commits, re-running it after each lost race for `attempts` runs and `turns.seconds` at least.

    With `turns`, each run holds the key's lock of this process (`Dynamo.turns(key)`), so writers of one
    server queue for the loan instead of racing each other; without, it is the plain optimistic loop.
    """
    deadline = time.monotonic() + (turns.seconds if turns is not None else RACE_SECONDS)
    attempt = 0
    while True:
        try:
            if turns is None:
                return step()
            with turns.locks.hold(turns.key):
                return step()
        except LostRace:
            attempt += 1
            if attempt >= attempts and time.monotonic() >= deadline:
                raise
            pause(min(attempt, 6), base=0.005, cap=0.2)
