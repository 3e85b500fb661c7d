"""Fault injection on a real botocore client: canned error answers or raised transport errors on `before-send`.

`inject(client, "TransactWriteItems", answer, times=N)` answers the first N calls of the operation
(every call when `times` is None) and then lets calls through to the real endpoint. The answer is
an exception (raised where the HTTP send would be: EndpointConnectionError, ReadTimeoutError), an
`AWSResponse` (parsed by botocore exactly like one from the wire, so its retry rules and error
parsing run), or a function of the outgoing request returning either. Nothing of our code is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse, HeadersDict

Answer = BaseException | AWSResponse | Callable[[Any], "BaseException | AWSResponse"]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def response(status: int, body: dict[str, Any], *, json_version: str = "1.0") -> AWSResponse:
    """An HTTP answer of a JSON-protocol AWS service (DynamoDB: 1.0, KMS: 1.1)."""
    headers = HeadersDict({"Content-Type": f"application/x-amz-json-{json_version}", "x-amzn-RequestId": "injected"})
    return AWSResponse("https://injected.invalid/", status, headers, _Raw(json.dumps(body).encode()))


def error(code: str, *, status: int = 400, json_version: str = "1.0", **fields: Any) -> AWSResponse:
    """A service error as AWS sends it: {"__type": ..., "message": ...} plus modeled fields (CancellationReasons)."""
    return response(status, {"__type": code, "message": f"injected {code}", **fields}, json_version=json_version)


def cancelled(*reasons: str) -> AWSResponse:
    """A TransactionCanceledException with one cancellation reason per operation ("None" for those that were fine)."""
    return error("TransactionCanceledException", CancellationReasons=[{"Code": code, "Message": code} for code in reasons])


@dataclass
class Injected:
    calls: int = 0  # calls of the operation seen (answered or let through)
    answered: int = 0  # ... of which got the injected answer


@contextmanager
def inject(client: Any, operation: str, answer: Answer, *, times: int | None = None) -> Iterator[Injected]:
    """Answer the first `times` calls of `operation` on `client` with `answer` (all of them when None)."""
    seen = Injected()
    event = f"before-send.{client.meta.service_model.service_id.hyphenize()}.{operation}"

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        seen.calls += 1
        if times is not None and seen.answered >= times:
            return None
        seen.answered += 1
        given = answer(request) if callable(answer) and not isinstance(answer, BaseException | AWSResponse) else answer
        if isinstance(given, BaseException):
            raise given
        return given

    client.meta.events.register(event, handler, unique_id=f"fault-{id(handler)}")
    try:
        yield seen
    finally:
        client.meta.events.unregister(event, unique_id=f"fault-{id(handler)}")
