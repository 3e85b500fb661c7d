"""app/retry.py: writers of one key take turns in a process, and a lost race is re-run within its budget."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.errors import LostRace
from app.retry import RACE_ATTEMPTS, KeyedLocks, Turns, retry_on_lost_race


def test_writers_of_one_key_take_turns_and_the_lock_map_empties_afterwards() -> None:
    locks = KeyedLocks()
    inside, overlaps = [0], [0]
    guard = threading.Lock()

    def write(_: int) -> None:
        with locks.hold("loan-1"):
            with guard:
                inside[0] += 1
                overlaps[0] = max(overlaps[0], inside[0])
            time.sleep(0.002)
            with guard:
                inside[0] -= 1

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(32)))
    assert overlaps[0] == 1
    assert locks.waiting("loan-1") == 0 and not locks._locks


def test_writers_of_other_keys_do_not_wait_for_each_other() -> None:
    locks = KeyedLocks()
    with locks.hold("loan-1"):
        done = threading.Event()
        threading.Thread(target=lambda: (locks.hold("loan-2").__enter__(), done.set()), daemon=True).start()
        assert done.wait(2)


def test_a_writer_whose_turn_does_not_come_goes_ahead_after_its_wait() -> None:
    locks = KeyedLocks()
    with locks.hold("loan-1"), locks.hold("loan-1", wait=0.01):
        assert locks.waiting("loan-1") == 2


def test_a_lost_race_is_re_run_until_it_commits() -> None:
    runs = []

    def step() -> str:
        runs.append(1)
        if len(runs) < RACE_ATTEMPTS + 3:  # more lost races than the minimum of attempts, within the time budget
            raise LostRace()
        return "committed"

    assert retry_on_lost_race(step, turns=Turns(KeyedLocks(), "loan-1", seconds=30)) == "committed"
    assert len(runs) == RACE_ATTEMPTS + 3


def test_a_race_lost_past_its_budget_is_409_with_retry_after() -> None:
    runs = []

    def step() -> None:
        runs.append(1)
        raise LostRace()

    with pytest.raises(LostRace) as raised:
        retry_on_lost_race(step, turns=Turns(KeyedLocks(), "loan-1", seconds=0))
    assert len(runs) == RACE_ATTEMPTS
    assert raised.value.status_code == 409 and raised.value.headers == {"Retry-After": "1"}
