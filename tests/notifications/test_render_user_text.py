"""user_text, the one cleaning of every user text on its way into an email: invisible/bidi characters removed, links defanged."""

from __future__ import annotations

import sys
import unicodedata
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from app.notifications.render import render, user_text

LINK = "https://app.example.com/invitations/01JDX7K2M3N5P6Q8R0S2T5V8W1"
NAMED = [
    "\u200b", "\u200c", "\u200d", "\ufeff", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f", "\u061c",
]  # fmt: skip
EVERY_CF = [chr(code) for code in range(sys.maxunicode + 1) if unicodedata.category(chr(code)) == "Cf"]


def invitation(**overrides: object) -> dict[str, object]:
    context: dict[str, object] = {
        "borrower_name": "Ana Silva",
        "amount": Decimal("500.00"),
        "contribution": Decimal("100.00"),
        "purpose": "A new roof",
        "deadline": "2026-12-08T09:30:00Z",
        "link": LINK,
    }
    return context | overrides


@pytest.mark.parametrize("char", NAMED, ids=lambda char: f"U+{ord(char):04X}")
def test_each_invisible_or_bidi_character_is_stripped_from_subject_and_body(char: str) -> None:
    email = render("invitation", invitation(borrower_name=f"A{char}na Sil{char}va", purpose=f"ro{char}of"))
    assert email.subject == "Ana Silva invited you to lend $100.00"
    for part in (email.subject, email.text, email.html):
        assert char not in part
    assert "Ana Silva" in email.text and "Ana Silva" in email.html and '"roof"' in email.text


def test_every_format_character_is_stripped() -> None:
    text = "a" + "".join(EVERY_CF) + "b"
    assert user_text(text) == "ab"
    assert user_text(text, address=True) == "ab"


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("see http://evil.example/pay", "see hxxp://evil[.]example/pay"),
        ("HTTPS://Bank.Example", "HxxPS://Bank[.]Example"),
        ("ftp://files.example", "ftp[:]//files[.]example"),
        ("javascript://x", "javascript[:]//x"),
        ("www.paypal.com", "www[.]paypal[.]com"),
        ("write to help@evil.example", "write to help@evil[.]example"),
        ("ideographic example\u3002com", "ideographic example[.]com"),
        ("e.g. 2.5 months, U.S. plan", "e.g. 2.5 months, U.S. plan"),  # prose keeps its dots
        ("A new roof", "A new roof"),
    ],
)
def test_url_like_text_is_defanged(given: str, shown: str) -> None:
    assert user_text(given) == shown


def test_an_address_is_cleaned_but_not_defanged() -> None:
    assert user_text("bo\u200b@example.com", address=True) == "bo@example.com"


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href")


def test_a_purpose_holding_links_is_shown_as_text_never_as_a_link() -> None:
    purpose = 'Pay at https://evil.example/x <a href="https://evil.example">here</a> evil.example'
    email = render("invitation", invitation(purpose=purpose))
    anchors = _Anchors()
    anchors.feed(email.html)
    assert anchors.hrefs == [LINK, LINK]  # the button and the copyable link: our own, nothing from the purpose
    assert "hxxps://evil[.]example/x" in email.text and "hxxps://evil[.]example/x" in email.html
    assert "evil.example" not in email.text + email.html + email.subject
