"""The moderation screens of the admin say what is true: findings as a readable list, objects
by name, a file held or released from its own page (audited, re-rendered), and the protected
names screen counting the shipped names it enforces."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client

from bastion.accounts.models import User
from bastion.events.models import Event
from bastion.names.policy import shipped_protected_names
from bastion.packages.models import File
from bastion.storage import get_storage
from tests.web.conftest import World

pytestmark = pytest.mark.django_db(transaction=True)

FINDINGS = [
    {
        "rule": "exec-base64",
        "severity": "high",
        "message": "Decodes and runs hidden code at install time.",
        "file": "evil/setup.py",
        "line": 12,
        "excerpt": "exec(b64decode('<script>alert(1)</script>'))",
    },
    {"rule": "md5-use", "severity": "low", "message": "Uses MD5.", "advisory": True},
    {
        "rule": "network-on-start",
        "severity": "medium",
        "message": "Talks to the network on import.",
        "file": "evil/__init__.py",
        "line": 3,
        "excerpt": "urlopen(URL)",
        "context": "on import",
        "why": "It runs for everyone who imports the package.",
        "clean_if": "Move the download into a function the user calls.",
    },
]


def _admin(make_user: Callable[..., Any]) -> Client:
    client = Client()
    client.force_login(make_user("root", admin=True))
    return client


def _text(html: str) -> str:
    """What a reader sees: tags dropped (a line break becomes a space), spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", re.sub(r"<br>", " ", html)))


def test_findings_are_a_list_and_escaped(world: World, make_user: Callable[..., Any]) -> None:
    file = world.pending_file
    File.objects.filter(pk=file.pk).update(scan_findings=FINDINGS, scan_verdict="malicious")
    body = _admin(make_user).get(f"/admin/packages/file/{file.pk}/change/").content.decode()
    assert '<ol class="scan-findings">' in body
    text = _text(body)
    assert "exec-base64, high: evil/setup.py:12" in text
    assert "Decodes and runs hidden code at install time." in text
    assert "md5-use, low (advisory)" in text
    # as the upload's scan stores them: when it runs, why it counts, what would make it clean
    assert "network-on-start, medium: evil/__init__.py:3 Talks to the network on import." in text
    assert (
        "<dt>When it runs</dt><dd>on import</dd><dt>Why it counts</dt><dd>It runs for everyone "
        "who imports the package.</dd><dt>What would make it clean</dt><dd>Move the download "
        "into a function the user calls.</dd>"
    ) in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert '"rule": "exec-base64"' not in body  # no JSON blob


def test_every_model_in_the_admin_has_a_name(world: World, make_user: Callable[..., Any]) -> None:
    """No "Release object (11)": every row the admin shows names itself."""
    make_user("root", admin=True)
    from bastion.names.models import NameOverride, Namespace, ProtectedName

    ProtectedName.objects.create(name="Our-Internal")
    Namespace.objects.create(prefix="acme", owner=world.owner)
    NameOverride.objects.create(name="reqeusts", user=world.owner, reason="ok")
    checked = 0
    for model in admin.site._registry:
        obj = model.objects.first()
        if obj is None:
            continue
        checked += 1
        assert not re.search(r"object \(\d+\)", str(obj)), (model, str(obj))
    assert checked >= 8


def test_a_file_is_held_and_released_from_its_page(
    world: World, make_user: Callable[..., Any]
) -> None:
    file = world.current_file
    client = _admin(make_user)
    page = client.get(f"/admin/packages/file/{file.pk}/change/").content.decode()
    assert "Hold this file" in page and "Release this file" not in page
    assert get_storage().is_published(file.storage_key)
    response = client.post(f"/admin/packages/file/{file.pk}/hold/", {"reason": "looks odd"})
    assert response.status_code == 302
    file.refresh_from_db()
    assert file.state == File.HELD
    held = Event.objects.get(tag="project:file:hold", additional__filename=file.filename)
    assert held.actor_name == "root" and held.additional["reason"] == "looks odd"
    assert held.ip_address == "127.0.0.1"
    assert not get_storage().is_published(file.storage_key)
    assert file.filename not in Client().get("/simple/demo-pkg/").content.decode()
    page = client.get(f"/admin/packages/file/{file.pk}/change/").content.decode()
    assert "Release this file" in page and "Hold this file" not in page
    response = client.post(f"/admin/packages/file/{file.pk}/release/")
    assert response.status_code == 302
    file.refresh_from_db()
    assert file.state == File.PUBLISHED
    assert Event.objects.filter(tag="project:file:publish", actor_name="root").exists()
    assert file.filename in Client().get("/simple/demo-pkg/").content.decode()
    assert get_storage().is_published(file.storage_key)
    # A GET changes nothing; a second release is refused with a message.
    assert client.get(f"/admin/packages/file/{file.pk}/hold/").status_code == 405
    client.post(f"/admin/packages/file/{file.pk}/release/")
    assert Event.objects.filter(tag="project:file:publish", actor_name="root").count() == 1


def test_the_protected_names_screen_counts_the_shipped_names(
    make_user: Callable[..., Any],
) -> None:
    shipped = len(shipped_protected_names())
    assert shipped > 10_000
    body = _admin(make_user).get("/admin/names/protectedname/").content.decode()
    note = _text(body.split('id="policy-note"', 1)[1].split("</p>", 1)[0])
    assert f"{shipped:,} names shipped with bastion" in note
    assert "the 0 names this index protects in addition" in note
    client = Client()
    client.force_login(User.objects.get(username="root"))
    body = client.get("/admin/names/prohibitedname/").content.decode()
    assert "standard-library module names are refused as well" in _text(body)
