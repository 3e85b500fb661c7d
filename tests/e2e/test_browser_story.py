"""The API from a real browser on another origin: the story, the headers JS must read, and CORS refusals.

Headless Chromium (Debian's, driven by Playwright for Python; scripts/setup.sh installs it with apt as
root) loads tests/e2e/static/story.html from http://localhost:<port>, an origin in CORS_ORIGINS; its
script runs the story with fetch against the real app under uvicorn (on this module's DynamoDB Local
table) and writes every step's outcome into <pre id=result>. The same page served from a second
origin that is not allowed must see its requests rejected. One browser for the module.

Email verification is required (the default): the page reads each new user's verification link from
its own origin's /inbox (tests/e2e/servers.py: the link the verification email carries, derived from the
user's verification_requested event as the notifications code derives it) and posts its token to
/auth/verify-email, as the SPA's /verify-email page does.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from tests.conftest import make_settings
from tests.e2e.servers import LiveApp, StaticSite
from tests.factories import verification_link_of

playwright_sync = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is missing: pip install -r requirements-dev.txt")

WAIT_MS = 30_000
SERVER_SIDE = "(server side: see app/main.py CORSMiddleware and app/middleware.py)"


def find_chromium() -> str | None:
    """CHROMIUM_PATH, else Debian's /usr/bin/chromium, else another Chromium-based browser on PATH."""
    named = os.environ.get("CHROMIUM_PATH")
    if named:
        return named if Path(named).is_file() else None
    candidates = [
        "/usr/bin/chromium",
        *(shutil.which(name) for name in ("chromium", "google-chrome", "google-chrome-stable", "chromium-browser")),
    ]
    return next((path for path in candidates if path and Path(path).is_file() and os.access(path, os.X_OK)), None)


def _no_browser_reason() -> str:
    if os.environ.get("CHROMIUM_PATH"):
        return f"CHROMIUM_PATH={os.environ['CHROMIUM_PATH']} is not a file"
    if os.geteuid() != 0:
        return (
            "no Chromium found, and scripts/setup.sh installs it only as root: "
            "`sudo apt-get install chromium` (or set CHROMIUM_PATH to a Chromium-based browser)"
        )
    return "no Chromium found: run ./scripts/test.sh (scripts/setup.sh installs Debian's chromium with apt) or set CHROMIUM_PATH"


@dataclass
class Servers:
    api: LiveApp
    allowed: StaticSite
    disallowed: StaticSite


@pytest.fixture(scope="module")
def servers(endpoint_url: str, table_name: str) -> Iterator[Servers]:
    apps: list[Any] = []  # the inbox reads the app's table; the app needs the site's origin first
    with StaticSite(inbox=lambda email: verification_link_of(apps[0], email)) as allowed, StaticSite() as disallowed:
        apps.append(create_app(make_settings(endpoint_url, table_name, cors_origins=allowed.origin, debug_db_metrics=False)))
        with LiveApp(apps[0]) as api:
            yield Servers(api=api, allowed=allowed, disallowed=disallowed)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):  # CI must run this test, never skip it quietly
            pytest.fail(_no_browser_reason())
        pytest.skip(_no_browser_reason())
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, timeout=WAIT_MS)
        try:
            yield launched
        finally:
            launched.close()


def run_page(browser: Any, site: StaticSite, api: LiveApp, mode: str) -> dict[str, Any]:
    """Load story.html from `site`, let it run against `api`, and return what it wrote into #result."""
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    try:
        page.goto(f"{site.origin}/story.html?api={api.url}&mode={mode}", timeout=WAIT_MS)
        try:
            page.wait_for_function("window.storyDone === true", timeout=WAIT_MS)
        except playwright_sync.TimeoutError:
            pytest.fail(f"the page did not finish within {WAIT_MS / 1000:.0f}s: {page.inner_text('#result')}\n" + "\n".join(console))
        results: dict[str, Any] = json.loads(page.inner_text("#result"))
    finally:
        context.close()
    results["console"] = console
    return results


@pytest.fixture(scope="module")
def story(browser: Any, servers: Servers) -> dict[str, Any]:
    return run_page(browser, servers.allowed, servers.api, "story")


@pytest.fixture(scope="module")
def blocked(browser: Any, servers: Servers) -> dict[str, Any]:
    return run_page(browser, servers.disallowed, servers.api, "blocked")


def outcome(results: dict[str, Any], name: str) -> dict[str, Any]:
    assert "fatal" not in results, results
    step: dict[str, Any] = results["steps"].get(name) or {}
    assert step, f"the page recorded no step {name!r}: {json.dumps(results, indent=1)}"
    return step


def succeeded(results: dict[str, Any], name: str) -> dict[str, Any]:
    step = outcome(results, name)
    assert step["ok"], f"step {name} failed in the browser: {step['error']}\n" + "\n".join(results["console"])
    return step


@pytest.mark.parametrize(
    "name",
    [
        "registerBorrower",
        "registerLender",
        "createLoanUnverified",
        "verifyBorrower",
        "verifyLender",
        "createLoan",
        "pending",
        "accept",
        "readLoan",
        "dashboard",
        "schedule",
    ],
)
def test_each_step_of_the_story_succeeds_from_the_browser(story: dict[str, Any], name: str) -> None:
    succeeded(story, name)


def test_the_loan_is_active_after_the_lender_accepts(story: dict[str, Any]) -> None:
    assert succeeded(story, "createLoan")["loanStatus"] == "pending"
    assert succeeded(story, "accept")["loanStatus"] == "active"
    loan = succeeded(story, "readLoan")
    assert loan["loanStatus"] == "active"
    assert loan["fundedAmount"] == 1000
    assert "borrower" in succeeded(story, "dashboard")["roles"]
    assert succeeded(story, "schedule")["installments"] == 12


def test_an_unverified_user_is_told_so_and_verifies_from_the_browser(story: dict[str, Any]) -> None:
    gated = succeeded(story, "createLoanUnverified")
    assert (gated["status"], gated["code"]) == (403, "EMAIL_NOT_VERIFIED")
    for name in ("verifyBorrower", "verifyLender"):
        verified = succeeded(story, name)
        assert verified["status"] == 200 and verified["emailVerified"] is True


def test_x_request_id_is_readable_from_javascript(story: dict[str, Any]) -> None:
    echoed = succeeded(story, "registerBorrower")
    assert echoed["requestId"] == echoed["sentRequestId"], "the caller's X-Request-ID is sent back and readable"
    generated = succeeded(story, "registerLender")["requestId"]
    assert generated and len(generated) == 36, f"X-Request-ID is not readable from JS (got {generated!r}) {SERVER_SIDE}"


def test_idempotent_replayed_is_readable_on_the_replayed_create(story: dict[str, Any]) -> None:
    first = succeeded(story, "createLoan")
    replay = succeeded(story, "createLoanReplay")
    assert replay["loanId"] == first["loanId"], "the retry with the same Idempotency-Key created a second loan"
    assert first["replayed"] is None
    assert replay["replayed"] == "true", (
        f"Idempotent-Replayed is not readable from JS on the replayed POST /loans (got {replay['replayed']!r}): "
        f"it must be listed in Access-Control-Expose-Headers {SERVER_SIDE}"
    )


def test_retry_after_is_readable_on_a_429(story: dict[str, Any]) -> None:
    throttled = succeeded(story, "loginThrottled")
    assert throttled["statuses"] == [401, 401, 401, 401, 401, 429]
    assert throttled["code"] == "RATE_LIMITED"
    assert throttled["retryAfter"] is not None, f"Retry-After is not readable from JS on the 429 {SERVER_SIDE}"
    assert 0 < int(throttled["retryAfter"]) <= 15 * 60


def test_a_413_error_envelope_is_readable_from_javascript(story: dict[str, Any]) -> None:
    too_large = outcome(story, "payloadTooLarge")
    assert too_large["ok"], (
        f"fetch of a 70 KiB body did not give JS a readable answer ({too_large.get('error')}): the 413 must carry "
        f"the CORS headers {SERVER_SIDE}"
    )
    assert too_large["bytes"] > 64 * 1024
    assert too_large["status"] == 413
    assert too_large["code"] == "PAYLOAD_TOO_LARGE"
    assert too_large["requestId"]


def test_a_422_error_envelope_is_readable_from_javascript(story: dict[str, Any]) -> None:
    invalid = succeeded(story, "validationError")
    assert invalid["status"] == 422
    assert invalid["code"] == "VALIDATION_ERROR"
    assert {"email", "password"} <= set(invalid["fields"])
    assert invalid["requestId"]


@pytest.mark.parametrize("name", ["simpleGet", "preflightedPost"])
def test_a_page_from_a_disallowed_origin_is_blocked(blocked: dict[str, Any], name: str) -> None:
    attempt = outcome(blocked, name)
    assert not attempt["ok"], f"a page from {blocked['origin']} (not in CORS_ORIGINS) read the answer: {attempt}"
    assert attempt["error"].startswith("TypeError: "), attempt
    assert any("blocked by CORS policy" in line for line in blocked["console"]), blocked["console"]
