"""WebAuthn in a real browser: Debian's chromium with a virtual authenticator (DevTools
protocol) registers a passkey, then uses it as the second step of a login and alone.

Browsers refuse IP addresses as relying-party ids, so the page is opened on ``localhost``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from bastion.accounts.models import WebAuthnCredential
from bastion.events.models import Event
from tests.conftest import PASSWORD
from tests.web.browser import browser_page, log_in, needs_chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


def test_register_a_passkey_then_log_in_with_it(
    live_server: Any, make_user: Callable[..., Any]
) -> None:
    from playwright.sync_api import expect

    walt = make_user("walt", two_factor=False)
    base = f"http://localhost:{urlsplit(live_server.url).port}"
    with browser_page() as (page, problems):
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        added = cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        authenticator = added["authenticatorId"]

        # Log in with the password (no second factor yet) and see the 2FA notice.
        log_in(page, base, "walt", PASSWORD)
        expect(page).to_have_url(f"{base}/account/")
        expect(page.get_by_text("This index requires two-factor authentication")).to_be_visible()

        # The TOTP page draws its QR code inline, within the CSP (no console errors).
        page.goto(f"{base}/account/two-factor/totp/")
        expect(page.locator("svg.qr-code")).to_be_visible()
        expect(page.locator("#totp-secret")).to_have_text(re.compile(r"^[A-Z2-7 ]{39}$"))
        page.get_by_role("link", name="Cancel").click()
        page.goto(f"{base}/account/")

        # Register a passkey on the two-factor page.
        page.get_by_role("link", name="Manage two-factor authentication").click()
        page.get_by_role("link", name="Add a security key or passkey").click()
        page.get_by_label("Name of the key").fill("laptop passkey")
        page.get_by_role("button", name="Register security key").click()
        # The first factor comes with recovery codes, shown once.
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        expect(page.get_by_text("Your security key is registered.")).to_be_visible()
        expect(page.locator("#recovery-codes li")).to_have_count(8)
        page.get_by_role("link", name="I have saved my recovery codes").click()
        row = page.get_by_role("row", name="laptop passkey")
        expect(row).to_contain_text("passkey")
        stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        assert len(stored["credentials"]) == 1
        assert stored["credentials"][0]["isResidentCredential"] is True

        # Log out, log in with the password and the key.
        page.get_by_role("button", name="Log out").click()
        log_in(page, base, "walt", PASSWORD)
        expect(page).to_have_url(f"{base}/account/login/2fa/")
        page.get_by_role("button", name="Use your security key").click()
        expect(page).to_have_url(f"{base}/account/")
        expect(page.get_by_text("Security keys and passkeys: 1")).to_be_visible()

        # Log out, sign in with the passkey alone.
        page.get_by_role("button", name="Log out").click()
        page.goto(f"{base}/account/login/?next=/account/two-factor/")
        page.get_by_role("button", name="Sign in with a passkey").click()
        expect(page).to_have_url(f"{base}/account/two-factor/")
        expect(page.get_by_role("row", name="laptop passkey")).to_be_visible()

    assert problems == []
    credential = WebAuthnCredential.objects.get(user=walt)
    assert credential.label == "laptop passkey"
    assert credential.discoverable
    assert credential.last_used is not None
    assert credential.sign_count >= 1
    logins = list(
        Event.objects.filter(tag="account:login", actor_id=walt.pk)
        .order_by("id")
        .values_list("additional", flat=True)
    )
    assert logins == [{"method": "password"}, {"method": "webauthn"}, {"method": "passkey"}]
    assert Event.objects.filter(tag="account:2fa:webauthn:add", subject_id=walt.pk).exists()
