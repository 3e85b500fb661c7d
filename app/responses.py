"""JSON responses that write Decimal amounts as exact JSON numbers (never via float, never as strings)."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.jsonio import dumps_exact


class ExactJSONResponse(JSONResponse):
    """application/json rendered by dumps_exact."""

    def render(self, content: Any) -> bytes:
        return dumps_exact(content).encode("utf-8")
