"""Email rendering: a kind and its context become a one-line subject, a plain-text part and an HTML part.

Pure: no I/O beyond reading the Jinja2 templates beside this module (app/notifications/templates/, found from
this file's path, so a plain copy of app/ such as the Lambda zip carries them), no settings, no clock.
- Each kind declares its context keys and only those reach the templates: extra keys (a token, a bank detail
  handed over by mistake) are never seen, and a missing key raises instead of sending a half-empty email.
- The HTML part is autoescaped; context values are data, never template source. The subject is one line
  (control characters and line breaks collapsed: no header injection) of at most SUBJECT_MAX characters.
- Every user text (names, purpose, addresses) is cleaned by `user_text` before any template sees it, so subject
  and both parts get the same: invisible and bidi control characters (Unicode category Cf: zero-width
  space/joiner/non-joiner, U+FEFF, U+2060-U+2064, U+200E/F, U+061C, the embeddings, overrides and isolates
  U+202A-U+202E, U+2066-U+2069, ...) are removed, and in free text (not in a validated email address)
  URL-like text is defanged so no mail client turns it into a link: "http://" -> "hxxp://", "https://" ->
  "hxxps://", any other "scheme://" -> "scheme[:]//", and a dot before a name of 2+ letters -> "[.]"
  ("example.com" -> "example[.]com", "evil@phish.com" -> "evil@phish[.]com"). The only <a> of an email is its link.
- Money is Decimal only (`money` refuses float), rounded to cents half-even; dates and times are spelled out in UTC.
"""

from __future__ import annotations

import decimal
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jinja2 import Environment, Template

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECT_MAX = 150
CENT = Decimal("0.01")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ROLES = ("borrower", "lender")
# Control characters (C0, DEL, C1) and the bidirectional overrides that can make a name read backwards.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINK = re.compile(r"https?://[^\s\"'<>\\]+")
_SCHEME = re.compile(r"(?i)\b(?:(h)tt(ps?)|([a-z][a-z0-9+.-]*)):(//|\\\\)")
_DOMAIN_DOT = re.compile(r"(?<=[^\W_])[.\u3002\uff0e\uff61](?=[^\W\d_]{2})")  # also the ideographic/full-width dots
ADDRESS_KEYS = frozenset({"lender_email"})  # validated email addresses: cleaned, not defanged (they are no link text)
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class RenderedEmail:
    """One email ready to hand to a sender: a one-line subject, a plain-text part and an HTML part."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Kind:
    """One kind of email: the context keys its templates may use, its subject, whether the recipient can opt out."""

    keys: frozenset[str]
    subject: str  # Jinja source, rendered without autoescape: a header, not HTML
    optional: bool = True  # informational: Profile.emailNotifications can turn it off (the footer says so)


def _kind(keys: str, subject: str, *, optional: bool = True) -> Kind:
    return Kind(frozenset(keys.split()), subject, optional)


_LIFECYCLE = "first_name role amount purpose contribution link"
KINDS: dict[str, Kind] = {
    "verify_email": _kind("first_name link", "Confirm your email address", optional=False),
    "invitation": _kind(
        "borrower_name amount contribution purpose deadline link",
        "{{ borrower_name|clip(40) }} invited you to lend {{ contribution|money }}",
        optional=False,
    ),
    "invitation_accepted": _kind(
        "first_name lender_email contribution funded_amount amount purpose link",
        "{{ lender_email|clip(60) }} accepted: {{ funded_amount|money }} of {{ amount|money }} funded",
    ),
    "invitation_declined": _kind(
        "first_name lender_email contribution purpose link",
        "{{ lender_email|clip(60) }} declined your loan invitation",
    ),
    "loan_activated": _kind(
        _LIFECYCLE,
        "{% if role == 'borrower' %}Your loan of {{ amount|money }} is funded and active"
        "{% else %}A loan you joined is now active: you're lending {{ contribution|money }}{% endif %}",
    ),
    "loan_expired": _kind(
        _LIFECYCLE + " funded_amount",
        "{% if role == 'borrower' %}Your loan request expired before it was fully funded"
        "{% else %}A loan you accepted has expired: your {{ contribution|money }} isn't needed{% endif %}",
    ),
    "loan_cancelled": _kind(
        _LIFECYCLE,
        "{% if role == 'borrower' %}Your loan request of {{ amount|money }} is cancelled"
        "{% else %}A loan you accepted was cancelled: your {{ contribution|money }} isn't needed{% endif %}",
    ),
    "repayment_received": _kind(
        "first_name purpose principal interest total outstanding_principal link",
        "You received a repayment of {{ total|money }}",
    ),
    "payment_due_soon": _kind(
        "first_name purpose due_date amount_due link",
        "Reminder: your payment of {{ amount_due|money }} is due on {{ due_date|date }}",
    ),
    "payment_missed": _kind(
        "first_name purpose due_date amount_due link",
        "Your payment of {{ amount_due|money }} was due on {{ due_date|date }}",
    ),
}


def money(value: object) -> str:
    """Decimal -> "$1,234.50", rounded to cents half-even; anything else (float above all) is a TypeError."""
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"money must be finite, got {value}")
    with decimal.localcontext(prec=50, rounding=ROUND_HALF_EVEN):
        cents = value.quantize(CENT)
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


def day(value: object) -> str:
    """A date ("2026-11-24" or a date) -> "24 Nov 2026", spelled the same whatever the locale."""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"date must be an ISO date string or a date, got {type(value).__name__}")
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def timestamp(value: object) -> str:
    """An ISO timestamp with a zone ("2026-11-24T09:30:00Z") -> "24 Nov 2026, 09:30 UTC"."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp must be an ISO timestamp string or a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("timestamp has no time zone: refusing to guess")
    moment = value.astimezone(UTC)
    return f"{day(moment.date())}, {moment:%H:%M} UTC"


def oneline(value: object) -> str:
    """Text on one line: control characters, line breaks and runs of whitespace become single spaces."""
    return " ".join(_INVISIBLE.sub(" ", str(value)).split())


def _visible(char: str) -> bool:
    return unicodedata.category(char) != "Cf"


def _defanged_scheme(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}xx{match.group(2)}://"
    return f"{match.group(3)}[:]//"


def user_text(value: str, *, address: bool = False) -> str:
    """A user's text as it may reach an email: Cf characters (invisible, bidi controls) removed; unless `address`, links defanged."""
    text = "".join(filter(_visible, value))
    if address:
        return text
    return _DOMAIN_DOT.sub("[.]", _SCHEME.sub(_defanged_scheme, text))


def clip(value: object, limit: int) -> str:
    """One line of at most `limit` characters, ending in an ellipsis when cut."""
    line = oneline(value)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@cache
def _environment() -> Environment:
    """The Jinja2 environment, built on the first email rendered (not at import: the API never renders one)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(money=money, date=day, timestamp=timestamp, oneline=oneline, clip=clip)
    return env


@cache
def _subjects() -> dict[str, Template]:
    """Every kind's subject template, compiled together on first use (a bad one fails the first render, whatever its kind)."""
    env = _environment()
    return {name: env.from_string(kind.subject) for name, kind in KINDS.items()}


def _checked(name: str, kind: Kind, context: Mapping[str, object]) -> dict[str, object]:
    missing = sorted(kind.keys - context.keys())
    if missing:
        raise ValueError(f"{name} email is missing context keys: {', '.join(missing)}")
    values = {key: context[key] for key in kind.keys}
    for key, value in values.items():  # every user text, the same way (our own link excepted: checked below)
        if key != "link" and isinstance(value, str):
            values[key] = user_text(value, address=key in ADDRESS_KEYS)
    if "role" in values and values["role"] not in ROLES:
        raise ValueError(f"{name} email: role must be one of {ROLES}, got {values['role']!r}")
    link = values["link"]
    if not isinstance(link, str) or not _LINK.fullmatch(link):
        raise ValueError(f"{name} email: link must be an absolute http(s) URL without spaces or quotes")
    return values


def render(kind: str, context: Mapping[str, object]) -> RenderedEmail:
    """Render one email of `kind` from exactly its declared context keys (extra keys are never seen by a template)."""
    spec = KINDS.get(kind)
    if spec is None:
        raise ValueError(f"unknown email kind: {kind!r}")
    values = _checked(kind, spec, context)
    env = _environment()
    subject = clip(_subjects()[kind].render(values), SUBJECT_MAX)
    page = {**values, "subject": subject, "can_opt_out": spec.optional}
    text = _BLANK_LINES.sub("\n\n", env.get_template(f"{kind}.txt").render(page)).strip() + "\n"
    html = env.get_template(f"{kind}.html").render(page).strip() + "\n"
    return RenderedEmail(subject=subject, text=text, html=html)
