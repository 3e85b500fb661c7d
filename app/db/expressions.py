"""Expressions with their placeholders, transaction operations, and whole items <-> attribute maps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.db.attributes import deserialize, serialize

Item = dict[str, Any]
Key = Mapping[str, str]
Operation = dict[str, Any]


@dataclass
class Expression:
    """A condition/update/filter expression with its placeholders."""

    text: str
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


NEW_ITEM = Expression("attribute_not_exists(PK)")
EXISTING_ITEM = Expression("attribute_exists(PK)")


def serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: serialize(value) for name, value in item.items()}


def deserialize_item(item: Mapping[str, Any]) -> Item:
    return {name: deserialize(value) for name, value in item.items()}


def with_expressions(params: dict[str, Any], **expressions: Expression | None) -> dict[str, Any]:
    """Add each expression's text under its parameter name, and every placeholder once."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for param, expression in expressions.items():
        if expression is None:
            continue
        params[param] = expression.text
        names.update(expression.names)
        values.update(expression.values)
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = serialize_item(values)
    return params


def tx_put(item: Item, condition: Expression | None = None) -> Operation:
    return {"Put": {"Item": item, "_condition": condition}}


def tx_update(key: Key, update: Expression, condition: Expression | None = None) -> Operation:
    return {"Update": {"Key": dict(key), "_update": update, "_condition": condition}}


def tx_delete(key: Key, condition: Expression | None = None) -> Operation:
    return {"Delete": {"Key": dict(key), "_condition": condition}}


def tx_check(key: Key, condition: Expression) -> Operation:
    return {"ConditionCheck": {"Key": dict(key), "_condition": condition}}


def transaction_item(table_name: str, operation: Operation) -> dict[str, Any]:
    """One TransactItems entry for `operation`; a failed condition returns the item as it was."""
    ((kind, spec),) = operation.items()
    params: dict[str, Any] = {"TableName": table_name}
    if "Item" in spec:
        params["Item"] = serialize_item(spec["Item"])
    if "Key" in spec:
        params["Key"] = serialize_item(spec["Key"])
    with_expressions(params, UpdateExpression=spec.get("_update"), ConditionExpression=spec.get("_condition"))
    if spec.get("_condition") is not None:
        params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {kind: params}


def witness_of(request: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The serialized Put of the first item `request` (TransactItems) creates only if absent: its presence proves the commit."""
    for entry in request:
        put = entry.get("Put")
        if put is not None and "attribute_not_exists" in put.get("ConditionExpression", ""):
            return dict(put)
    return None
