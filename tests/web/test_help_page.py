"""The help page that refusals point at: served by the index at ``/help/`` from ``docs/help.md``,
with an id for every anchor a message links to, and links written under the public URL."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

import bastion
from bastion import helppage
from bastion.authz.routes import ROUTES, Open
from bastion.web.help import views as help_views
from tests import builders
from tests.conftest import basic

SRC = Path(bastion.__file__).parent
DOCS_HELP = SRC.parents[1] / "docs" / "help.md"
#: How the sources name an anchor of the help page: in a message (``{HELP}#name``), as a link
#: object (``HelpLink("name")``), in a template (``{% url 'help' %}#name``) or as a path.
ANCHOR_RES = (
    re.compile(r"\{HELP\}#([A-Za-z0-9_-]+)"),
    re.compile(r"HelpLink\(\"([A-Za-z0-9_-]+)\"\)"),
    re.compile(r"\{% url 'help' %\}#([A-Za-z0-9_-]+)"),
    re.compile(r"/help/#([A-Za-z0-9_-]+)"),
)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def ids_of(html: str) -> set[str]:
    parser = _Ids()
    parser.feed(html)
    return parser.ids


def anchors_in_sources() -> dict[str, list[str]]:
    """Every help anchor the code and templates link to -> where."""
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in (".py", ".html") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in ANCHOR_RES:
            for match in pattern.finditer(text):
                found.setdefault(match.group(1), []).append(str(path.relative_to(SRC)))
    return found


@pytest.mark.django_db
def test_every_anchor_a_message_links_to_is_on_the_served_page(client: Client) -> None:
    anchors = anchors_in_sources()
    # The collection itself works: the refusals of the upload and of authz are among them.
    assert {"file-name-reuse", "invalid-auth", "apitoken", "two-factor-authentication"} <= set(
        anchors
    )
    assert "archives" in anchors and "verified-email" in anchors
    response = client.get("/help/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    missing = {a: where for a, where in anchors.items() if a not in ids_of(response.text)}
    assert not missing, f"anchors linked to but not on /help/: {missing}"


@pytest.mark.django_db
def test_the_page_is_the_rendered_docs_file(client: Client) -> None:
    body = client.get("/help/").text
    source = DOCS_HELP.read_text(encoding="utf-8")
    assert "<h1>Help</h1>" in body
    # Each section of docs/help.md is a heading of the page, its Markdown rendered.
    headings = re.findall(r'^## <a id="([^"]+)"></a>(.+)$', source, re.M)
    assert len(headings) >= 10
    text = html.unescape(re.sub(r"<[^>]+>", "", body))
    for anchor, title in headings:
        assert f'<a id="{anchor}"></a>' in body
        assert title.replace("`", "") in text
    assert "<code>__token__</code>" in body
    # The package's copy is docs/help.md itself (a link in the source tree).
    assert help_views.source_text() == source


def test_the_page_is_sanitised_like_a_readme(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file is ours, but it is HTML on the index's origin: nh3 keeps the anchors' ids and
    drops what a README could not carry either."""
    hostile = '## <a id="x" onclick="alert(1)"></a>Title\n\n<script>alert(2)</script>\n'
    monkeypatch.setattr(help_views, "source_text", lambda: hostile)
    help_views.rendered.cache_clear()
    try:
        cleaned = help_views.rendered()
    finally:
        help_views.rendered.cache_clear()
    assert '<a id="x"></a>' in cleaned
    assert "onclick" not in cleaned and "<script" not in cleaned


def test_the_help_page_is_public_and_where_messages_say() -> None:
    assert ROUTES["help"] is Open.PUBLIC
    assert reverse("help") == helppage.PATH


def test_no_message_points_at_pypi_help_any_more() -> None:
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*")
        if path.suffix in (".py", ".html")
        and path.is_file()
        and re.search(r"pypi\.org/help|docs\.pypi\.org", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- the links in what twine prints ---------------------------------------------------------


def _refusal(upload: Any, **auth: str) -> Any:
    response = upload(builders.wheel("helpdemo", "1.0"), None, **auth)
    assert response.status_code == 403
    return response


@pytest.mark.django_db
def test_a_password_refusal_points_at_tokens_on_this_index(upload: Any) -> None:
    response = _refusal(upload, auth=basic("a password", username="alice"))
    reason = response.reason_phrase
    assert reason == (
        "Username/Password authentication is no longer supported. Migrate to API Tokens "
        "instead. See /help/#apitoken for more information."
    )
    assert "Trusted Publishers" not in reason and "\n" not in reason


@pytest.mark.django_db
def test_links_are_absolute_under_the_public_url(upload: Any, bastion_settings: Any) -> None:
    bastion_settings(base_url="https://index.example")
    reason = _refusal(upload, auth="Digest nope").reason_phrase
    assert reason == (
        "Invalid or non-existent authentication information. See "
        "https://index.example/help/#invalid-auth for more information."
    )


@pytest.mark.django_db
def test_a_reused_filename_is_explained_on_this_index(
    upload: Any, token: str, bastion_settings: Any
) -> None:
    bastion_settings(base_url="https://index.example")
    first = builders.wheel("helpdemo", "1.0")
    assert upload(first, token).status_code == 200
    other = builders.wheel("helpdemo", "1.0", code="VALUE = 2\n")
    refused = upload(other, token)
    assert refused.status_code == 400
    assert refused.reason_phrase.endswith(
        "See https://index.example/help/#file-name-reuse for more information."
    )
