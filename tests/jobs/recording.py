"""Every DynamoDB request a client makes (operation and parameters) and every Query's response, via botocore hooks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from app.db.keys import loan_id_from
from app.db.table import PARTITION_KEY

# A transaction's operations are authorized one by one as these item actions (see test_terraform_parity.py).
ITEM_ACTION = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.query_responses: list[dict[str, Any]] = []

    def _on_params(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests.append((model.name, copy.deepcopy(params)))  # returns None: the parameters are left as they are

    def _on_query(self, parsed: dict[str, Any], **_: Any) -> None:
        self.query_responses.append(parsed)

    @contextmanager
    def recording(self, client: Any) -> Iterator[Recorder]:
        events = client.meta.events
        events.register("provide-client-params.dynamodb", self._on_params)
        events.register("after-call.dynamodb.Query", self._on_query)
        try:
            yield self
        finally:
            events.unregister("provide-client-params.dynamodb", self._on_params)
            events.unregister("after-call.dynamodb.Query", self._on_query)

    def transaction_operations(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, spec) of every operation of every TransactWriteItems."""
        transactions = [params["TransactItems"] for name, params in self.requests if name == "TransactWriteItems"]
        return [(kind, spec) for operations in transactions for operation in operations for kind, spec in operation.items()]

    def loans_written(self) -> set[str]:
        """The loan ids whose partition any transaction wrote."""
        written = set()
        for _, spec in self.transaction_operations():
            key = spec.get("Key") or spec["Item"]
            written.add(loan_id_from(key[PARTITION_KEY]["S"]))
        return written

    def actions(self, table_arn: str) -> set[tuple[str, str]]:
        """(IAM action, resource) of every request: a Query on its index, each transaction operation on the table."""
        found = set()
        for name, params in self.requests:
            if name == "TransactWriteItems":
                continue
            resource = f"{table_arn}/index/{params['IndexName']}" if params.get("IndexName") else table_arn
            found.add((f"dynamodb:{name}", resource))
        found |= {(f"dynamodb:{ITEM_ACTION[kind]}", table_arn) for kind, _ in self.transaction_operations()}
        return found
