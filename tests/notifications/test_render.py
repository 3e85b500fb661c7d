"""Rendering emails: every kind shows its figures and its link, hostile text stays text, secrets never leak, money stays Decimal."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from decimal import Decimal as D
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.notifications.render import KINDS, SUBJECT_MAX, TEMPLATES, RenderedEmail, day, money, render, timestamp

LOAN = "https://app.example.com/loans/01JDX7K2M3N5P6Q8R0S2T5V8W1"
Case = tuple[str, str, dict[str, object], list[str]]  # (label, kind, context, the figures both parts must show)


def case(kind: str, figures: list[str], context: dict[str, object], label: str = "") -> Case:
    """One realistic email of `kind`, to Ana about her loan unless the context says otherwise."""
    return (label or kind, kind, {"link": LOAN, "first_name": "Ana", **context}, figures)


def lifecycle(kind: str, figures: list[str], extra: dict[str, object]) -> list[Case]:
    """The borrower's and a lender's version of a loan lifecycle email (a lender also sees their contribution)."""
    common = {"amount": D("5000.00"), "purpose": "A new roof", **extra}
    return [
        case(kind, figures, {**common, "role": "borrower", "contribution": None}, f"{kind}-borrower"),
        case(kind, [*figures, "$1,250.50"], {**common, "role": "lender", "contribution": D("1250.50")}, f"{kind}-lender"),
    ]


ROOF = {"purpose": "A new roof", "contribution": D("1250.50"), "lender_email": "bo@example.com"}
DUE = {"purpose": "A new roof", "due_date": "2026-11-24", "amount_due": D("88.85")}
REPAID = {"principal": D("47.31"), "interest": D("6.00"), "total": D("53.31"), "outstanding_principal": D("552.69")}
INVITE = {"borrower_name": "Ana Silva", "amount": D("5000.00"), "contribution": D("1250.50"), "deadline": "2026-12-08T09:30:00Z"}
CASES: list[Case] = [
    case("verify_email", [], {"link": "https://app.example.com/verify-email?token=Zk3_q-Tx"}),
    (
        "invitation",
        "invitation",
        {**INVITE, "purpose": "A new roof before winter", "link": "https://app.example.com/invitations/01JDX7K2M3N5P6Q8R0S2T5V8W1"},
        ["$5,000.00", "$1,250.50", "8 Dec 2026, 09:30 UTC", "Ana Silva", "A new roof before winter"],
    ),
    case(
        "invitation_accepted",
        ["bo@example.com", "$1,250.50", "$3,000.00 of $5,000.00", "$2,000.00"],
        {**ROOF, "funded_amount": D("3000"), "amount": D("5000")},
    ),
    case("invitation_declined", ["bo@example.com", "$1,250.50", "A new roof"], ROOF),
    *lifecycle("loan_activated", ["$5,000.00"], {}),
    *lifecycle("loan_expired", ["$5,000.00", "$3,000.00"], {"funded_amount": D("3000.00")}),
    *lifecycle("loan_cancelled", ["$5,000.00"], {}),
    case("repayment_received", ["$47.31", "$6.00", "$53.31", "$552.69"], {**REPAID, "first_name": "Bo", "purpose": "A new roof"}),
    case("payment_due_soon", ["$88.85", "24 Nov 2026"], DUE),
    case("payment_missed", ["$88.85", "24 Nov 2026"], DUE),
]
IDS = [label for label, *_ in CASES]
FREE_TEXT = ("first_name", "borrower_name", "lender_email", "purpose")
HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=1>',
    "{{ 7*7 }}{% if true %}x{% endif %}",
    "Ana\r\nBcc: x@evil.example\r\n\r\n<b>hi</b>",
    "Zoë 李小龍 🚀\u202e\u2028" * 300,
]
SECRETS = {
    "account_number": "000123456789",
    "routing_number": "011000015",
    "password": "correct horse battery staple",
    "token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3ItMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ",
    "refresh_token": "rt_8dJq2LmZpX0vNc7YbWk3sTg",
}
SAFE_TAGS = {"html", "head", "meta", "title", "body", "table", "tr", "td", "p", "a", "strong", "br"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.hrefs: set[str | None] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        self.hrefs.update(value for name, value in attrs if name == "href")


def parsed(html: str) -> _Tags:
    tags = _Tags()
    tags.feed(html)
    return tags


def assert_one_line_subject(email: RenderedEmail) -> None:
    assert email.subject == email.subject.strip()
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", email.subject)
    assert 0 < len(email.subject) <= SUBJECT_MAX


def test_the_cases_cover_every_kind_with_its_exact_keys_and_every_kind_has_both_parts() -> None:
    assert {kind for _, kind, *_ in CASES} == set(KINDS)
    assert all(set(context) == KINDS[kind].keys for _, kind, context, _ in CASES)
    expected = {"base.txt", "base.html", "_macros.html"} | {f"{kind}.{part}" for kind in KINDS for part in ("txt", "html")}
    assert {path.name for path in TEMPLATES.iterdir()} == expected


@pytest.mark.parametrize(("label", "kind", "context", "figures"), CASES, ids=IDS)
def test_every_kind_shows_its_figures_and_link_in_both_parts(label: str, kind: str, context: dict[str, object], figures: list[str]) -> None:
    email = render(kind, context)
    assert_one_line_subject(email)
    for figure in figures:
        assert figure in email.text
        assert figure in email.html
    assert str(context["link"]) in email.text
    tags = parsed(email.html)
    assert tags.hrefs == {context["link"]}
    assert tags.tags <= SAFE_TAGS
    assert "{{" not in email.text + email.html and "{%" not in email.text + email.html


def test_the_last_acceptance_and_the_last_repayment_say_so() -> None:
    accepted = next(context for label, _, context, _ in CASES if label == "invitation_accepted")
    assert "fully funded" in render("invitation_accepted", {**accepted, "funded_amount": D("5000.00")}).text
    repaid = next(context for label, _, context, _ in CASES if label == "repayment_received")
    assert "paid you back in full" in render("repayment_received", {**repaid, "outstanding_principal": D("0.00")}).html


def test_subjects_read_like_the_product() -> None:
    subjects = {label: render(kind, context).subject for label, kind, context, _ in CASES}
    assert subjects["invitation"] == "Ana Silva invited you to lend $1,250.50"
    assert subjects["loan_activated-borrower"] == "Your loan of $5,000.00 is funded and active"
    assert subjects["payment_due_soon"] == "Reminder: your payment of $88.85 is due on 24 Nov 2026"
    long_name = render("invitation", {**CASES[1][2], "borrower_name": "Maximiliana " * 40}).subject
    assert long_name.endswith("… invited you to lend $1,250.50") and len(long_name) < 80


@pytest.mark.parametrize("payload", HOSTILE, ids=["script", "attribute-breakout", "template-syntax", "crlf-bcc", "long-unicode"])
@pytest.mark.parametrize(("label", "kind", "context", "figures"), CASES, ids=IDS)
def test_hostile_text_is_escaped_never_evaluated_and_the_subject_stays_one_line(
    label: str, kind: str, context: dict[str, object], figures: list[str], payload: str
) -> None:
    email = render(kind, {**context, **{key: payload for key in FREE_TEXT if key in context}})
    assert_one_line_subject(email)
    tags = parsed(email.html)
    assert tags.tags <= SAFE_TAGS
    assert not {name for name in tags.attributes if name.startswith("on")}
    assert "<script" not in email.html.lower() and "<img" not in email.html.lower()
    assert "49" not in email.subject + email.text + email.html
    assert "\r" not in email.text + email.html
    assert "\nBcc:" not in email.text


@pytest.mark.parametrize(("label", "kind", "context", "figures"), CASES, ids=IDS)
def test_sensitive_extra_context_never_appears(label: str, kind: str, context: dict[str, object], figures: list[str]) -> None:
    email = render(kind, {**context, **SECRETS, "ach": dict(SECRETS), "context": dict(SECRETS)})
    for secret in SECRETS.values():
        assert secret not in email.subject + email.text + email.html


@pytest.mark.parametrize(("label", "kind", "context", "figures"), CASES, ids=IDS)
def test_a_missing_key_raises(label: str, kind: str, context: dict[str, object], figures: list[str]) -> None:
    for key in KINDS[kind].keys:
        with pytest.raises(ValueError, match=key):
            render(kind, {name: value for name, value in context.items() if name != key})


@pytest.mark.parametrize(
    ("kind", "change", "error"),
    [
        ("no_such_kind", {}, ValueError),
        ("loan_activated", {"role": "admin"}, ValueError),
        ("loan_activated", {"role": "lender", "contribution": None}, TypeError),
        ("loan_activated", {"amount": 5000.0}, TypeError),
        ("loan_activated", {"amount": "5000.00"}, TypeError),
        ("loan_activated", {"link": "javascript:alert(1)"}, ValueError),
        ("loan_activated", {"link": 'https://app.example.com/"><script>'}, ValueError),
        ("payment_missed", {"due_date": "24/11/2026"}, ValueError),
        ("invitation", {"deadline": "2026-12-08T09:30:00"}, ValueError),
    ],
)
def test_bad_calls_are_refused(kind: str, change: dict[str, object], error: type[Exception]) -> None:
    context = {**next(context for _, name, context, _ in CASES if name == kind), **change} if kind in KINDS else {}
    with pytest.raises(error):
        render(kind, context)


@pytest.mark.parametrize(
    ("value", "error"), [(1.5, TypeError), (1, TypeError), (None, TypeError), ("1.50", TypeError), (D("NaN"), ValueError)]
)
def test_money_refuses_float_and_anything_but_a_finite_decimal(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        money(value)


def test_money_rounds_half_even_and_groups_thousands() -> None:
    examples = {
        "1234.5": "$1,234.50",
        "0.005": "$0.00",
        "0.015": "$0.02",
        "2.675": "$2.68",
        "1000000": "$1,000,000.00",
        "-12.30": "-$12.30",
    }
    assert {value: money(D(value)) for value in examples} == examples


def test_dates_and_timestamps_are_spelled_out_in_utc() -> None:
    assert day("2026-11-24") == "24 Nov 2026"
    assert day("2027-01-05") == "5 Jan 2027"
    assert timestamp("2026-11-24T09:30:00Z") == "24 Nov 2026, 09:30 UTC"
    assert timestamp("2026-11-24T23:30:00-05:00") == "25 Nov 2026, 04:30 UTC"
    with pytest.raises(ValueError):
        timestamp("2026-11-24T09:30:00")


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=D("0.01"), max_value=D("10000000.00"), places=2))
def test_money_parses_back_to_the_same_amount(amount: D) -> None:
    shown = money(amount)
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d{2}", shown)
    assert D(shown.removeprefix("$").replace(",", "")) == amount


def test_templates_are_found_from_a_plain_copy_of_app(tmp_path: Path) -> None:
    # Given app/ copied as plain files (what the Lambda zip holds), outside the repository
    shutil.copytree(TEMPLATES.parents[1], tmp_path / "app", ignore=shutil.ignore_patterns("__pycache__"))
    script = "from app.notifications.render import render; print(render('verify_email', {'first_name': 'A', 'link': 'https://x.example/v'}).subject)"
    # When a fresh interpreter renders from that copy
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False, env={"PYTHONPATH": str(tmp_path)}
    )
    # Then it finds the templates beside the module
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Confirm your email address"
