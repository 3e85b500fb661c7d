"""Counting DynamoDB requests per context: the X-DB-Requests header, the access log, request-budget tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


class RequestCounter:
    """Counts DynamoDB API calls made while it is active in the current context."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def count(self) -> int:
        return len(self.calls)


_active_counter: ContextVar[RequestCounter | None] = ContextVar("dynamodb_request_counter", default=None)


@contextmanager
def counting_requests() -> Iterator[RequestCounter]:
    """Count the DynamoDB calls made in this context (and threads that copy it)."""
    counter = RequestCounter()
    token = _active_counter.set(counter)
    try:
        yield counter
    finally:
        _active_counter.reset(token)


def count_call(model: Any, **_: Any) -> None:
    """botocore `before-call` hook: one call more for the active counter, if any."""
    counter = _active_counter.get()
    if counter is not None:
        counter.calls.append(model.name)
