"""The token pages and commands as their users meet them: what is listed, what is refused and
why, what is limited, and which events and emails every change leaves behind."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from bastion.cli import main
from bastion.events.models import Event
from bastion.tokens.models import Token
from bastion.tokens.services import create_token
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN_RE = re.compile(r"bastion-[A-Za-z0-9_\-=]{20,}")


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def row_of(body: str, name: str) -> str:
    """The table row of the token called ``name`` on the account page."""
    match = re.search(r"<tr>\s*<td>" + re.escape(name) + r"</td>.*?</tr>", body, re.S)
    assert match is not None, f"no row for {name}"
    return match.group(0)


# --- listing ------------------------------------------------------------------------------------


def test_account_lists_tokens_with_scope_expiry_and_last_use(make_user: Any, upload: Any) -> None:
    alice = make_user("alice")
    _, everything = create_token(alice, "everything")
    raw_ci, _ = create_token(alice, "ci", upload_only=True)
    _, soon = create_token(alice, "short", expires=timezone.now() + timedelta(days=3))
    # "short" as it stands after its expiry: the page must say so.
    Token.objects.filter(pk=soon.pk).update(expires=timezone.now() - timedelta(minutes=1))
    assert (
        upload(builders.wheel("freshpkg", "1.0"), create_token(alice, "uploader")[0]).status_code
        == 200
    )
    raw_scoped, _ = create_token(alice, "scoped", projects=["freshpkg"])
    assert upload(builders.wheel("freshpkg", "1.1"), raw_scoped).status_code == 200

    body = text(logged_in(alice).get("/account/"))
    assert TOKEN_RE.search(body) is None  # never the tokens themselves
    row = row_of(body, "everything")
    assert "all projects" in row and "never" in row and "upload only" not in row
    assert "upload only" in row_of(body, "ci")
    assert "expired" in row_of(body, "short")
    scoped = row_of(body, "scoped")
    assert "freshpkg" in scoped and "all projects" not in scoped
    used = Token.objects.get(name="scoped").last_used
    assert used is not None
    assert used.strftime("%Y-%m-%d %H:%M") in scoped  # last use shown
    assert f'action="/account/tokens/{everything.pk}/revoke/"' in body
    assert 'action="/account/tokens/revoke-all/"' in body
    assert raw_ci not in body


def run(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_lists_and_revokes_tokens(capsys: Any, make_user: Any, mailoutbox: Any) -> None:
    alice = make_user("alice")
    _, a = create_token(alice, "a", upload_only=True)
    _, b = create_token(alice, "b", expires=timezone.now() + timedelta(days=7))
    create_token(alice, "c")
    code, out, _ = run(capsys, "token", "list", "alice", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["a"]["scope"] == "all projects" and rows["a"]["upload_only"] is True
    assert rows["b"]["expires"] is not None and rows["a"]["expires"] is None
    assert all(r["last_used"] is None for r in rows.values())
    code, out, _ = run(capsys, "token", "list", "alice")
    assert f"{a.pk}  a  scope=all projects  upload-only  expires=never  last used=never" in out
    assert f"{b.pk}  b  scope=all projects  expires={b.expires.isoformat()}" in out

    mailoutbox.clear()
    code, out, _ = run(capsys, "token", "revoke", "alice", str(b.pk))
    assert code == 0 and out.strip() == "revoked"
    assert sorted(Token.objects.values_list("name", flat=True)) == ["a", "c"]
    assert Event.objects.filter(tag="account:token:revoke", additional__token="b").exists()
    assert [m.subject for m in mailoutbox] == ["[bastion] API token revoked"]

    code, _, err = run(capsys, "token", "revoke", "alice", str(b.pk))
    assert code == 2 and "no such token" in err
    code, _, err = run(capsys, "token", "revoke", "alice", "not-a-token-id")
    assert code == 2 and "no such token" in err  # not a traceback
    code, out, _ = run(capsys, "token", "revoke", "alice", "--all")
    assert code == 0 and "revoked 2 tokens" in out
    assert not Token.objects.exists()


# --- creating -----------------------------------------------------------------------------------


def test_token_creation_is_recorded_and_the_owner_told(make_user: Any, mailoutbox: Any) -> None:
    alice = make_user("alice")
    response = logged_in(alice).post(
        "/account/tokens/new/", {"name": "release bot", "expires_days": "30"}
    )
    assert response.status_code == 200
    event = Event.objects.get(tag="account:token:create")
    assert event.actor_name == "alice" and event.additional["token"] == "release bot"
    assert event.additional["expires"] is not None
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert mail.subject == "[bastion] API token created"
    assert "release bot" in mail.body and "all projects" in mail.body
    assert TOKEN_RE.search(mail.body) is None  # the token itself is never emailed


def test_token_creation_needs_two_factor(make_user: Any) -> None:
    bob = make_user("bob", two_factor=False)
    response = logged_in(bob).post("/account/tokens/new/", {"name": "ci"})
    assert response.status_code == 403
    body = text(response)
    assert "Two-factor authentication is required" in body
    assert TOKEN_RE.search(body) is None
    assert not Token.objects.exists()


def test_token_creation_needs_a_verified_email(make_user: Any) -> None:
    bob = make_user("bob", email_verified=False)
    response = logged_in(bob).post("/account/tokens/new/", {"name": "ci"})
    assert response.status_code == 403
    assert "Verify your email address first" in text(response)
    assert not Token.objects.exists()


def test_token_creation_is_rate_limited_per_user(make_user: Any, bastion_settings: Any) -> None:
    bastion_settings(rate_limits={"token-create.user": "2/h", "token-create.ip": "100/h"})
    alice = make_user("alice")
    client = logged_in(alice)
    assert client.post("/account/tokens/new/", {"name": "t0"}).status_code == 200
    # A refused attempt (a duplicate name) does not use up the allowance ...
    assert client.post("/account/tokens/new/", {"name": "t0"}).status_code == 400
    assert client.post("/account/tokens/new/", {"name": "t1"}).status_code == 200
    limited = client.post("/account/tokens/new/", {"name": "t2"}, HTTP_ACCEPT="text/html")
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert "Too many API tokens created" in text(limited)
    assert TOKEN_RE.search(text(limited)) is None
    assert Token.objects.count() == 2
    # ... and another user is not held back by alice's limit.
    assert (
        logged_in(make_user("bob")).post("/account/tokens/new/", {"name": "b"}).status_code == 200
    )


def test_token_creation_is_rate_limited_per_address(make_user: Any, bastion_settings: Any) -> None:
    bastion_settings(rate_limits={"token-create.user": "100/h", "token-create.ip": "2/h"})
    for name in ("alice", "bob"):
        assert (
            logged_in(make_user(name)).post("/account/tokens/new/", {"name": "t"}).status_code
            == 200
        )
    carol = logged_in(make_user("carol"))
    limited = carol.post("/account/tokens/new/", {"name": "t"})
    assert limited.status_code == 429
    assert "Too many API tokens created" in text(limited)
    assert not Token.objects.filter(user__username="carol").exists()


# --- revoking -----------------------------------------------------------------------------------


def test_revoking_one_token_records_it_and_tells_the_owner(make_user: Any, mailoutbox: Any) -> None:
    alice = make_user("alice")
    _, keep = create_token(alice, "keep")
    _, drop = create_token(alice, "drop")
    mailoutbox.clear()
    response = logged_in(alice).post(f"/account/tokens/{drop.pk}/revoke/")
    assert response.status_code == 302
    assert list(Token.objects.all()) == [keep]
    event = Event.objects.get(tag="account:token:revoke")
    assert event.additional["token"] == "drop" and event.actor_name == "alice"
    assert event.subject_name == "alice"
    [mail] = mailoutbox
    assert mail.subject == "[bastion] API token revoked"
    assert "\u201cdrop\u201d" in mail.body and "keep" not in mail.body


def test_revoking_all_tokens_is_one_notice(make_user: Any, mailoutbox: Any) -> None:
    alice = make_user("alice")
    bob = make_user("bob")
    for name in ("a", "b", "c"):
        create_token(alice, name)
    _, bobs = create_token(bob, "bobs")
    mailoutbox.clear()
    client = logged_in(alice)
    response = client.post("/account/tokens/revoke-all/")
    assert response.status_code == 302
    assert list(Token.objects.all()) == [bobs]
    assert Event.objects.filter(tag="account:token:revoke", subject_name="alice").count() == 3
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert mail.subject == "[bastion] All API tokens revoked"
    assert "All 3 API token(s)" in mail.body
    assert "3 tokens revoked" in text(client.get("/account/"))


def test_revoking_needs_no_second_factor(make_user: Any) -> None:
    """Whoever lost their second factor must still be able to kill a leaked token."""
    bob = make_user("bob")
    _, token = create_token(bob, "old")
    bob.totp_secret = ""
    bob.save()
    response = logged_in(bob).post(f"/account/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert not Token.objects.exists()
