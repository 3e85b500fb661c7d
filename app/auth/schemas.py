"""The auth wire contract: register/login/refresh/logout bodies and the token responses (with the user's Profile)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas import CamelModel, EmailAddress, LoginEmail, PersonName, Phone, StrictInput
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
