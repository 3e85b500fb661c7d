"""GET /health: proves the table answers, for load balancers and the deploy smoke test."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app import __version__
from app.db.errors import DatabaseUnavailable
from app.db.keys import health_probe_key
from app.dependencies import Db
from app.errors import request_id_of
from app.routing import JsonRoute
from app.schemas import CamelModel, ErrorBody

router = APIRouter(tags=["operations"], route_class=JsonRoute)


class HealthChecks(CamelModel):
    dynamodb: Literal["ok", "unavailable"]


class Health(CamelModel):
    status: Literal["ok", "degraded"]
    version: str
    checks: HealthChecks


class DegradedHealth(Health):
    error: ErrorBody


@router.get(
    "/health",
    operation_id="getHealth",
    response_model=Health,
    summary="Service health, including a real read of the table",
    responses={503: {"model": DegradedHealth, "description": "The table cannot be reached"}},
)
def health(request: Request, db: Db) -> Health | JSONResponse:
    try:
        db.get(health_probe_key(), consistent=False)
    except DatabaseUnavailable:
        error = ErrorBody(code="SERVICE_UNAVAILABLE", message="The table cannot be reached", details=[], request_id=request_id_of(request))
        degraded = DegradedHealth(status="degraded", version=__version__, checks=HealthChecks(dynamodb="unavailable"), error=error)
        return JSONResponse(status_code=503, content=degraded.model_dump(by_alias=True), headers={"Retry-After": "5"})
    return Health(status="ok", version=__version__, checks=HealthChecks(dynamodb="ok"))
