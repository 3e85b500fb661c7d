"""The on-call engineers' commands: the operator role is granted and taken back here, never by the API.

    python -m app.admin grant-operator EMAIL    the account of EMAIL gets the operator role (the /ops routes);
                                                exit 0, also when it already had it (then nothing is written)
    python -m app.admin revoke-operator EMAIL   the account of EMAIL loses it; exit 0, also when it had none

EMAIL is looked up as registration stores it (trimmed, NFKC, case-folded). No account with it: exit 1,
nothing written. Each change is one transaction with its audit event in the user's partition
(`operator_granted` / `operator_revoked`, actorId `cli:<login of whoever ran it>`; no email is sent).
One line of outcome on stdout (an error on stderr).

Same settings as the API and the worker (app.config.get_settings(), the same environment: TABLE_NAME,
DYNAMODB_ENDPOINT_URL, AWS_REGION, ...) and the same table handle (app.resources.make_db).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence

from app.clock import SystemClock, uuid7
from app.config import get_settings
from app.resources import make_db
from app.users import service as users_service


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.admin", description="Grant or revoke the operator role (the /ops routes).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (("grant-operator", "give EMAIL's account the operator role"), ("revoke-operator", "take it back")):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("email", metavar="EMAIL", help="the account's email, as registered")
    return parser.parse_args(argv)


def actor() -> str:
    """Who ran the command, for the audit event: the login of this process's user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name in the environment nor in the password database
        return "cli:unknown"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = get_settings()
    db, clock = make_db(settings), SystemClock()
    grant = args.command == "grant-operator"
    change = users_service.grant_operator if grant else users_service.revoke_operator
    try:
        outcome = change(db=db, clock=clock, email=args.email, actor_id=actor(), request_id=f"admin-{uuid7()}")
    except users_service.UnknownAccount:
        sys.stderr.write(f"no account has the email {args.email.strip()!r}: nothing changed\n")
        return 1
    who = f"{outcome.email} (user {outcome.user_id})"
    if grant:
        line = f"granted the operator role to {who}" if outcome.changed else f"{who} is already an operator: nothing changed"
    else:
        line = f"revoked the operator role of {who}" if outcome.changed else f"{who} is not an operator: nothing changed"
    sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
