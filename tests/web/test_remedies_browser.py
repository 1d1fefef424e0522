"""In a real browser (Debian's chromium through Playwright): a new user without two-factor
authentication is shown the way to it where the token form would be, follows it and gets the
form; an administrator created with the real ``bastion user create --admin --with-totp`` is
asked, after signing in, to make the recovery codes they never had."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import PASSWORD
from tests.e2e.conftest import PUBLISHER_PASSWORD, serving
from tests.web.browser import browser_page, log_in, needs_chromium

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


@pytest.mark.django_db(transaction=True)
def test_a_user_without_two_factor_is_shown_the_way_to_a_token(
    live_server: Any, make_user: Callable[..., Any]
) -> None:

    make_user("nina", two_factor=False)
    base = live_server.url
    with browser_page() as (page, problems):
        _follow_the_way_to_a_token(page, base)
    assert problems == []


def _follow_the_way_to_a_token(page: Any, base: str) -> None:
    from playwright.sync_api import expect

    log_in(page, base, "nina", PASSWORD)
    expect(page).to_have_url(f"{base}/account/")

    # Where the token form would be: why not, and the way there.
    refused = page.locator("#token-refused")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("need a second factor on this index")
    expect(page.get_by_role("button", name="Create token")).to_have_count(0)
    refused.get_by_role("link", name="Set up two-factor authentication").click()
    expect(page).to_have_url(f"{base}/account/two-factor/")

    # Follow it: an authenticator app, then the recovery codes, then the form is there.
    page.get_by_role("link", name="Set up an authenticator app").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code shown by your app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify and enable").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(8)
    page.goto(f"{base}/account/")
    expect(page.locator("#token-refused")).to_have_count(0)
    page.get_by_label("Name").fill("first token")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_text("This is the only time the token is shown")).to_be_visible()
    assert re.fullmatch(r"bastion-\S{20,}", page.locator("#new-token").inner_text().strip())


def test_an_admin_created_on_the_command_line_is_asked_for_recovery_codes(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    data = tmp_path / "data"
    data.mkdir()
    with serving(data) as index, browser_page() as (page, problems):
        created = index.bastion(
            "user",
            "create",
            "root",
            "--email",
            "root@example.com",
            "--admin",
            "--password-stdin",
            "--with-totp",
            "--json",
            stdin=PUBLISHER_PASSWORD + "\n",
        )
        secret = pyotp.parse_uri(json.loads(created.stdout)["totp_uri"]).secret

        log_in(page, index.url, "root", PUBLISHER_PASSWORD, secret)

        # Signed in, where the login was going, and asked for the codes (not locked out).
        expect(page).to_have_url(f"{index.url}/account/")
        expect(page.locator(".messages")).to_contain_text("Your account has no recovery codes")
        notice = page.locator("#recovery-codes-notice")
        expect(notice).to_be_visible()
        expect(page.get_by_role("button", name="Create token")).to_be_visible()

        notice.get_by_role("button", name="Generate recovery codes").click()
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        expect(page.locator("#recovery-codes li")).to_have_count(8)
        page.get_by_role("link", name="I have saved my recovery codes").click()
        expect(page.get_by_text("8 unused recovery codes left")).to_be_visible()
        page.goto(f"{index.url}/account/")
        expect(page.locator("#recovery-codes-notice")).to_have_count(0)
    assert problems == []
