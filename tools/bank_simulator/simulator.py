#!/usr/bin/env python3
"""A bank simulator for people: the ODFI and the receiving banks behind the local SFTP server (tools/sftp), in dev only.

    python tools/bank_simulator/simulator.py --root .local/sftp [--port 1090] [--interval 2]
        [--late-seconds 120] [--state .local/bank]

Every --interval seconds it collects the new *.ach files of <root>/outbound/ (dot-files, i.e. uploads
still under their temporary name, are left alone). A file that is not valid NACHA is moved to
outbound/rejected/; a valid one to outbound/collected/, and each of its entries is posted to the
simulated receiving account (routing + account number) in the ledger under --state (JSON; survives
restarts; a file name is never handled twice). Test account numbers (any routing number):

  1111111111  every debit is returned R01 (insufficient funds); credits post
  3333333333  every entry is returned R03 (no account / unable to locate account)
  1010101010  every debit posts, then is returned R10 (not authorised) --late-seconds later
  0505050505  the entry posts, and a C01 notification of change says the account number is 0505050506
  any other   the entry posts

Returns and NOCs are written to <root>/inbound/ as RET-<YYYYMMDD>-<HHMMSS>-<n>.ach (one file per step
with returns and NOCs in separate batches), under a dot name first and then renamed. The page on
http://127.0.0.1:<port>/ (JSON: /accounts.json) shows every account and its entries, the micro-deposits
(ACCTVERIFY credits of 0.01..0.99) to type into POST /bank-accounts/{id}/verify among them. One line per
event on stdout; SIGTERM or SIGINT stops it (exit 0). Standard library and achkit only: it shares no
code with app/, as a real bank would not.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import bank_web
from bank_processing import process_once

__all__ = ["main", "process_once"]


def say(line: str) -> None:
    print(line, flush=True)  # noqa: T201 - the tool's output is its event lines


def parse(argv: list[str]) -> argparse.Namespace:
    summary, _, rest = (__doc__ or "").partition("\n\n")
    description = summary + "\n\n" + rest.partition("\n\n")[2]  # the usage lines are argparse's own
    parser = argparse.ArgumentParser(prog="simulator.py", description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--root", type=Path, required=True, help="the SFTP server's root: outbound/ and inbound/ under it (dev.sh: .local/sftp)"
    )
    parser.add_argument("--port", type=int, default=1090, help="the web page's port on 127.0.0.1 (default 1090; 0: any free port)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between two looks at outbound/ (default 2)")
    parser.add_argument("--late-seconds", type=float, default=120.0, help="delay of the late R10 returns of 1010101010 (default 120)")
    parser.add_argument("--state", type=Path, default=Path(".local/bank"), help="folder of the ledger, ledger.json (default .local/bank)")
    args = parser.parse_args(argv)
    if args.interval <= 0 or args.late_seconds < 0:
        parser.error("--interval must be positive and --late-seconds not negative")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    stop = threading.Event()

    def stop_soon(signum: int, frame: FrameType | None) -> None:
        stop.set()  # the step under way finishes first

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_soon)
    window = bank_web.start(args.state, args.port)
    port = window.server_address[1]
    say(f"bank simulator: watching {args.root / 'outbound'} every {args.interval:g} s; accounts at http://127.0.0.1:{port}/")
    try:
        while not stop.is_set():
            try:
                for line in process_once(args.root, args.state, datetime.now(UTC), late_seconds=args.late_seconds):
                    say(line)
            except OSError as exc:  # a folder gone or unwritable: said, and tried again next time
                say(f"step failed: {exc}")
            stop.wait(args.interval)
    finally:
        window.shutdown()
        window.server_close()
    say("bank simulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
