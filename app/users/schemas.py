"""Wire contract of the user: the Profile every endpoint shows, and the profile update."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, WithJsonSchema, field_validator

from app.schemas import CONTROL_CHARACTERS, NOT_BLANK, CamelModel, PersonName, Phone, Role, StrictInput, Timestamp


class Profile(CamelModel):
    """A user as every endpoint shows them: never a password hash, token or bank detail."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    roles: list[Role] = Field(description="Sorted; always contains borrower")
    created_at: Timestamp
    email_verified: bool = Field(
        description="true once the user opened the link sent to their email (POST /auth/verify-email); "
        "until then, while verification is required, creating loans and seeing or answering invitations answer 403"
    )
    email_notifications: bool = Field(
        description="false turns off reminders and informational emails (never the verification email or invitations)"
    )


_NAME_SCHEMA = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": NOT_BLANK, "not": {"pattern": CONTROL_CHARACTERS}}


class ProfileUpdate(StrictInput):
    """Only these fields are writable; any other field (email, roles, ...) is a 422 naming it."""

    # null is refused (a name cannot be removed), so the schema publishes a plain string (PersonName's rules)
    first_name: Annotated[PersonName | None, WithJsonSchema({**_NAME_SCHEMA, "examples": ["Ada"]})] = None
    last_name: Annotated[PersonName | None, WithJsonSchema({**_NAME_SCHEMA, "examples": ["Lovelace"]})] = None
    phone: Phone | None = Field(default=None, description="E.164, e.g. +14155550123; null removes it")
    email_notifications: Annotated[
        StrictBool | None,
        WithJsonSchema({"type": "boolean", "description": "false turns off reminders and informational emails", "examples": [False]}),
    ] = None

    @field_validator("first_name", "last_name", "email_notifications", mode="before")
    @classmethod
    def _names_cannot_be_removed(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; send a value or leave the field out")
        return value
