"""Walk the servicing story against a running API and print what each lender received.

    .venv/bin/python scripts/servicing_story.py --base-url http://127.0.0.1:8000 --mail-url http://127.0.0.1:1080

Registers a borrower and three lenders and verifies each email by the link the worker sent (read from
MailDev's API, as scripts/dev.sh runs it; --mail-url "" skips this, for a server with
EMAIL_VERIFICATION=off), creates a 1,000.00 loan at 12% over 12 months funded
600/250/150, accepts it (activated), reads the schedule, records three repayments (one installment,
one with a prepayment, then the payoff amount) and prints every figure, with the DynamoDB requests of
each call when the server runs with DEBUG_DB_METRICS=true; then the borrower's and a lender's CSV
statements and their dashboards.
"""

from __future__ import annotations

import argparse
import json
import re
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"  # noqa: S105 - a throwaway demo account


def call(client: httpx.Client, method: str, url: str, token: str | None = None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    content = None if body is None else json.dumps(body, default=str).replace('"__', "").replace('__"', "")
    if content is not None:
        headers["Content-Type"] = "application/json"
    response = client.request(method, url, content=content, headers=headers)
    requests = response.headers.get("x-db-requests", "?")
    print(f"{method:5} {url:45} -> {response.status_code}  (DynamoDB requests: {requests})")
    if response.status_code >= 400:
        raise SystemExit(response.text)
    return json.loads(response.text, parse_float=Decimal) if response.text else None


def verify_by_link(client: httpx.Client, mail_url: str, email: str, token: str) -> None:
    """Open the verification link the worker emailed to `email` (MailDev's REST API lists every email it caught)."""
    deadline = time.monotonic() + 20  # the worker reads the stream every second
    while time.monotonic() < deadline:
        caught = httpx.get(f"{mail_url}/email", timeout=5).json()
        for message in reversed(caught):
            if any(to.get("address") == email for to in message.get("to", [])):
                found = re.search(r"verify-email\?token=([\w-]+)", message.get("text") or "")
                if found:
                    call(client, "POST", "/auth/verify-email", token, {"token": found.group(1)})
                    return
        time.sleep(0.5)
    raise SystemExit(f"no verification email for {email} at {mail_url} (is the worker running?)")


def money(value: str) -> str:
    return f"__{value}__"  # written as a bare JSON number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--mail-url", default="http://127.0.0.1:1080", help='MailDev\'s web address ("" to skip verifying)')
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    with httpx.Client(base_url=args.base_url, timeout=30) as client:
        people = {}
        for name in ("bea", "lou", "max", "ned"):
            body = {"email": f"{name}-{tag}@example.com", "password": PASSWORD, "firstName": name.title(), "lastName": "Story"}
            people[name] = call(client, "POST", "/auth/register", body=body)
        token = {name: person["accessToken"] for name, person in people.items()}
        if args.mail_url:
            for name, person in people.items():
                verify_by_link(client, args.mail_url.rstrip("/"), person["user"]["email"], token[name])
        ids = {person["user"]["userId"]: name for name, person in people.items()}
        shares = {"lou": "600", "max": "250", "ned": "150"}
        loan = call(
            client,
            "POST",
            "/loans",
            token["bea"],
            {
                "amount": money("1000"),
                "purpose": "Bakery oven",
                "termMonths": 12,
                "interestRate": money("12"),
                "lenders": [{"email": people[name]["user"]["email"], "amount": money(share)} for name, share in shares.items()],
            },
        )
        loan_id = loan["loanId"]
        ach = {"accountHolderName": "Lender", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking"}
        for name in shares:
            accepted = call(client, "PUT", f"/lender/accept/{loan_id}", token[name], {"achDetails": ach})
        print(f"\nloan {loan_id}: {accepted['loanStatus']}")
        schedule = call(client, "GET", f"/loans/{loan_id}/schedule", token["bea"])
        print(f"installment {schedule['installmentAmount']}, total interest {schedule['totalInterest']}, total {schedule['totalPayable']}")
        for item in schedule["installments"]:
            parts = f"{item['amount']:>7}  = {item['principal']:>6} + {item['interest']:>5}"
            print(f"  #{item['number']:>2} {item['dueDate']}  {parts}  balance {item['balanceAfter']}")
        payoff = call(client, "GET", f"/loans/{loan_id}/payoff", token["bea"])
        print(f"payoff today: {payoff['principal']} + {payoff['interest']} = {payoff['amount']}\n")
        for amount in ("88.85", "300.00", None):
            if amount is None:
                amount = str(call(client, "GET", f"/loans/{loan_id}/payoff", token["bea"])["amount"])
            repayment = call(client, "POST", f"/loans/{loan_id}/repayments", token["bea"], {"amount": money(amount)})
            print(
                f"repaid {repayment['amount']}: interest {repayment['interest']}, principal {repayment['principal']}, "
                f"outstanding {repayment['outstandingPrincipalAfter']}, loan {repayment['loanStatus']}"
            )
            for share in repayment["distributions"]:
                print(f"    {ids[share['lenderId']]}: interest {share['interest']:>5}  principal {share['principal']:>7}")
        for name in ("bea", "lou"):
            response = client.get(f"/loans/{loan_id}/statement?format=csv", headers={"Authorization": f"Bearer {token[name]}"})
            print(f"\n{name}'s statement ({response.headers.get('content-disposition')}):\n{response.text.strip()}")
        for name in ("bea", "lou"):
            board = call(client, "GET", "/user/dashboard", token[name])
            print(f"{name}'s dashboard: {json.dumps(board, default=str)}")
        view = call(client, "GET", f"/loans/{loan_id}", token["bea"])
        call(client, "GET", f"/loans/{loan_id}/repayments", token["lou"])
        print(f"\nloan {view['status']} at {view['repaidAt']}; each lender received:")
        for entry in view["lenders"]:
            print(
                f"  {ids[entry['lenderId']]}: contributed {entry['amount']}, principal back {entry['principalRepaid']}, "
                f"interest {entry['interestPaid']}, outstanding {entry['outstandingPrincipal']}"
            )


if __name__ == "__main__":
    main()
