"""The auth wire contract: register/login/refresh/logout bodies and the token responses (with the user's Profile)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas import CamelModel, EmailAddress, LoginEmail, PersonName, Phone, StrictInput, TrimmedText
from app.users.schemas import Profile

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


Email = EmailAddress
NewPassword = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        description="12..128 characters, used exactly as sent (no trimming, no truncation)",
    ),
]
# Login accepts any length up to 128 so accounts from the old service with shorter passwords can sign in.
LoginPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH, description="As registered")]
OpaqueToken = Annotated[str, Field(min_length=1, max_length=512, description="The refreshToken last issued")]
# Used exactly as sent (not trimmed); 1..512 characters without control characters.
VerificationToken = Annotated[
    str,
    TrimmedText(min_length=1, max_length=512),
    Field(
        description="The `token` query parameter of the link in the verification email",
        examples=["Zq3v0mX9a1bQ2cR4dS5eT6fU7gV8hW9iX0jY1kZ2l3M"],
    ),
]


class RegisterRequest(StrictInput):
    email: Email
    password: NewPassword
    first_name: PersonName
    last_name: PersonName
    phone: Phone | None = None


class LoginRequest(StrictInput):
    email: LoginEmail
    password: LoginPassword


class RefreshRequest(StrictInput):
    refresh_token: OpaqueToken


class LogoutRequest(StrictInput):
    refresh_token: OpaqueToken


class TokenPair(CamelModel):
    access_token: str
    refresh_token: str = Field(description="Opaque, single use: each refresh returns a new one")
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds until the access token expires")


class AuthResponse(TokenPair):
    user: Profile


class LoginResponse(AuthResponse):
    pending_invitations: int = Field(description="Invitations still 'invited' on pending loans")


class VerifyEmailRequest(StrictInput):
    token: VerificationToken


class VerificationSent(CamelModel):
    """The answer to a resend: a new link is on its way (delivered by the outbox worker, not before answering)."""

    status: Literal["sent"] = Field(description="Always `sent`: a new email with a new link was requested", examples=["sent"])
