"""How long one password hash and one verify take with our CryptContext (a benchmark, not a test).

    .venv/bin/python scripts/bench_passwords.py [--runs 20]

Prints the median and p90 of: one argon2id hash (m=19456 KiB, t=2, p=1), one argon2id verify,
one bcrypt `$2a$10$` verify (a legacy bcryptjs hash), and a whole legacy login's password work
(bcrypt verify + argon2id rehash, as `verify_password` does it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.auth import passwords
from app.auth.passwords import _context as context  # our CryptContext, exactly as login uses it

PASSWORD = "correct horse battery staple"  # noqa: S105 - a benchmark input


def timings(action: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per call, after one warm-up call."""
    action()
    result = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        result.append((time.perf_counter() - started) * 1000)
    return result


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs

    argon2_hash = passwords.hash_password(PASSWORD)
    legacy = "$2a$" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=10)).decode()[4:]
    if not (context.verify(PASSWORD, argon2_hash) and context.verify(PASSWORD, legacy)):
        raise SystemExit("the hashes do not verify: nothing worth timing")
    cases: dict[str, Callable[[], object]] = {
        "argon2id hash": lambda: passwords.hash_password(PASSWORD),
        "argon2id verify": lambda: context.verify(PASSWORD, argon2_hash),
        "bcrypt $2a$10$ verify": lambda: context.verify(PASSWORD, legacy),
        "legacy login (verify+rehash)": lambda: passwords.verify_password(PASSWORD, legacy),
    }
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {runs} runs each")
    print(f"argon2id parameters: {argon2_hash.split('$')[3]}")
    print(f"{'operation':<30} {'median ms':>10} {'p90 ms':>10}")
    for name, action in cases.items():
        values = timings(action, runs)
        print(f"{name:<30} {statistics.median(values):>10.1f} {p90(values):>10.1f}")


if __name__ == "__main__":
    main()
