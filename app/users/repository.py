"""The user item (USER#<id>): its one reader and writer. Other domains reach it through app/users/service.py.

read      GetItem USER#<id>
register  a Put of the new item, committed inside auth's registration transaction
profile   UpdateItem (conditional on the item existing)
lender    an ADD roles operation, committed inside login's or an acceptance's transaction
exists    a ConditionCheck (attribute_exists), committed inside every other write a user makes
"""

from __future__ import annotations

from dataclasses import dataclass

from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed
from app.db.expressions import EXISTING_ITEM, NEW_ITEM, Expression, Item, Operation, tx_check, tx_put, tx_update
from app.db.keys import user_key
from app.errors import Unauthenticated

BORROWER = "borrower"
LENDER = "lender"
ACCOUNT_GONE = "The account no longer exists"


@dataclass(frozen=True)
class UserRecord:
    """The user item (never carries the password hash: that lives on auth's email claim)."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str | None
    roles: frozenset[str]
    created_at: str
    updated_at: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def roles_of(item: Item) -> frozenset[str]:
    """The user's roles; an item without any (never written so) reads as a borrower."""
    return frozenset(item.get("roles") or {BORROWER})


def user_from_item(item: Item) -> UserRecord:
    return UserRecord(
        user_id=item["userId"],
        email=item["email"],
        first_name=item.get("firstName", ""),
        last_name=item.get("lastName", ""),
        phone=item.get("phone"),
        roles=roles_of(item),
        created_at=item["createdAt"],
        updated_at=str(item.get("updatedAt") or item["createdAt"]),
    )


def get_user(db: Dynamo, user_id: str) -> UserRecord | None:
    item = db.get(user_key(user_id))
    return user_from_item(item) if item else None


def new_user(user: UserRecord) -> Operation:
    """The Put of a new user item (fails if the id exists)."""
    item: Item = {
        **user_key(user.user_id),
        "entity": "user",
        "userId": user.user_id,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "roles": set(user.roles),
        "createdAt": user.created_at,
        "updatedAt": user.updated_at,
    }
    if user.phone is not None:
        item["phone"] = user.phone
    return tx_put(item, NEW_ITEM)


def account_exists(user_id: str) -> Operation:
    """A ConditionCheck that the user item exists: a write by a token that outlived its account fails with it."""
    return tx_check(user_key(user_id), EXISTING_ITEM)


def lender_grant(user_id: str, at: str) -> Operation:
    """ADD the lender role to an existing user (a set: granting twice changes nothing)."""
    return tx_update(
        user_key(user_id),
        Expression(
            "ADD #roles :lender SET updatedAt = :now",
            names={"#roles": "roles"},  # a DynamoDB reserved word
            values={":lender": {LENDER}, ":now": at},
        ),
        EXISTING_ITEM,
    )


def update_user(db: Dynamo, *, user_id: str, changes: dict[str, object], removals: list[str], updated_at: str) -> UserRecord:
    """Set/remove profile attributes of an existing user and return it afterwards (401 if it is gone)."""
    names: dict[str, str] = {"#updatedAt": "updatedAt"}
    values: dict[str, object] = {":updatedAt": updated_at}
    assignments = ["#updatedAt = :updatedAt"]
    for index, (attribute, value) in enumerate(sorted(changes.items())):
        names[f"#a{index}"] = attribute
        values[f":v{index}"] = value
        assignments.append(f"#a{index} = :v{index}")
    expression = "SET " + ", ".join(assignments)
    if removals:
        for index, attribute in enumerate(removals):
            names[f"#r{index}"] = attribute
        expression += " REMOVE " + ", ".join(f"#r{index}" for index in range(len(removals)))
    try:
        item = db.update(user_key(user_id), Expression(expression, names=names, values=values), condition=EXISTING_ITEM)
    except ConditionFailed as exc:
        raise Unauthenticated(ACCOUNT_GONE) from exc
    return user_from_item(item)
