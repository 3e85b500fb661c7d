"""The bank's window for people: what each simulated account received, on 127.0.0.1 only.

GET /               an HTML page: each account (routing, account number, holder, balance effect) with its
                    entries newest first (the micro-deposits to type into POST /bank-accounts/{id}/verify
                    are the ACCTVERIFY credits of 0.01..0.99), then the files received, rejected and sent
GET /accounts.json  the same as JSON (amounts as strings of dollars, times UTC)
The ledger is read from disk on every request (it is always replaced whole), so the page needs no lock.
"""

from __future__ import annotations

import json
import threading
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bank_ledger import Account, Posting, State, balance_cents, load, money

HOST = "127.0.0.1"


def _entries(account: Account) -> list[dict[str, Any]]:
    return [
        {
            "postedAt": posting["posted_at"],
            "file": posting["file"],
            "description": posting["description"],
            "direction": posting["direction"],
            "amount": money(posting["amount_cents"]),
            "traceNumber": posting["trace"],
            "individualId": posting["individual_id"],
            "company": posting["company_name"],
            "status": f"returned {posting['returned']}" if posting["returned"] else "posted",
            "returnedAt": posting["returned_at"],
            "change": posting["change"],
        }
        for posting in reversed(account["postings"])
    ]


def is_micro_deposit(posting: Posting) -> bool:
    """A verification credit: description ACCTVERIFY, 0.01 to 0.99."""
    return posting["description"] == "ACCTVERIFY" and posting["direction"] == "credit" and 0 < posting["amount_cents"] < 100


def view(state: State) -> dict[str, Any]:
    """The page's content: the accounts by routing and number, everything else newest first."""
    accounts = []
    for key in sorted(state["accounts"]):
        account = state["accounts"][key]
        entries = _entries(account)
        micro = [money(p["amount_cents"]) for p in reversed(account["postings"]) if is_micro_deposit(p) and p["returned"] is None]
        accounts.append(
            {
                "routing": account["routing"],
                "accountNumber": account["account"],
                "holderName": account["holder"],
                "balance": money(balance_cents(account)),
                "microDeposits": micro,
                "entries": entries,
            }
        )
    sent = [
        {
            "name": f["name"],
            "at": f["created_at"],
            "returns": sum(n["code"].startswith("R") for n in f["notices"]),
            "changes": sum(n["code"].startswith("C") for n in f["notices"]),
        }
        for f in reversed(state["sent"])
    ]
    late = [
        {"dueAt": late["due_at"], "originalTrace": late["notice"]["original_trace"], "code": late["notice"]["code"]}
        for late in state["late"]
    ]
    return {"accounts": accounts, "files": list(reversed(state["history"])), "returnsSent": sent, "lateReturnsPending": late}


def _table(headers: list[str], rows: list[list[str]]) -> str:
    if not rows:
        return "<p><i>none</i></p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def page(content: dict[str, Any]) -> str:
    """Plain HTML of `view`; every value escaped."""
    parts = ["<h1>Bank simulator</h1>", "<p>Test accounts, not real money. Refreshes every 5 seconds.</p>", "<h2>Accounts</h2>"]
    for account in content["accounts"]:
        parts.append(
            f"<h3>{escape(account['holderName'] or '(no name)')}: routing {escape(account['routing'])},"
            f" account {escape(account['accountNumber'])}, balance effect {escape(account['balance'])}</h3>"
        )
        if account["microDeposits"]:
            parts.append(f"<p class=micro>Micro-deposits (ACCTVERIFY credits): <b>{escape(', '.join(account['microDeposits']))}</b></p>")
        rows = [
            [
                e["postedAt"],
                e["file"],
                e["description"],
                e["direction"],
                e["amount"],
                e["traceNumber"],
                e["status"] + (f", NOC {e['change']}" if e["change"] else ""),
            ]
            for e in account["entries"]
        ]
        parts.append(_table(["posted", "file", "description", "credit/debit", "amount", "trace number", "status"], rows))
    if not content["accounts"]:
        parts.append("<p><i>no entry received yet</i></p>")
    parts.append("<h2>Late returns pending</h2>")
    parts.append(
        _table(["due", "original trace", "code"], [[p["dueAt"], p["originalTrace"], p["code"]] for p in content["lateReturnsPending"]])
    )
    parts.append("<h2>Files received (outbound/)</h2>")
    parts.append(
        _table(
            ["at", "file", "outcome", "entries", "reason"],
            [[f["at"], f["name"], f["outcome"], str(f["entries"]), f["reason"]] for f in content["files"]],
        )
    )
    parts.append("<h2>Return and NOC files sent (inbound/)</h2>")
    parts.append(
        _table(
            ["at", "file", "returns", "NOCs"], [[f["at"], f["name"], str(f["returns"]), str(f["changes"])] for f in content["returnsSent"]]
        )
    )
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:left}.micro{background:#ffd}"
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">'
        f"<title>Bank simulator</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    )


class BankWindow(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, state_dir: Path) -> None:
        super().__init__((HOST, port), _Handler)
        self.state_dir = state_dir


class _Handler(BaseHTTPRequestHandler):
    server: BankWindow

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in ("/", "/accounts.json"):
            self._answer(HTTPStatus.NOT_FOUND, "text/plain; charset=utf-8", b"not found\n")
            return
        content = view(load(self.server.state_dir))
        if path == "/":
            self._answer(HTTPStatus.OK, "text/html; charset=utf-8", page(content).encode("utf-8"))
        else:
            self._answer(HTTPStatus.OK, "application/json", json.dumps(content, indent=1).encode("utf-8"))

    def _answer(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: stdout is for the bank's events."""


def start(state_dir: Path, port: int) -> BankWindow:
    """Serve the page in a daemon thread on 127.0.0.1:`port` (0: any free port; see server_address)."""
    server = BankWindow(port, state_dir)
    threading.Thread(target=server.serve_forever, name="bank-web", daemon=True).start()
    return server
