"""ABA routing numbers: the Federal Reserve's routing symbol and the checksum every bank's number satisfies."""

from __future__ import annotations

ABA_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)
# The Federal Reserve's routing symbol: 01-12 (Federal Reserve banks), 21-32 (thrifts), 61-72 (electronic), 80 (travellers'
# cheques). 00 (the US government) and every other prefix is refused. The same rule as a pattern for the JSON schema.
ROUTING_PREFIXES = frozenset({*range(1, 13), *range(21, 33), *range(61, 73), 80})
ROUTING_PATTERN = r"^(0[1-9]|1[0-2]|2[1-9]|3[0-2]|6[1-9]|7[0-2]|80)[0-9]{7}$"


def valid_routing_number(value: str) -> str:
    """A Federal Reserve prefix (ROUTING_PREFIXES), and the ABA checksum: 3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9) % 10 == 0."""
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        raise ValueError("routing number must be exactly 9 digits")
    if int(value[:2]) not in ROUTING_PREFIXES:
        raise ValueError("routing number prefix must be 01-12, 21-32, 61-72 or 80")
    if sum(weight * int(digit) for weight, digit in zip(ABA_WEIGHTS, value, strict=True)) % 10 != 0:
        raise ValueError("routing number fails the ABA checksum")
    return value
