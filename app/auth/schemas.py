"""The auth wire contract: register/login/refresh/logout bodies, Profile and the token responses."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, EmailStr, Field, StringConstraints

from app.schemas import CamelModel, StrictInput

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
E164_PATTERN = r"^\+[1-9]\d{1,14}$"


def normalise_email(value: object) -> object:
    """Trimmed and lower-cased: the one spelling an email has in the table."""
    return value.strip().lower() if isinstance(value, str) else value


def _lower(value: str) -> str:
    return value.lower()  # EmailStr may re-case the domain; keep the whole address lower-case


Email = Annotated[
    EmailStr,
    BeforeValidator(normalise_email),
    AfterValidator(_lower),
    Field(max_length=254, description="Trimmed and lower-cased before use", examples=["ada@example.com"]),
]
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
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[str, Field(pattern=E164_PATTERN, description="E.164, e.g. +14155550123")]
OpaqueToken = Annotated[str, Field(min_length=1, max_length=512, description="The refreshToken last issued")]
Role = Literal["borrower", "lender"]


class RegisterRequest(StrictInput):
    email: Email
    password: NewPassword
    first_name: PersonName
    last_name: PersonName
    phone: Phone | None = None


class LoginRequest(StrictInput):
    email: Email
    password: LoginPassword


class RefreshRequest(StrictInput):
    refresh_token: OpaqueToken


class LogoutRequest(StrictInput):
    refresh_token: OpaqueToken


class Profile(CamelModel):
    """A user as every endpoint shows them: never a password hash, token or bank detail."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    roles: list[Role] = Field(description="Sorted; always contains borrower")
    created_at: str


class TokenPair(CamelModel):
    access_token: str
    refresh_token: str = Field(description="Opaque, single use: each refresh returns a new one")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires")


class AuthResponse(TokenPair):
    user: Profile


class LoginResponse(AuthResponse):
    pending_invitations: int = Field(description="Invitations still 'invited' on pending loans")
