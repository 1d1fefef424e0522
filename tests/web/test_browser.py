"""The pages in a real browser: Playwright driving Debian's chromium against a live server."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from bastion.packages import services as packages
from bastion.packages.models import Release
from bastion.tokens.models import Token
from tests.conftest import PASSWORD
from tests.web.browser import browser_page, log_in, needs_chromium
from tests.web.conftest import add_release

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


@pytest.fixture
def owner_with_project(make_user: Callable[..., Any]) -> Any:
    owner = make_user("olivia")
    with transaction.atomic():
        project = packages.create_project("browser-demo", owner)
        readme = "<h1>browser-demo</h1><p>A project for the browser test.</p>"
        add_release(project, "0.9", owner, description_html=readme)
        add_release(project, "1.0", owner, description_html=readme)
    return owner


def test_publisher_and_owner_journey(live_server: Any, owner_with_project: Any) -> None:
    from playwright.sync_api import expect

    base = live_server.url
    with browser_page() as (page, problems):
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if "/static/" in r.url and r.status != 200
                else None
            ),
        )

        # Log in with the code the owner's authenticator app shows now; Django sends us to
        # the account page.
        log_in(page, base, "olivia", PASSWORD, owner_with_project.totp_seed)
        expect(page).to_have_url(f"{base}/account/")
        expect(page.get_by_role("heading", name="Your projects")).to_be_visible()

        # Create a token scoped to the project; it is shown once.
        page.get_by_label("Name").fill("ci for browser-demo")
        page.get_by_label("Scope").select_option("browser-demo")
        page.get_by_label("Expires after (days)").fill("7")
        page.get_by_role("button", name="Create token").click()
        expect(page.get_by_text("This is the only time the token is shown")).to_be_visible()
        raw = page.locator("#new-token").inner_text().strip()
        assert re.fullmatch(r"bastion-\S{20,}", raw), raw
        copy = page.locator("[data-copy-target=new-token]")
        copy.click()  # site.js runs under the CSP: the label changes
        expect(copy).not_to_have_text("Copy")

        page.get_by_role("link", name="Back to your account").click()
        expect(page.get_by_role("cell", name="ci for browser-demo", exact=True)).to_be_visible()
        assert raw not in page.content()

        # The project page gives the install command for this server.
        page.goto(f"{base}/project/browser-demo/")
        install = page.locator("#install-command").inner_text().strip()
        assert install == f"pip install --index-url {base}/simple/ browser-demo==1.0"
        stylesheet = page.evaluate(
            "getComputedStyle(document.querySelector('.site-header')).borderBottomStyle"
        )
        assert stylesheet == "solid"  # site.css was loaded

        # Yank 1.0 as its owner and see it marked.
        page.get_by_role("link", name="Manage project").click()
        expect(page).to_have_url(f"{base}/manage/project/browser-demo/")
        page.get_by_label("Reason for yanking 1.0").fill("Broken build, use 0.9")
        page.get_by_label("Reason for yanking 1.0").press("Enter")
        expect(page.get_by_text("Release 1.0 was yanked.")).to_be_visible()

        page.goto(f"{base}/project/browser-demo/1.0/")
        notice = page.locator(".notice-yanked")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("Broken build, use 0.9")
        expect(page.locator("ol.history li.yanked")).to_contain_text("1.0")
        expect(page.locator(".readme-body")).to_contain_text("A project for the browser test.")

    assert problems == []
    release = Release.objects.get(project__normalized_name="browser-demo", version="1.0")
    assert release.yanked
    assert release.yanked_reason == "Broken build, use 0.9"
    token = Token.objects.get(name="ci for browser-demo")
    assert token.projects == ["browser-demo"]
