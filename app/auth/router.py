"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout, /auth/verify-email, /auth/resend-verification:
parse, call the service, answer."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.auth import service, verification_service
from app.auth.dependencies import CurrentUser, TokenUser
from app.auth.schemas import (
    AuthResponse,
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    RefreshRequest,
    RegisterRequest,
    TokenPair,
    VerificationSent,
    VerifyEmailRequest,
)
from app.dependencies import ClockDep, Db, SettingsDep
from app.errors import request_id_of
from app.routing import JsonRoute
from app.users.schemas import Profile

router = APIRouter(prefix="/auth", tags=["auth"], route_class=JsonRoute)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _no_store(response: Response) -> None:
    response.headers.update(NO_STORE)


@router.post(
    "/register",
    operation_id="register",
    status_code=status.HTTP_201_CREATED,
    response_model=AuthResponse,
    summary="Create an account and sign in",
    description="Emails are trimmed, NFKC-normalised and case-folded (ASCII only afterwards). "
    "An email with loan invitations starts with the lender role. The account starts unverified (emailVerified false): "
    "a link to verify the address is emailed ({APP_BASE_URL}/verify-email?token=...), valid 24 hours.",
)
def register(body: RegisterRequest, request: Request, response: Response, db: Db, settings: SettingsDep, clock: ClockDep) -> AuthResponse:
    _no_store(response)
    return service.register(db=db, settings=settings, clock=clock, data=body, request_id=request_id_of(request))


@router.post(
    "/login",
    operation_id="login",
    response_model=LoginResponse,
    summary="Sign in with email and password",
    description=(
        "Wrong password and unknown email both answer 401 INVALID_CREDENTIALS. After 5 failures for one email "
        "within 15 minutes that email is locked for 15 minutes (429 RATE_LIMITED with Retry-After). "
        "Grants the lender role when the email has loan invitations."
    ),
)
def login(body: LoginRequest, request: Request, response: Response, db: Db, settings: SettingsDep, clock: ClockDep) -> LoginResponse:
    _no_store(response)
    return service.login(db=db, settings=settings, clock=clock, data=body, request_id=request_id_of(request))


@router.post(
    "/refresh",
    operation_id="refreshTokens",
    response_model=TokenPair,
    summary="Exchange a refresh token for new tokens (rotation)",
    description="The presented refresh token is spent. Presenting a spent token again revokes its whole session.",
)
def refresh(body: RefreshRequest, request: Request, response: Response, db: Db, settings: SettingsDep, clock: ClockDep) -> TokenPair:
    _no_store(response)
    return service.refresh(db=db, settings=settings, clock=clock, refresh_token=body.refresh_token, request_id=request_id_of(request))


@router.post(
    "/logout",
    operation_id="logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Revoke the session of a refresh token",
    description=(
        "Revokes every refresh token of the given token's session. Answers 204 whatever the token "
        "(a token of another user is left untouched). Access tokens stay valid until they expire."
    ),
)
def logout(body: LogoutRequest, request: Request, caller: CurrentUser, db: Db, clock: ClockDep) -> Response:
    service.logout(db=db, clock=clock, caller=caller, refresh_token=body.refresh_token, request_id=request_id_of(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email",
    operation_id="verifyEmail",
    response_model=Profile,
    summary="Verify the caller's email with the token of the emailed link",
    description=(
        "Signed in as the account the link was sent to. The token is single use and lives 24 hours; only the latest "
        "link works (a resend replaces the previous one). A used, expired, replaced or another account's token all "
        "answer 422 INVALID_VERIFICATION_TOKEN; so does any token once the email is verified. Verification is permanent, "
        "and the tokens the caller already holds work for the gated operations at once."
    ),
)
def verify_email(body: VerifyEmailRequest, request: Request, caller: TokenUser, db: Db, settings: SettingsDep, clock: ClockDep) -> Profile:
    return verification_service.verify_email(
        db=db, settings=settings, clock=clock, caller=caller, token=body.token, request_id=request_id_of(request)
    )


@router.post(
    "/resend-verification",
    operation_id="resendVerification",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=VerificationSent,
    responses={
        202: {
            "description": "A new verification email is on its way; the previous link no longer works",
            "content": {"application/json": {"example": {"status": "sent"}}},
        }
    },
    summary="Email a new verification link (the previous link stops working)",
    description=(
        "Accepted: the email is sent shortly after the answer. At most 3 verification emails in any rolling hour, the "
        "registration's included: the 4th answers 429 RATE_LIMITED with Retry-After (seconds until the oldest of the 3 "
        "is an hour old). 409 EMAIL_ALREADY_VERIFIED once the email is verified."
    ),
)
def resend_verification(request: Request, caller: TokenUser, db: Db, settings: SettingsDep, clock: ClockDep) -> VerificationSent:
    verification_service.resend_verification(db=db, settings=settings, clock=clock, caller=caller, request_id=request_id_of(request))
    return VerificationSent(status="sent")
