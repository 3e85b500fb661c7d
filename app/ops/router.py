"""Operator routes: /ops/ach/files, /ops/ach/payments, /ops/ach/exceptions (404 for anyone but an operator). Thin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.dependencies import Cursor, Db
from app.ops.dependencies import CurrentOperator
from app.payments import oversight
from app.payments.schemas import AchExceptionPage, AchFilePage, PaymentKind, PaymentPage, PaymentStatus
from app.routing import JsonRoute
from app.schemas import Limit

router = APIRouter(prefix="/ops/ach", tags=["operators"], route_class=JsonRoute)


@router.get(
    "/files",
    operation_id="listAchFiles",
    response_model=AchFilePage,
    summary="Outbound files sent and inbound files processed or rejected, newest first (operators only)",
)
def list_files(operator: CurrentOperator, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None) -> AchFilePage:
    return oversight.files(db=db, caller=operator.user_id, limit=limit, cursor=cursor)


@router.get(
    "/payments",
    operation_id="listAchPayments",
    response_model=PaymentPage,
    summary="Payments by status and kind (operators only)",
    description=(
        "Newest first within a status (by the date that matters to it: when it may be sent, when it settles, when it "
        "ended). Without `status`, every status in turn: scheduled, submitted, returned, settled, cancelled. A payment "
        "an outbound file is holding at that moment is listed again once the file is sent."
    ),
)
def list_payments(
    operator: CurrentOperator,
    db: Db,
    status: Annotated[PaymentStatus | None, Query(description="Only payments in this status")] = None,
    kind: Annotated[PaymentKind | None, Query(description="Only payments of this kind")] = None,
    limit: Annotated[Limit, Query()] = 20,
    cursor: Cursor = None,
) -> PaymentPage:
    return oversight.payments(db=db, caller=operator.user_id, status=status, kind=kind, limit=limit, cursor=cursor)


@router.get(
    "/exceptions",
    operation_id="listAchExceptions",
    response_model=AchExceptionPage,
    summary="Unmatched return and change entries, late returns, rejected and re-sent files, newest first (operators only)",
)
def list_exceptions(operator: CurrentOperator, db: Db, limit: Annotated[Limit, Query()] = 20, cursor: Cursor = None) -> AchExceptionPage:
    return oversight.exceptions(db=db, caller=operator.user_id, limit=limit, cursor=cursor)
