"""Time as a dependency, so tests move the clock instead of sleeping."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, date, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a Z, to the second: the contract's timestamp format."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_date(moment: datetime) -> date:
    """The UTC calendar date of a moment: what "today" means for due dates."""
    return moment.astimezone(UTC).date()


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def uuid7(moment: datetime | None = None) -> str:
    """A time-ordered UUID (RFC 9562 version 7): ids that sort by creation time."""
    millis = int((moment.timestamp() if moment else time.time()) * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
