# ruff: noqa: F811 - the matrix's ``setup`` fixture is imported, then asked for by name
"""Every page, as every kind of visitor, shows no template syntax.

Django's ``{# #}`` comment is one line only: a comment over several lines is printed as it
is, and a typo in a tag prints it too. This walks the URL configuration (through the
authorisation matrix's table, which names a request for every URL and builds the objects its
parameters name) and every admin screen, and looks at what a browser would show.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin

from bastion.events.describe import SENTENCES
from bastion.events.models import Event
from tests.web.test_authorization_matrix import (  # noqa: F401 - ``setup`` is a fixture
    ADMIN,
    ANON,
    NO2FA,
    OWNER,
    REQUESTS,
    USER,
    Setup,
    _client,
    setup,
)

pytestmark = pytest.mark.django_db

#: Where template-like text is legitimate: code, scripts and styles.
_VERBATIM = re.compile(r"<(script|style|pre|code|textarea)\b.*?</\1\s*>", re.S | re.I)
MARKERS = ("{#", "#}", "{%", "%}", "{{", "}}")


def template_syntax(html: str) -> list[str]:
    """The template markers ``html`` shows outside code, each with a little context."""
    shown = _VERBATIM.sub("", html)
    found = []
    for marker in MARKERS:
        at = shown.find(marker)
        if at >= 0:
            found.append(shown[max(0, at - 60) : at + 60])
    return found


def test_the_check_sees_a_comment_over_several_lines() -> None:
    from django.template import engines

    page = engines["django"].from_string("<p>{# one\ntwo #}</p><code>{{ x }}</code>").render({})
    assert template_syntax(page)
    assert not template_syntax("<pre>{% raw %}</pre><script>if (a) {{}}</script><p>ok</p>")


@pytest.mark.parametrize("identity", [ANON, NO2FA, USER, OWNER, ADMIN])
def test_every_page_is_free_of_template_syntax(setup: Setup, identity: str) -> None:
    seen = 0
    for name, rows in REQUESTS.items():
        for row in rows:
            if row.method != "GET" or row.token_auth:
                continue
            client, headers = _client(setup, identity, row)
            response = client.get(row.path(setup), **headers)
            if not response.get("Content-Type", "").startswith("text/html"):
                continue
            seen += 1
            body = response.content.decode()
            assert not template_syntax(body), (name, identity, template_syntax(body))
    assert seen > 10


def _admin_paths() -> list[str]:
    paths = ["/admin/"]
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        paths += [f"/admin/{model._meta.app_label}/", base]
        paths.append(base + "add/")
        obj = model.objects.first()
        if obj is not None:
            paths += [f"{base}{obj.pk}/change/", f"{base}{obj.pk}/history/"]
            if model._meta.model_name == "user":
                paths.append(f"{base}{obj.pk}/password/")
    return paths


def test_every_admin_screen_is_free_of_template_syntax(setup: Setup) -> None:
    client, _ = _client(setup, ADMIN, REQUESTS["admin"][0])
    for path in _admin_paths():
        response = client.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        body = response.content.decode()
        assert not template_syntax(body), (path, template_syntax(body))


def test_every_event_of_a_busy_index_has_a_sentence(setup: Setup) -> None:
    """Projects, releases, roles, invitations, tokens made and revoked: whatever the matrix's
    world recorded reads as a sentence, not as its code."""
    tags = set(Event.objects.values_list("tag", flat=True))
    assert len(tags) > 5
    assert not tags - set(SENTENCES)
