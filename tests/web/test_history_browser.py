"""The security histories in a real browser: sentences, who acted, and the command line."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest

from bastion.cli import main
from tests.conftest import PASSWORD
from tests.web.browser import browser_page, log_in, needs_chromium
from tests.web.test_browser import owner_with_project  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


def _operator(*args: str) -> None:
    """An operator's command on the server, as ``bastion ...`` runs it."""
    old, sys.stdin = sys.stdin, io.StringIO("")
    try:
        assert main(list(args)) == 0
    finally:
        sys.stdin = old


def test_histories_read_as_sentences(
    live_server: Any,
    owner_with_project: Any,  # noqa: F811 - the fixture, imported
    capsys: Any,
) -> None:
    from playwright.sync_api import expect

    _operator("token", "create", "olivia", "--token-name", "made-by-ops")
    _operator("yank", "browser-demo", "0.9", "--reason", "superseded")
    capsys.readouterr()
    base = live_server.url
    with browser_page() as (page, _problems):
        log_in(page, base, "olivia", PASSWORD, owner_with_project.totp_seed)
        expect(page).to_have_url(f"{base}/account/")

        history = page.locator("table.history-table")
        signed_in = history.locator("tr", has_text="Signed in with an authenticator app code")
        expect(signed_in).to_contain_text("olivia")
        expect(signed_in).to_contain_text("127.0.0.1")
        by_ops = history.locator("tr", has_text="Created API token \u201cmade-by-ops\u201d")
        expect(by_ops).to_contain_text("command line (operator)")
        expect(history.get_by_text("Created the project browser-demo")).to_be_visible()
        expect(history.locator("td[title='account:token:create']").first).to_be_visible()
        assert "account:token:create" not in history.inner_text()

        page.goto(f"{base}/manage/project/browser-demo/")
        project = page.locator("table.project-history")
        yank = project.locator("tr", has_text="Yanked browser-demo 0.9: superseded")
        expect(yank).to_contain_text("operator")
        expect(yank).to_contain_text("command line (operator)")
        expect(project.get_by_text("Uploaded browser_demo-1.0-py3-none-any.whl")).to_be_visible()
        assert "project:" not in project.inner_text()
