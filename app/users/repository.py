"""Reads behind /user: the user's GSI1 partition (their item + the loans they borrow) and their invitations."""

from __future__ import annotations

from dataclasses import dataclass

from app.db.dynamo import Dynamo, Expression, Item
from app.db.keys import invitation_sort_key, user_key, user_partition
from app.db.table import GSI1_NAME, SORT_KEY


@dataclass
class UserWithLoans:
    user: Item | None
    loans: list[Item]


def user_with_loans(db: Dynamo, *, user_id: str) -> UserWithLoans:
    """One Query on GSI1 partition USER#<id>: the user item and every loan they borrow."""
    condition = Expression("#sk = :partition", names={"#sk": SORT_KEY}, values={":partition": user_partition(user_id)})
    items = db.query_all(condition, index=GSI1_NAME)
    user = next((item for item in items if item.get("entity") == "user"), None)
    loans = [item for item in items if item.get("entity") == "loan"]
    return UserWithLoans(user=user, loans=loans)


def invitations_of(db: Dynamo, *, email: str) -> list[Item]:
    """One Query on GSI1 partition INVITE#<email>: every invitation sent to this email."""
    condition = Expression("#sk = :invite", names={"#sk": SORT_KEY}, values={":invite": invitation_sort_key(email)})
    return db.query_all(condition, index=GSI1_NAME)


def get_user(db: Dynamo, *, user_id: str) -> Item | None:
    return db.get(user_key(user_id))


def update_user(db: Dynamo, *, user_id: str, changes: dict[str, object], removals: list[str], updated_at: str) -> Item:
    """Set/remove profile attributes of an existing user and return the item afterwards."""
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
    return db.update(
        user_key(user_id),
        Expression(expression, names=names, values=values),
        condition=Expression("attribute_exists(PK)"),
    )
