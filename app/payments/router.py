"""Bank account routes: /bank-accounts (register, list, verify by micro-deposits, close). Thin: parse, call, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.auth.dependencies import CurrentUser, VerifiedUser
from app.dependencies import ClockDep, Cursor, Db
from app.errors import request_id_of
from app.payments import bank_accounts, legacy
from app.payments.dependencies import AccountUsageDep, AchKeys
from app.payments.schemas import BankAccount, BankAccountCreate, BankAccountPage, VerificationAmounts
from app.routing import JsonRoute
from app.schemas import Limit

router = APIRouter(prefix="/bank-accounts", tags=["bank accounts"], route_class=JsonRoute)

BankAccountId = Annotated[str, Path(alias="bankAccountId", max_length=64, description="The bank account's id")]


@router.post(
    "",
    operation_id="createBankAccount",
    status_code=201,
    response_model=BankAccount,
    summary="Register a bank account; two micro-deposits and their offsetting debit go out in the next ACH file",
    description=(
        "The numbers are encrypted before anything is stored and are never returned (only their last 4 digits). "
        "The account is pending_verification until its owner posts the two micro-deposit amounts to /verify. "
        "The same routing and account numbers as one of the caller's accounts that is not closed: 409 DUPLICATE_BANK_ACCOUNT."
    ),
)
def create_bank_account(
    body: BankAccountCreate, caller: VerifiedUser, db: Db, clock: ClockDep, keys: AchKeys, request: Request
) -> BankAccount:
    return bank_accounts.register_bank_account(db=db, clock=clock, keys=keys, owner=caller, details=body, request_id=request_id_of(request))


@router.get(
    "",
    operation_id="listBankAccounts",
    response_model=BankAccountPage,
    summary="The caller's bank accounts that are not closed, newest first",
)
def list_bank_accounts(
    caller: CurrentUser,
    db: Db,
    clock: ClockDep,
    keys: AchKeys,
    request: Request,
    limit: Annotated[Limit, Query()] = 20,
    cursor: Cursor = None,
) -> BankAccountPage:
    return legacy.bank_accounts_of_lender(
        db=db, clock=clock, keys=keys, owner=caller, limit=limit, cursor=cursor, request_id=request_id_of(request)
    )


@router.post(
    "/{bankAccountId}/verify",
    operation_id="verifyBankAccount",
    response_model=BankAccount,
    summary="Confirm the two micro-deposit amounts, in any order",
    description=(
        "Right: the account becomes verified (posting again to a verified account answers it as it is). Wrong: 422 "
        "VERIFICATION_MISMATCH with attemptsLeft in its details; the third wrong pair fails the account. A failed account "
        "(three wrong pairs, 14 days unconfirmed, or a returned micro-deposit): 409 VERIFICATION_FAILED. Another user's "
        "account, a closed one or an unknown id: 404."
    ),
)
def verify_bank_account(
    bank_account_id: BankAccountId, body: VerificationAmounts, caller: VerifiedUser, db: Db, clock: ClockDep, request: Request
) -> BankAccount:
    return bank_accounts.verify_bank_account(
        db=db, clock=clock, owner=caller, bank_account_id=bank_account_id, amounts=list(body.amounts), request_id=request_id_of(request)
    )


@router.delete(
    "/{bankAccountId}",
    operation_id="deleteBankAccount",
    status_code=204,
    response_class=Response,
    summary="Close a bank account (it leaves the list; its unsent micro-deposits are cancelled)",
    description="409 BANK_ACCOUNT_IN_USE while a payment on it is in flight (scheduled or submitted) or an active loan uses it.",
)
def delete_bank_account(
    bank_account_id: BankAccountId, caller: VerifiedUser, db: Db, clock: ClockDep, in_use: AccountUsageDep, request: Request
) -> Response:
    bank_accounts.close_bank_account(
        db=db, clock=clock, owner=caller, bank_account_id=bank_account_id, in_use=in_use, request_id=request_id_of(request)
    )
    return Response(status_code=204)
