"""Idempotency-Key for the POSTs that create something: one record per (caller, key), claimed before the work.

The record's life: claimed `in_progress` with a lock (PutItem, conditional), then `completed` with
the response INSIDE the transaction that does the work (so "loan created" and "response stored"
are one atomic fact: a retry can never create a second loan), or deleted when the request
fails with an error. A crashed request's lock expires after LOCK_SECONDS, so the key is not wedged;
a request whose lock was taken over cannot complete (its transaction's condition fails). Records
expire after RETENTION, checked by code (TTL deletion can lag by hours).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from app.clock import epoch
from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed, DataLayerError
from app.db.expressions import Expression, Operation, tx_update
from app.db.keys import Key, idempotency_key
from app.errors import Conflict, RuleViolation
from app.jsonio import parse_json

if TYPE_CHECKING:  # the jobs and notifications functions import this module (through the services) and never load Starlette
    from starlette.responses import Response

logger = logging.getLogger("app.idempotency")
M = TypeVar("M", bound=BaseModel)

LOCK_SECONDS = 30
RETENTION = timedelta(hours=24)


class IdempotencyInProgress(Conflict):
    code, message = "IDEMPOTENCY_IN_PROGRESS", "A request with this Idempotency-Key is still in progress; retry shortly"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": "1"})


@dataclass(frozen=True)
class Claim:
    """We own the key until `completion` commits or the lock expires."""

    key: Key
    token: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str


def request_fingerprint(payload: Any) -> str:
    """SHA-256 of the canonical JSON of the validated request: same body => same fingerprint."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def _record_key(user_id: str, idempotency_key_value: str) -> Key:
    return idempotency_key(user_id, hashlib.sha256(idempotency_key_value.encode()).hexdigest())


def claim(*, db: Dynamo, user_id: str, key: str, fingerprint: str, now: datetime) -> Claim | StoredResponse:
    """Own the key (one PutItem), or learn what happened to it: a stored response, or an error.

    422 IDEMPOTENCY_KEY_REUSED when the key was used with another body; 409 IDEMPOTENCY_IN_PROGRESS
    while another request holds it.
    """
    record_key = _record_key(user_id, key)
    token = uuid.uuid4().hex
    current = epoch(now)
    record = {
        **record_key,
        "entity": "idempotency",
        "requestHash": fingerprint,
        "state": "in_progress",
        "lockToken": token,
        "lockedUntil": current + LOCK_SECONDS,
        "expiresAt": epoch(now + RETENTION),
        "expireAt": epoch(now + RETENTION),
    }
    free = Expression(
        "attribute_not_exists(PK) OR expiresAt <= :now OR (#state = :inProgress AND lockedUntil <= :now AND requestHash = :hash)",
        names={"#state": "state"},
        values={":now": current, ":inProgress": "in_progress", ":hash": fingerprint},
    )
    try:
        db.put(record, condition=free, return_old_on_failure=True)
    except ConditionFailed as failure:
        existing = failure.item or {}
        if existing.get("requestHash") != fingerprint:
            raise RuleViolation(
                "This Idempotency-Key was already used with a different request body",
                code="IDEMPOTENCY_KEY_REUSED",
                details=[{"field": "Idempotency-Key", "location": "header", "reason": "reused with another body"}],
            ) from failure
        if existing.get("state") == "completed":
            return StoredResponse(status=int(existing["responseStatus"]), body=str(existing["responseBody"]))
        raise IdempotencyInProgress() from failure
    return Claim(key=record_key, token=token)


def completion(claim_: Claim, *, status: int, body: str) -> Operation:
    """The transaction operation that stores the response; fails if our lock was taken over."""
    return tx_update(
        claim_.key,
        Expression(
            "SET #state = :completed, responseStatus = :status, responseBody = :body REMOVE lockToken, lockedUntil",
            names={"#state": "state"},
            values={":completed": "completed", ":status": status, ":body": body},
        ),
        Expression(
            "#state = :inProgress AND lockToken = :token",
            names={"#state": "state"},
            values={":inProgress": "in_progress", ":token": claim_.token},
        ),
    )


def release(*, db: Dynamo, claim_: Claim, request_id: str) -> None:
    """Give the key back after a failed request, so a retry runs again (best effort: the lock expires anyway)."""
    try:
        db.delete(claim_.key, condition=Expression("lockToken = :token", values={":token": claim_.token}))
    except (ConditionFailed, DataLayerError):
        logger.warning("idempotency key not released", extra={"request_id": request_id, "event": "idempotency_release_failed"})


REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on a response replayed for a retried Idempotency-Key


@dataclass(frozen=True)
class Outcome(Generic[M]):
    response: M
    replayed: bool

    def answer(self, response: Response) -> M:
        """The response model, with the replay header set on the route's response when it is a replay."""
        if self.replayed:
            response.headers[REPLAYED_HEADER] = "true"
        return self.response


# What the work gets: a function that turns its response into the transaction operation storing it
# (None when the request carries no Idempotency-Key). The work must commit that operation with its own.
Completion = Callable[[BaseModel], Operation] | None


def run_once(
    *,
    db: Dynamo,
    user_id: str,
    key: str | None,
    request: Any,
    now: datetime,
    request_id: str,
    status: int,
    model: type[M],
    work: Callable[[Completion], M],
) -> Outcome[M]:
    """Run `work` once per (caller, key, request): a retry replays the stored response instead."""
    if key is None:
        return Outcome(work(None), replayed=False)
    outcome = claim(db=db, user_id=user_id, key=key, fingerprint=request_fingerprint(request), now=now)
    if isinstance(outcome, StoredResponse):
        return Outcome(model.model_validate(parse_json(outcome.body.encode())), replayed=True)
    try:
        response = work(lambda body: completion(outcome, status=status, body=body.model_dump_json()))
    except Exception:
        release(db=db, claim_=outcome, request_id=request_id)
        raise
    return Outcome(response, replayed=False)
