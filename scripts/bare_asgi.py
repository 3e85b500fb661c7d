"""The smallest ASGI app: 200 `{}` to any HTTP request, nothing behind it.

scripts/bench_lambda.py serves it under uvicorn exactly as it serves the API (1 worker, same options)
and times the same requests against it with the same client: what one HTTP round trip through uvicorn
costs on this machine, the part of the API's HTTP figures that no endpoint can avoid.
"""

from __future__ import annotations

from typing import Any

BODY = b"{}"
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the request body to its end, as any endpoint does
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
