"""Wire contract of the user: the Profile every endpoint shows, and the profile update."""

from __future__ import annotations

from pydantic import Field, field_validator

from app.schemas import CamelModel, PersonName, Phone, Role, StrictInput


class Profile(CamelModel):
    """A user as every endpoint shows them: never a password hash, token or bank detail."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    roles: list[Role] = Field(description="Sorted; always contains borrower")
    created_at: str


class ProfileUpdate(StrictInput):
    """Only these fields are writable; any other field (email, roles, ...) is a 422 naming it."""

    first_name: PersonName | None = None
    last_name: PersonName | None = None
    phone: Phone | None = Field(default=None, description="E.164, e.g. +14155550123; null removes it")

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _names_cannot_be_removed(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null; send a name or leave the field out")
        return value
