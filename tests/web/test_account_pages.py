"""The email, password and registration pages, end to end through Django's test client: what
a person sees, the emails they receive (links are followed from the mail body), the audit
events written and the limits that stop abuse."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import default_token_generator
from django.test import Client

from bastion.accounts.models import User
from bastion.events.models import Event
from bastion.web.reauth import SESSION_KEY as REAUTH_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 42"
LINK = re.compile(r"https?://\S+")


def body(response: Any) -> str:
    return response.content.decode()


def link_path(mail: Any) -> str:
    """The path of the one link in an email, as a person would click it."""
    [url] = LINK.findall(mail.body)
    parts = urlsplit(url)
    assert parts.netloc == "testserver"
    return parts.path


def logged_in(user: Any, *, fresh: bool = False) -> Client:
    client = Client()
    client.force_login(user)
    if fresh:  # re-authenticated just now, as the account-reauth page would record
        session = client.session
        session[REAUTH_KEY] = int(time.time())
        session.save()
    return client


def tags() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("tag", flat=True))


# --- The account page -------------------------------------------------------------------------


def test_account_page_shows_an_unverified_address_with_a_resend_button(make_user: Any) -> None:
    user = make_user("bob", email_verified=False)
    page = body(logged_in(user).get("/account/"))
    assert "bob@example.com" in page
    assert "not verified" in page
    assert 'action="/account/email/resend/"' in page
    assert 'href="/account/email/change/"' in page
    assert 'href="/account/password/change/"' in page


def test_account_page_shows_a_verified_address_without_resend(user: Any) -> None:
    page = body(logged_in(user).get("/account/"))
    assert "alice@example.com" in page
    assert "not verified" not in page
    assert ">verified<" in page
    assert "/account/email/resend/" not in page


# --- Email verification -----------------------------------------------------------------------


def test_resend_then_verify_through_the_emailed_link(make_user: Any, mailoutbox: Any) -> None:
    user = make_user("bob", email_verified=False)
    client = logged_in(user)
    mailoutbox.clear()
    response = client.post("/account/email/resend/", follow=True)
    assert "A verification link was sent to bob@example.com" in body(response)
    [mail] = mailoutbox
    assert mail.to == ["bob@example.com"]
    path = link_path(mail)

    page = client.get(path)  # GET only shows the button: mail scanners open links
    assert page.status_code == 200
    assert "Verify this address" in body(page)
    assert 'method="post"' in body(page)
    user.refresh_from_db()
    assert not user.email_verified

    done = client.post(path, follow=True)
    assert "Thank you: bob@example.com is verified." in body(done)
    user.refresh_from_db()
    assert user.email_verified
    assert "account:email:verify" in tags()

    again = client.post(path)
    assert again.status_code == 400
    assert "This link has already been used" in body(again)


def test_the_verify_link_works_without_being_logged_in(make_user: Any, mailoutbox: Any) -> None:
    user = make_user("bob", email_verified=False)
    logged_in(user).post("/account/email/resend/")
    path = link_path(mailoutbox[-1])
    response = Client().post(path)
    assert response.status_code == 302
    assert response["Location"] == "/account/login/"
    user.refresh_from_db()
    assert user.email_verified


def test_another_account_cannot_use_the_link(make_user: Any, mailoutbox: Any) -> None:
    bob = make_user("bob", email_verified=False)
    logged_in(bob).post("/account/email/resend/")
    path = link_path(mailoutbox[-1])
    response = logged_in(make_user("carol")).post(path)
    assert response.status_code == 403
    assert "This link was sent for another account" in body(response)
    bob.refresh_from_db()
    assert not bob.email_verified


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-3] + ("abc" if not t.endswith("abc") else "xyz"),
        lambda t: "e30" + t,
        str.upper,
    ],
)
def test_a_tampered_link_is_refused_with_a_reason(
    make_user: Any, mailoutbox: Any, mangle: Any
) -> None:
    user = make_user("bob", email_verified=False)
    client = logged_in(user)
    client.post("/account/email/resend/")
    token = link_path(mailoutbox[-1]).rstrip("/").rsplit("/", 1)[-1]
    response = client.post(f"/account/email/verify/{mangle(token)}/")
    assert response.status_code == 400
    assert "This link is not valid" in body(response)
    user.refresh_from_db()
    assert not user.email_verified


def test_an_expired_link_is_refused(
    make_user: Any, mailoutbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from django.core import signing

    user = make_user("bob", email_verified=False)
    client = logged_in(user)
    client.post("/account/email/resend/")
    path = link_path(mailoutbox[-1])
    future = time.time() + 25 * 3600
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: future))
    response = client.get(path)
    assert response.status_code == 400
    assert "This link has expired" in body(response)


def test_resending_is_rate_limited(make_user: Any, mailoutbox: Any, bastion_settings: Any) -> None:
    bastion_settings(rate_limits={"email.user": "2/h"})
    client = logged_in(make_user("bob", email_verified=False))
    mailoutbox.clear()
    for _ in range(2):
        assert client.post("/account/email/resend/").status_code == 302
    refused = client.post("/account/email/resend/", HTTP_ACCEPT="text/html")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many emails have been requested" in body(refused)
    assert len(mailoutbox) == 2


def test_resend_without_an_address_or_for_a_verified_one_sends_nothing(
    make_user: Any, mailoutbox: Any
) -> None:
    nobody = make_user("bob", email_verified=False)
    nobody.email = ""
    nobody.save()
    mailoutbox.clear()
    response = logged_in(nobody).post("/account/email/resend/")
    assert response["Location"] == "/account/email/change/"
    verified = logged_in(make_user("carol"))
    page = verified.post("/account/email/resend/", follow=True)
    assert "carol@example.com is already verified." in body(page)
    assert mailoutbox == []


def test_resend_needs_a_login_and_a_post(client: Client) -> None:
    assert client.get("/account/email/resend/").status_code == 405
    response = client.post("/account/email/resend/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


# --- Change of email --------------------------------------------------------------------------


def test_change_of_email_needs_a_recent_reauthentication(user: Any) -> None:
    response = logged_in(user).get("/account/email/change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauth/?next=")


def test_change_of_email_end_to_end(user: Any, mailoutbox: Any) -> None:
    client = logged_in(user, fresh=True)
    assert "alice@example.com" in body(client.get("/account/email/change/"))
    mailoutbox.clear()
    response = client.post("/account/email/change/", {"email": "alice@new.example"}, follow=True)
    assert "A confirmation link was sent to alice@new.example" in body(response)
    [mail] = mailoutbox
    assert mail.to == ["alice@new.example"]  # the new address proves it is reachable
    user.refresh_from_db()
    assert user.email == "alice@example.com"  # not yet

    path = link_path(mail)
    assert "Change my email address" in body(client.get(path))
    mailoutbox.clear()
    done = client.post(path, follow=True)
    assert "Your email address is now alice@new.example." in body(done)
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("alice@new.example", True)
    event = Event.objects.get(tag="account:email:change")
    assert event.additional["old_email"] == "alice@example.com"
    [notice] = mailoutbox
    assert notice.to == ["alice@example.com"]  # the OLD address hears of it
    assert "changed from alice@example.com to alice@new.example" in notice.body

    reused = client.post(path)
    assert reused.status_code == 400
    assert "already been used" in body(reused)


def test_change_to_an_address_of_another_account_is_refused(make_user: Any, user: Any) -> None:
    make_user("bob")
    response = logged_in(user, fresh=True).post(
        "/account/email/change/", {"email": "BOB@Example.com"}
    )
    assert response.status_code == 400
    assert "This email address is already used by another account" in body(response)


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "This field is required"),
        ("nope", "Enter a valid email address"),
        ("ALICE@example.com", "already the address of your account"),
    ],
)
def test_bad_new_addresses_get_a_reason(user: Any, email: str, message: str) -> None:
    response = logged_in(user, fresh=True).post("/account/email/change/", {"email": email})
    assert response.status_code == 400
    assert message in body(response)


def test_a_verify_link_cannot_confirm_a_change(user: Any, mailoutbox: Any) -> None:
    client = logged_in(user, fresh=True)
    client.post("/account/email/change/", {"email": "alice@new.example"})
    token = link_path(mailoutbox[-1]).rstrip("/").rsplit("/", 1)[-1]
    response = client.post(f"/account/email/verify/{token}/")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.email == "alice@example.com"


# --- Password change --------------------------------------------------------------------------


def test_password_change_end_to_end(user: Any, mailoutbox: Any) -> None:
    client = logged_in(user)
    elsewhere = logged_in(user)  # another browser of the same account
    key_before = client.session.session_key
    page = client.get("/account/password/change/")
    assert 'name="old_password"' in body(page)

    wrong = client.post(
        "/account/password/change/",
        {"old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert "Your old password was entered incorrectly" in body(wrong)

    mailoutbox.clear()
    response = client.post(
        "/account/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password was changed" in body(response)
    assert client.session.session_key != key_before  # rotated
    assert client.get("/account/").status_code == 200  # this session stays logged in
    assert elsewhere.get("/account/").status_code == 302  # the other one is logged out
    assert authenticate(username="alice", password=NEW_PASSWORD) == user
    assert "account:password:change" in tags()
    [notice] = mailoutbox
    assert notice.to == ["alice@example.com"]
    assert "Your password was changed" in notice.subject


@pytest.mark.parametrize(
    ("new1", "new2", "message"),
    [
        ("short", "short", "This password is too short"),
        ("1234567890123", "1234567890123", "This password is entirely numeric"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two password fields didn"),
    ],
)
def test_password_change_applies_the_validators(
    user: Any, new1: str, new2: str, message: str
) -> None:
    response = logged_in(user).post(
        "/account/password/change/",
        {"old_password": PASSWORD, "new_password1": new1, "new_password2": new2},
    )
    assert response.status_code == 400
    assert message in body(response)


def test_password_change_refuses_a_breached_password(
    user: Any, bastion_settings: Any, tmp_path: Any
) -> None:
    from bastion.accounts.passwords import sha1_hex

    breached = tmp_path / "breached.txt"
    breached.write_bytes(sha1_hex(NEW_PASSWORD) + b":12\n")
    bastion_settings(breached_passwords_file=str(breached))
    response = logged_in(user).post(
        "/account/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert "This password has appeared in a data breach" in body(response)


def test_wrong_old_passwords_count_as_failed_logins(user: Any, bastion_settings: Any) -> None:
    bastion_settings(rate_limits={"login.user": "2/5m"})
    client = logged_in(user)
    data = {"old_password": "guess", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    for _ in range(2):
        assert client.post("/account/password/change/", data).status_code == 400
    data["old_password"] = PASSWORD  # right, but locked out
    refused = client.post("/account/password/change/", data)
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert authenticate(username="alice", password=PASSWORD) == user


# --- Password reset ---------------------------------------------------------------------------


def request_reset(client: Client, email: str) -> Any:
    return client.post("/account/password/reset/", {"email": email}, follow=True)


def test_password_reset_end_to_end(user: Any, mailoutbox: Any) -> None:
    session = logged_in(user)  # a session that the reset must end
    mailoutbox.clear()
    page = request_reset(Client(), "ALICE@example.com")
    assert "Check your email" in body(page)
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    path = link_path(mail)

    client = Client()
    step = client.get(path)  # the token moves into the session, out of the URL
    assert step.status_code == 302
    form = client.get(step["Location"])
    assert 'name="new_password1"' in body(form)
    mailoutbox.clear()
    done = client.post(
        step["Location"],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your new password is set" in body(done)
    assert authenticate(username="alice", password=NEW_PASSWORD) == user
    assert session.get("/account/").status_code == 302  # logged out everywhere
    assert "account:password:reset" in tags()
    [notice] = mailoutbox
    assert notice.to == ["alice@example.com"]
    assert "Your password was reset" in notice.subject

    reused = Client().get(path)
    assert reused.status_code == 400
    assert "This password reset link is not valid" in body(reused)


def test_reset_answers_the_same_for_unknown_addresses(user: Any, mailoutbox: Any) -> None:
    known = Client().post("/account/password/reset/", {"email": "alice@example.com"})
    unknown = Client().post("/account/password/reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert body(Client().get(known["Location"])) == body(Client().get(unknown["Location"]))
    assert [m.to for m in mailoutbox] == [["alice@example.com"]]


def test_a_frozen_account_cannot_reset_its_way_in(user: Any, mailoutbox: Any) -> None:
    request_reset(Client(), "alice@example.com")
    path = link_path(mailoutbox[-1])
    user.is_frozen = True
    user.save()
    mailoutbox.clear()
    page = request_reset(Client(), "alice@example.com")
    assert "Check your email" in body(page)  # same answer ...
    assert mailoutbox == []  # ... but no link
    refused = Client().get(path)  # and the link sent before the freeze is dead
    assert refused.status_code == 400
    assert "This password reset link is not valid" in body(refused)


def test_an_expired_reset_link_is_refused(
    user: Any, mailoutbox: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    from datetime import datetime, timedelta

    request_reset(Client(), "alice@example.com")
    path = link_path(mailoutbox[-1])
    future = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(default_token_generator, "_now", lambda: future)
    response = Client().get(path)
    assert response.status_code == 400
    assert "has expired, has already been used" in body(response)


def test_a_tampered_reset_link_is_refused(user: Any, mailoutbox: Any) -> None:
    request_reset(Client(), "alice@example.com")
    path = link_path(mailoutbox[-1])
    uid, token = path.rstrip("/").split("/")[-2:]
    for bad in (
        f"/account/password/reset/{uid}/{token[:-1]}x/",
        f"/account/password/reset/Zm9v/{token}/",
    ):
        response = Client().get(bad)
        assert response.status_code == 400
        assert "This password reset link is not valid" in body(response)


@pytest.mark.parametrize("kind", ["ip", "user"])
def test_reset_requests_are_rate_limited(
    user: Any, mailoutbox: Any, bastion_settings: Any, kind: str
) -> None:
    bastion_settings(rate_limits={f"password-reset.{kind}": "2/h"})
    client = Client()
    for n in range(2):
        address = "alice@example.com" if kind == "user" else f"x{n}@example.com"
        assert client.post("/account/password/reset/", {"email": address}).status_code == 302
    refused = client.post("/account/password/reset/", {"email": "alice@example.com"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused.content.decode().startswith("Too many password resets have been requested")
    if kind == "user":  # the limit follows the address, whatever its case or the client's IP
        other_ip = Client(REMOTE_ADDR="10.9.8.7")
        refused = other_ip.post("/account/password/reset/", {"email": "ALICE@example.com"})
        assert refused.status_code == 429


def test_reset_with_a_malformed_address_says_why(client: Client) -> None:
    response = client.post("/account/password/reset/", {"email": "not an address"})
    assert response.status_code == 400
    assert "Enter a valid email address" in body(response)


# --- Registration -----------------------------------------------------------------------------


def register(client: Client, **fields: str) -> Any:
    data = {
        "username": "newbie",
        "email": "newbie@example.org",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(fields)
    return client.post("/account/register/", data)


def test_registration_is_closed_by_default(client: Client, bastion_settings: Any) -> None:
    bastion_settings(allow_registration=False)
    assert client.get("/account/register/").status_code == 404
    assert register(client).status_code == 404
    assert not User.objects.filter(username="newbie").exists()


def test_registration_end_to_end(client: Client, bastion_settings: Any, mailoutbox: Any) -> None:
    bastion_settings(allow_registration=True)
    assert 'name="password2"' in body(client.get("/account/register/"))
    response = register(client)
    assert response.status_code == 302
    assert response["Location"] == "/account/login/"
    created = User.objects.get(username="newbie")
    assert (created.email, created.email_verified) == ("newbie@example.org", False)
    assert created.check_password(NEW_PASSWORD)
    assert "account:create" in tags()
    [mail] = mailoutbox
    assert mail.to == ["newbie@example.org"]
    assert "Open the link sent to newbie@example.org" in body(client.get("/account/login/"))

    path = link_path(mail)
    assert client.post(path).status_code == 302
    created.refresh_from_db()
    assert created.email_verified


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "ALICE"}, "The username &#x27;ALICE&#x27; is already taken."),
        ({"email": "Alice@Example.com"}, "This email address is already used by another account"),
        ({"password2": "something else 99"}, "The two passwords do not match."),
        ({"password1": "newbie1234", "password2": "newbie1234"}, "too similar to the"),
        ({"password1": "short", "password2": "short"}, "This password is too short"),
        ({"username": "bad name!"}, "Usernames are 1-50 characters"),
        ({"email": "nope"}, "Enter a valid email address"),
    ],
)
def test_registration_refuses_bad_input_with_a_reason(
    client: Client,
    bastion_settings: Any,
    user: Any,
    mailoutbox: Any,
    fields: dict[str, str],
    message: str,
) -> None:
    bastion_settings(allow_registration=True)
    mailoutbox.clear()
    response = register(client, **fields)
    assert response.status_code == 400
    assert message in body(response)
    assert User.objects.count() == 1
    assert mailoutbox == []


def test_registration_refuses_a_breached_password(
    client: Client, bastion_settings: Any, tmp_path: Any
) -> None:
    from bastion.accounts.passwords import sha1_hex

    breached = tmp_path / "breached.txt"
    breached.write_bytes(b"0" * 40 + b":1\n" + sha1_hex(NEW_PASSWORD) + b":3\n" + b"F" * 40 + b"\n")
    bastion_settings(breached_passwords_file=str(breached))
    bastion_settings(allow_registration=True)
    response = register(client)
    assert response.status_code == 400
    assert "This password has appeared in a data breach" in body(response)


def test_registration_is_rate_limited_per_ip(client: Client, bastion_settings: Any) -> None:
    bastion_settings(allow_registration=True)
    bastion_settings(rate_limits={"email.ip": "2/h"})
    register(client, username="one", email="one@example.org")
    register(client, username="two", email="two@example.org")
    refused = register(client, username="three", email="three@example.org")
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert not User.objects.filter(username="three").exists()


# --- Redirects stay on this site --------------------------------------------------------------


def test_next_parameters_are_ignored(user: Any, mailoutbox: Any) -> None:
    evil = "https://evil.example/steal"
    client = logged_in(user, fresh=True)
    response = client.post(
        f"/account/email/change/?next={evil}", {"email": "alice@new.example", "next": evil}
    )
    assert response["Location"] == "/account/"
    path = link_path(mailoutbox[-1])
    response = client.post(f"{path}?next={evil}", {"next": evil})
    assert response["Location"] == "/account/"
    response = Client().post(
        f"/account/password/reset/?next={evil}", {"email": "x@y.org", "next": evil}
    )
    assert response["Location"] == "/account/password/reset/sent/"


def test_a_stale_post_goes_through_reauth_back_to_the_form(user: Any) -> None:
    response = logged_in(user).post(
        "/account/email/change/?next=https://evil.example/", {"email": "a@b.org"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/reauth/?next=%2Faccount%2Femail%2Fchange%2F"


def test_anonymous_visitors_are_sent_to_login(client: Client) -> None:
    for url in ("/account/email/change/", "/account/password/change/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/account/login/?next=")


def test_reset_links_use_the_configured_base_url(
    user: Any, mailoutbox: Any, settings: Any, bastion_settings: Any
) -> None:
    bastion_settings(base_url="https://pypi.corp.example")
    settings.ALLOWED_HOSTS = ["*"]  # an operator who let any Host in: links still use the base URL
    Client().post(
        "/account/password/reset/", {"email": "alice@example.com"}, HTTP_HOST="evil.example"
    )
    [url] = LINK.findall(mailoutbox[-1].body)
    assert url.startswith("https://pypi.corp.example/account/password/reset/")
