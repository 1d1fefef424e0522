"""Debian's chromium driven by Playwright, for the tests that look at pages as a person does."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: Every browser test's mark: skipped without chromium, unless ``make test`` installed it
#: (``BASTION_REQUIRE_BROWSER``), where a missing browser must fail, never skip.
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("BASTION_REQUIRE_BROWSER"),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
)


@contextlib.contextmanager
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """A chromium page, and the console errors it logged (the pages run under the CSP).
    Opened after the test's data is made: Playwright's loop makes the thread async, where
    Django refuses database calls."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda msg: problems.append(msg.text) if msg.type == "error" else None,
            )
            yield page, problems
        finally:
            browser.close()


def log_in(page: Any, base: str, username: str, password: str, totp_secret: str = "") -> None:
    """Sign in through the login form, with the authenticator app's code when ``totp_secret``
    is given; lands wherever the login sends the user (the test checks where)."""
    import pyotp

    page.goto(f"{base}/account/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    if totp_secret:
        page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name="Verify").click()
