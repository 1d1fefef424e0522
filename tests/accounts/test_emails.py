"""Signed email links: what they prove, when they die, and what confirming one changes."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.core import signing

from bastion.accounts import emails
from bastion.accounts.services import AccountError
from bastion.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Move the signer's clock forward (django.core.signing reads ``time.time``)."""
    now = time.time() + seconds
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: now))


def test_verification_link_verifies_once(make_user: Any, mailoutbox: Any) -> None:
    user = make_user("bob", email_verified=False)
    token = emails.make_token(user, "verify")
    link = emails.read_token(token, "verify")
    assert (link.user, link.email) == (user, "bob@example.com")
    emails.confirm(link)
    user.refresh_from_db()
    assert user.email_verified
    [event] = Event.objects.filter(tag="account:email:verify")
    assert (event.subject_name, event.actor_id, event.additional) == (
        "bob",
        user.pk,
        {"email": "bob@example.com"},
    )
    with pytest.raises(emails.LinkError, match="already been used"):
        emails.read_token(token, "verify")


def test_a_link_expires(
    make_user: Any, monkeypatch: pytest.MonkeyPatch, bastion_settings: Any
) -> None:
    bastion_settings(email_link_hours=2)
    user = make_user("bob", email_verified=False)
    token = emails.make_token(user, "verify")
    later(monkeypatch, 2 * 3600 - 30)
    emails.read_token(token, "verify")
    later(monkeypatch, 2 * 3600 + 30)
    with pytest.raises(emails.LinkError, match="expired"):
        emails.read_token(token, "verify")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: "x" + t,  # payload
        lambda t: t.split(":")[0],  # no signature at all
        lambda t: "",
    ],
)
def test_a_tampered_link_is_not_valid(make_user: Any, mangle: Any) -> None:
    user = make_user("bob", email_verified=False)
    token = emails.make_token(user, "verify")
    with pytest.raises(emails.LinkError, match="not valid"):
        emails.read_token(mangle(token), "verify")


def test_a_link_is_good_for_its_own_purpose_only(make_user: Any) -> None:
    user = make_user("bob")
    change = emails.make_token(user, "change", "new@example.org")
    with pytest.raises(emails.LinkError, match="not valid"):
        emails.read_token(change, "verify")
    # Signed with the same secret for something else entirely: still refused.
    other = signing.dumps({"u": user.pk, "e": "x@example.org", "s": "0"}, salt="elsewhere")
    with pytest.raises(emails.LinkError, match="not valid"):
        emails.read_token(other, "change")


def test_a_well_signed_payload_of_the_wrong_shape_is_refused(make_user: Any) -> None:
    make_user("bob")
    token = signing.dumps(["not", "a", "dict"], salt="bastion.accounts.emails.verify")
    with pytest.raises(emails.LinkError, match="not valid"):
        emails.read_token(token, "verify")


def test_links_of_frozen_or_deleted_accounts_are_refused(make_user: Any) -> None:
    frozen = make_user("frozen", email_verified=False)
    token = emails.make_token(frozen, "verify")
    frozen.is_frozen = True
    frozen.save()
    with pytest.raises(emails.LinkError, match="not valid"):
        emails.read_token(token, "verify")
    gone = make_user("gone", email_verified=False)
    token = emails.make_token(gone, "verify")
    gone.delete()
    with pytest.raises(emails.LinkError, match="not valid"):
        emails.read_token(token, "verify")


def test_change_replaces_the_address_and_tells_the_old_one(make_user: Any, mailoutbox: Any) -> None:
    user = make_user("bob")
    token = emails.make_token(user, "change", "Bob.New@example.org")
    user.refresh_from_db()
    assert user.email == "bob@example.com"  # nothing changes before the link is used
    mailoutbox.clear()
    emails.confirm(emails.read_token(token, "change"))
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("Bob.New@example.org", True)
    [event] = Event.objects.filter(tag="account:email:change")
    assert event.additional == {"old_email": "bob@example.com", "new_email": "Bob.New@example.org"}
    [notice] = mailoutbox
    assert notice.to == ["bob@example.com"]
    assert "Bob.New@example.org" in notice.body
    with pytest.raises(emails.LinkError, match="already been used"):
        emails.read_token(token, "change")


def test_a_change_link_dies_when_the_address_is_taken_meanwhile(make_user: Any) -> None:
    user = make_user("bob")
    token = emails.make_token(user, "change", "shared@example.org")
    make_user("carol", email="SHARED@example.org")
    with pytest.raises(AccountError, match="already used by another account"):
        emails.confirm(emails.read_token(token, "change"))
    user.refresh_from_db()
    assert user.email == "bob@example.com"
    assert not Event.objects.filter(tag="account:email:change").exists()


def test_verifying_after_a_change_of_address_is_refused(make_user: Any) -> None:
    user = make_user("bob", email_verified=False)
    verify = emails.make_token(user, "verify")
    user.email = "elsewhere@example.org"
    user.save()
    with pytest.raises(emails.LinkError, match="already been used"):
        emails.read_token(verify, "verify")


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("ALICE@example.com", "already used by another account"),
        ("not-an-address", "is not a valid email address"),
    ],
)
def test_check_address(make_user: Any, address: str, message: str) -> None:
    make_user("alice")
    bob = make_user("bob")
    with pytest.raises(AccountError, match=message):
        emails.check_address(bob, address)
    assert emails.check_address(bob, " BOB@example.com ") == "BOB@example.com"  # own address


def test_verification_email_names_the_link(make_user: Any, mailoutbox: Any) -> None:
    user = make_user("bob", email_verified=False)
    mailoutbox.clear()
    emails.send_verification(user, "https://index.example/account/email/verify/T/")
    [mail] = mailoutbox
    assert mail.to == ["bob@example.com"]
    assert mail.subject == "[bastion] Verify your email address"
    assert "https://index.example/account/email/verify/T/" in mail.body
    assert "24 hours" in mail.body
