"""Security histories read as sentences: every kind of event bastion records has one, and an
operator's command is said to come from the command line."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client

from bastion.cli import main
from bastion.events.describe import SENTENCES, describe
from bastion.events.models import Event
from bastion.names.admin import _Audited
from tests import builders

SRC = Path(__file__).resolve().parents[2] / "src" / "bastion"
KINDS = "account|project|name"
LITERAL = re.compile(r"""(?<![\w{])["']((?:""" + KINDS + r""")(?::[a-z_-]+)+)["']""")
TEMPLATE = re.compile(r"""\bf["']((?:""" + KINDS + r"""):[^"'{]*\{[^"']*)["']""")


def _sources() -> dict[Path, str]:
    return {
        path: path.read_text(encoding="utf-8")
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts and path.name != "describe.py"
    }


def _recorded_kinds() -> tuple[set[str], set[str]]:
    """Event kinds written in the sources: literal tags, and f-string tags as patterns."""
    literals: set[str] = set()
    patterns: set[str] = set()
    for text in _sources().values():
        if "record" not in text and "_event" not in text and "tag" not in text:
            continue
        literals.update(LITERAL.findall(text))
        for template in TEMPLATE.findall(text):
            patterns.add(re.sub(r"\\\{[^}]*\\\}", "[a-z_-]+", re.escape(template)))
    return literals, patterns


def test_the_sources_record_the_kinds_this_test_looks_for() -> None:
    literals, patterns = _recorded_kinds()
    assert {"project:file:add", "account:login", "account:token:create"} <= literals
    assert any(p.startswith("project:role:") for p in patterns), patterns


def test_every_recorded_kind_has_a_sentence() -> None:
    literals, patterns = _recorded_kinds()
    missing = sorted(
        tag
        for tag in literals
        if tag not in SENTENCES and not any(k.startswith(tag + ":") for k in SENTENCES)
    )
    assert not missing, f"event kinds without a sentence in bastion.events.describe: {missing}"
    for pattern in patterns:
        assert any(re.fullmatch(pattern, k) for k in SENTENCES), pattern
    # The verbs of the role events, and what the name screens record (``{self.tag}:...``).
    roles = (SRC / "packages" / "roles.py").read_text(encoding="utf-8")
    for verb in re.findall(r"_both_events\(\s*\"(\w+)\"", roles):
        assert f"project:role:{verb}" in SENTENCES and f"account:role:{verb}" in SENTENCES, verb
    for model_admin in admin.site._registry.values():
        if isinstance(model_admin, _Audited):
            for action in ("add", "change", "remove"):
                assert f"{model_admin.tag}:{action}" in SENTENCES, model_admin.tag


def test_sentences_never_fail_on_an_event_without_details() -> None:
    for tag in SENTENCES:
        event = Event(tag=tag, subject_kind="user", subject_name="alice", additional={})
        text = describe(event).sentence
        assert text and ":" not in text.split()[0], (tag, text)


def _cli(*args: str) -> int:
    old = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        return main(list(args))
    finally:
        sys.stdin = old


@pytest.mark.django_db(transaction=True)
def test_the_account_page_shows_sentences_and_the_command_line(
    upload: Callable[..., Any], token: str, user: Any, capsys: Any
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    assert _cli("token", "create", user.username, "--token-name", "from-the-server") == 0
    capsys.readouterr()
    client = Client()
    client.force_login(user)
    body = client.get("/account/").content.decode()
    history = body.split('id="history-heading"', 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", history, re.S)
    text = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]
    uploaded = next(t for t in text if "Uploaded" in t)
    assert "Uploaded samplepkg-1.0-py3-none-any.whl to samplepkg" in uploaded
    assert "127.0.0.1" in uploaded
    by_operator = next(t for t in text if "from-the-server" in t)
    assert "Created API token \u201cfrom-the-server\u201d" in by_operator
    assert "command line (operator)" in by_operator
    # The codes stay available (as the rows' tooltips), never as the text.
    assert 'title="project:file:add"' in history
    assert not any("project:file:add" in t or "account:token:create" in t for t in text)


@pytest.mark.django_db(transaction=True)
def test_the_worker_and_the_server_are_not_an_operator() -> None:
    from bastion.events import origin

    assert origin.operator() is None
    with origin.command_line("ops"):
        assert origin.operator() == "ops"
    assert origin.operator() is None
    from bastion import cli

    assert {"serve", "worker"} <= cli._SERVICES


def test_who_and_where_of_an_event() -> None:
    def event(**fields: Any) -> Event:
        base: dict[str, Any] = {"subject_kind": "project", "subject_name": "demo"}
        return Event(**{**base, **fields})

    web = describe(
        event(
            tag="project:release:yank",
            actor_name="alice",
            ip_address="192.0.2.1",
            additional={"version": "1.0", "reason": "broken"},
        )
    )
    assert (web.sentence, web.by, web.origin) == ("Yanked demo 1.0: broken", "alice", "192.0.2.1")
    cli = describe(
        event(
            tag="project:release:yank",
            additional={"version": "1.0", "via": "command line", "operator": "ops"},
        )
    )
    assert (cli.by, cli.origin, cli.operator) == ("operator", "command line (operator)", "ops")
    reset = describe(
        event(
            tag="account:2fa:reset",
            subject_kind="user",
            additional={"operator": "command line (ops)", "factors": 1},
        )
    )
    assert (reset.origin, reset.operator) == ("command line (operator)", "ops")
    scan = describe(
        event(
            tag="project:file:hold",
            additional={"filename": "demo-1.0.tar.gz", "reason": "scan verdict: malicious"},
        )
    )
    assert scan.by == "bastion" and scan.origin == ""
    assert scan.sentence == "Held demo-1.0.tar.gz of demo for review: scan verdict: malicious"
    assert describe(event(tag="future:kind")).sentence == "future:kind"
