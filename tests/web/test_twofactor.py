"""Two-factor authentication through the pages, with Django's test client and real TOTP codes:
the two-step login, enrolment, recovery codes, re-authentication and the rate limits."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from django.core import mail
from django.test import Client

from bastion.accounts import mfa
from bastion.accounts.models import RecoveryCode
from bastion.events.models import Event
from bastion.web.reauth import SESSION_KEY as REAUTH_KEY
from tests.conftest import PASSWORD
from tests.overrides import settings_override


def text(response: Any) -> str:
    return response.content.decode()


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def password_step(client: Client, name: str, next_url: str | None = None) -> Any:
    data = {"username": name, "password": PASSWORD}
    if next_url is not None:
        data["next"] = next_url
    path = "/account/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(path, data)


def logged_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def make_stale(client: Client) -> None:
    session = client.session
    session[REAUTH_KEY] = 0
    session.save()


# --- The login in two steps ---------------------------------------------------------------------


def test_password_alone_does_not_log_in_an_account_with_2fa(client: Client, user: Any) -> None:
    response = password_step(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/2fa/"
    assert logged_in_as(client) is None
    # The account page treats the visitor as anonymous until the second factor is proven.
    account = client.get("/account/")
    assert account.status_code == 302
    assert account["Location"].startswith("/account/login/?next=/account/")
    page = client.get("/account/login/2fa/")
    assert page.status_code == 200
    assert "Code from your authenticator app" in text(page)
    assert "alice" in text(page)


def test_totp_login_rotates_the_session_and_records_the_method(client: Client, user: Any) -> None:
    client.get("/account/login/")
    anonymous_key = client.session.session_key
    password_step(client, "alice")
    pending_key = client.session.session_key
    assert pending_key != anonymous_key
    response = client.post("/account/login/2fa/", {"totp_code": code_at(user.totp_seed)})
    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert logged_in_as(client) == user.pk
    assert client.session.session_key not in (anonymous_key, pending_key)
    assert isinstance(client.session[REAUTH_KEY], int)  # logging in counts as re-authenticating
    login = Event.objects.get(tag="account:login", actor_id=user.pk)
    assert login.additional == {"method": "totp"}
    assert "Your account" in text(client.get("/account/"))


def test_replayed_totp_code_is_refused_with_a_clear_message(client: Client, user: Any) -> None:
    code = code_at(user.totp_seed)
    password_step(client, "alice")
    assert client.post("/account/login/2fa/", {"totp_code": code}).status_code == 302
    client.post("/account/logout/")

    password_step(client, "alice")
    response = client.post("/account/login/2fa/", {"totp_code": code})
    assert response.status_code == 400
    assert "This TOTP code has already been used" in text(response)
    assert logged_in_as(client) is None
    failure = Event.objects.get(tag="account:2fa:failure", subject_id=user.pk)
    assert failure.additional["context"] == "login"


def test_wrong_and_out_of_sync_codes(client: Client, user: Any) -> None:
    password_step(client, "alice")
    wrong = client.post("/account/login/2fa/", {"totp_code": "000000"})
    if code_at(user.totp_seed) != "000000":
        assert wrong.status_code == 400
        assert "Invalid TOTP code." in text(wrong)
    drifted = client.post("/account/login/2fa/", {"totp_code": code_at(user.totp_seed, 5)})
    assert drifted.status_code == 400
    assert "Your device time may be out of sync" in text(drifted)
    empty = client.post("/account/login/2fa/", {"totp_code": ""})
    assert empty.status_code == 400
    assert "Enter a code." in text(empty)
    assert logged_in_as(client) is None


def test_recovery_code_works_once_then_is_refused_as_reused(
    client: Client, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    codes = mfa.generate_recovery_codes(user)
    password_step(client, "alice")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/login/2fa/", {"recovery_code": codes[0].upper()})
    assert response.status_code == 302
    assert Event.objects.get(tag="account:login", actor_id=user.pk).additional == {
        "method": "recovery code"
    }
    assert [m.subject for m in mail.outbox] == ["[bastion] A recovery code was used"]
    assert "7 unused codes remain" in mail.outbox[0].body
    client.post("/account/logout/")

    password_step(client, "alice")
    again = client.post("/account/login/2fa/", {"recovery_code": codes[0]})
    assert again.status_code == 400
    assert "has already been used: a code cannot be reused" in text(again)
    nonsense = client.post("/account/login/2fa/", {"recovery_code": "0123456789abcdef"})
    assert "Invalid recovery code." in text(nonsense)
    assert logged_in_as(client) is None
    assert client.post("/account/login/2fa/", {"recovery_code": codes[1]}).status_code == 302


def test_login_follows_a_local_next_through_the_second_step(client: Client, user: Any) -> None:
    password_step(client, "alice", "/project/demo/")
    response = client.post("/account/login/2fa/", {"totp_code": code_at(user.totp_seed)})
    assert response["Location"] == "/project/demo/"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x"])
def test_next_to_another_host_is_ignored(client: Client, user: Any, target: str) -> None:
    password_step(client, "alice", target)
    response = client.post("/account/login/2fa/", {"totp_code": code_at(user.totp_seed)})
    assert response.status_code == 302
    assert response["Location"] == "/account/"


def test_second_step_without_password_or_after_expiry(
    client: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = client.get("/account/login/2fa/", follow=True)
    assert "Your login has expired" in text(response)
    password_step(client, "alice")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 301)
    response = client.post(
        "/account/login/2fa/", {"totp_code": code_at(user.totp_seed)}, follow=True
    )
    assert "Your login has expired" in text(response)
    assert logged_in_as(client) is None


def test_account_frozen_between_the_steps_cannot_finish(client: Client, user: Any) -> None:
    password_step(client, "alice")
    user.is_frozen = True
    user.save(update_fields=["is_frozen"])
    response = client.post("/account/login/2fa/", {"totp_code": code_at(user.totp_seed)})
    assert response.status_code == 302
    assert response["Location"] == "/account/login/"
    assert logged_in_as(client) is None


def test_account_without_2fa_logs_in_with_the_password(
    client: Client, make_user: Callable[..., Any]
) -> None:
    bob = make_user("bob", two_factor=False)
    response = password_step(client, "bob")
    assert response["Location"] == "/account/"
    assert logged_in_as(client) == bob.pk
    page = text(client.get("/account/"))
    assert "This index requires two-factor authentication" in page
    assert "Authenticator app: off" in page


def test_failed_password_is_recorded(client: Client, user: Any) -> None:
    client.post("/account/login/", {"username": "alice", "password": "wrong"})
    client.post("/account/login/", {"username": "nobody", "password": "wrong"})
    failures = Event.objects.filter(tag="account:login:failure").order_by("id")
    assert [(e.subject_name, e.subject_id) for e in failures] == [
        ("alice", user.pk),
        ("nobody", None),
    ]


# --- Brute force ---------------------------------------------------------------------------------


@settings_override(rate_limits={"login.ip": "3/5m", "login.user": "3/5m"})
def test_login_lockout_holds_even_for_the_right_password(
    client: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        bad = client.post("/account/login/", {"username": "alice", "password": "wrong"})
        assert bad.status_code == 200
    locked = client.post(
        "/account/login/", {"username": "alice", "password": PASSWORD}, HTTP_ACCEPT="text/html"
    )
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    assert "too many unsuccessful login attempts" in text(locked)
    assert "bastion_2fa_pending" not in client.session

    # Another address guessing the same account is stopped by the per-user window.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert (
        other.post("/account/login/", {"username": "alice", "password": PASSWORD}).status_code
        == 429
    )

    import django_ratelimit.core

    real = time.time
    monkeypatch.setattr(django_ratelimit.core.time, "time", lambda: real() + 301)
    response = password_step(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/2fa/"


@settings_override(rate_limits={"2fa.user": "3/5m", "2fa.ip": "10/5m"})
def test_second_factor_attempts_are_limited(client: Client, user: Any) -> None:
    password_step(client, "alice")
    for _ in range(3):
        assert client.post("/account/login/2fa/", {"recovery_code": "x" * 16}).status_code == 400
    locked = client.post("/account/login/2fa/", {"totp_code": code_at(user.totp_seed)})
    assert locked.status_code == 429
    assert "Too many two-factor authentication attempts" in text(locked)
    assert logged_in_as(client) is None


# --- Enrolling TOTP, recovery codes -------------------------------------------------------------


def test_totp_enrolment_end_to_end(
    client: Client, make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    bob = make_user("bob", two_factor=False)
    password_step(client, "bob")

    page = client.get("/account/two-factor/totp/")
    assert page.status_code == 200
    body = text(page)
    assert "<svg" in body and 'class="qr-code"' in body  # QR code inline, no external image
    assert "<img" not in body
    shown = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', body)
    assert shown is not None
    secret = shown.group(1).replace(" ", "")
    assert text(client.get("/account/two-factor/totp/")).count(shown.group(1)) == 1  # same one

    wrong = client.post("/account/two-factor/totp/", {"code": "123"})
    assert wrong.status_code == 400
    assert "Invalid TOTP code" in text(wrong)

    enrol_code = code_at(secret)
    before = client.session.session_key
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/account/two-factor/totp/", {"code": enrol_code})
    assert done.status_code == 302
    assert client.session.session_key != before  # a privilege change rotates the session
    assert done["Location"] == "/account/two-factor/recovery-codes/"
    codes_page = client.get("/account/two-factor/recovery-codes/")
    assert "no-store" in codes_page["Cache-Control"]
    codes = re.findall(r"<code>([0-9a-f]{16})</code>", text(codes_page))
    assert len(codes) == 8
    assert "only time these codes are shown" in text(codes_page)
    again = client.get("/account/two-factor/recovery-codes/", follow=True)
    assert not re.findall(r"<code>([0-9a-f]{16})</code>", text(again))  # shown once

    bob.refresh_from_db()
    assert bob.has_totp
    assert Event.objects.filter(tag="account:2fa:totp:add", subject_id=bob.pk).exists()
    assert Event.objects.filter(tag="account:recovery_codes:generate", subject_id=bob.pk).exists()
    assert [m.subject for m in mail.outbox] == [
        "[bastion] Two-factor authentication added",
        "[bastion] New recovery codes",
    ]
    overview = text(client.get("/account/two-factor/"))
    assert "An authenticator app is set up." in overview
    assert "8 unused recovery codes left" in overview

    client.post("/account/logout/")
    password_step(client, "bob")
    replay = client.post("/account/login/2fa/", {"totp_code": enrol_code})
    assert "already been used" in text(replay)
    ok = client.post("/account/login/2fa/", {"totp_code": code_at(secret, 1)})
    assert ok.status_code == 302
    assert logged_in_as(client) == bob.pk


def test_regenerating_recovery_codes_replaces_the_old_ones(client: Client, user: Any) -> None:
    old = mfa.generate_recovery_codes(user)
    client.force_login(user)
    make_stale(client)
    # Sensitive: without a recent re-authentication the POST goes to the prompt.
    response = client.post("/account/two-factor/recovery-codes/generate/")
    assert response.status_code == 302
    assert response["Location"] == "/account/reauth/?next=%2Faccount%2Ftwo-factor%2F"
    client.post("/account/reauth/", {"totp_code": code_at(user.totp_seed)})
    response = client.post("/account/two-factor/recovery-codes/generate/", follow=True)
    new = re.findall(r"<code>([0-9a-f]{16})</code>", text(response))
    assert len(new) == 8 and not set(new) & set(old)
    assert not mfa.use_recovery_code(user, old[0])
    assert mfa.use_recovery_code(user, new[0])


def test_removing_the_last_factor_warns_that_uploads_stop(
    client: Client, user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mfa.generate_recovery_codes(user)
    client.force_login(user)
    page = text(client.get("/account/two-factor/"))
    assert "This is your only second factor" in page

    make_stale(client)
    stale = client.post("/account/two-factor/totp/remove/")
    assert stale["Location"].startswith("/account/reauth/")
    user.refresh_from_db()
    assert user.has_totp

    client.post("/account/reauth/", {"totp_code": code_at(user.totp_seed)})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/account/two-factor/totp/remove/", follow=True)
    body = text(response)
    assert "The authenticator app was removed" in body
    assert "you cannot create API tokens, upload or manage projects" in body
    user.refresh_from_db()
    assert not user.has_totp
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert Event.objects.filter(tag="account:2fa:totp:remove", subject_id=user.pk).exists()
    assert [m.subject for m in mail.outbox] == ["[bastion] Two-factor authentication removed"]


# --- Re-authentication ---------------------------------------------------------------------------


def test_reauth_with_totp_rotates_the_session_and_follows_next(client: Client, user: Any) -> None:
    client.force_login(user)
    make_stale(client)
    page = client.get("/account/two-factor/totp/")  # a sensitive page
    assert page.status_code == 302
    assert page["Location"] == "/account/reauth/?next=%2Faccount%2Ftwo-factor%2Ftotp%2F"
    prompt = client.get(page["Location"])
    assert "Confirm it\u2019s you" in text(prompt)
    assert "Code from your authenticator app" in text(prompt)

    before = client.session.session_key
    wrong = client.post("/account/reauth/", {"totp_code": "12", "next": "/account/two-factor/"})
    assert wrong.status_code == 400
    assert "Invalid TOTP code." in text(wrong)
    response = client.post(
        "/account/reauth/", {"totp_code": code_at(user.totp_seed), "next": "/account/two-factor/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/account/two-factor/"
    assert client.session.session_key != before
    assert logged_in_as(client) == user.pk
    assert Event.objects.filter(tag="account:reauthenticate", subject_id=user.pk).exists()


def test_reauth_ignores_a_foreign_next(client: Client, user: Any) -> None:
    client.force_login(user)
    page = text(client.get("/account/reauth/", {"next": "https://evil.example/"}))
    assert "evil.example" not in page
    response = client.post(
        "/account/reauth/",
        {"totp_code": code_at(user.totp_seed), "next": "https://evil.example/"},
    )
    assert response["Location"] == "/account/"


def test_reauth_asks_for_the_password_without_a_second_factor(
    client: Client, make_user: Callable[..., Any]
) -> None:
    bob = make_user("bob", two_factor=False)
    client.force_login(bob)
    assert "Password" in text(client.get("/account/reauth/"))
    bad = client.post("/account/reauth/", {"password": "nope"})
    assert bad.status_code == 400
    assert "Incorrect password." in text(bad)
    ok = client.post("/account/reauth/", {"password": PASSWORD, "next": "/account/two-factor/"})
    assert ok["Location"] == "/account/two-factor/"


def test_two_factor_pages_need_login(client: Client) -> None:
    for path in ("/account/two-factor/", "/account/two-factor/totp/", "/account/reauth/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/account/login/?next=")


# --- WebAuthn endpoints refuse bad input clearly ------------------------------------------------


def test_webauthn_endpoints_refuse_bad_requests(client: Client, user: Any) -> None:
    assert client.post("/account/webauthn/authenticate/other/options/").status_code == 404
    # The second step of a login needs a login in progress.
    response = client.post("/account/webauthn/authenticate/login/options/")
    assert response.status_code == 400
    assert "Your login has expired" in response.json()["error"]
    # A passkey sign-in with an unknown credential.
    options = client.post("/account/webauthn/authenticate/passkey/options/")
    assert options.status_code == 200
    assert options.json()["publicKey"]["userVerification"] == "required"
    forged = {
        "credential": {
            "id": "AAAA",
            "rawId": "AAAA",
            "type": "public-key",
            "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
        }
    }
    refused = client.post(
        "/account/webauthn/authenticate/passkey/verify/", forged, content_type="application/json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]
    garbage = client.post(
        "/account/webauthn/authenticate/passkey/verify/",
        "not json",
        content_type="application/json",
    )
    assert garbage.status_code == 400
    assert garbage.json()["error"] == "The request carries no credential."
    assert logged_in_as(client) is None

    # Registering needs a login and a recent re-authentication.
    assert client.post("/account/webauthn/register/options/").status_code == 403
    client.force_login(user)
    make_stale(client)
    stale = client.post("/account/webauthn/register/options/")
    assert stale.status_code == 403
    assert stale.json()["redirect"].startswith("/account/reauth/")


def test_registration_options_exclude_nothing_and_prefer_a_passkey(
    client: Client, user: Any
) -> None:
    client.force_login(user)
    session = client.session
    session[REAUTH_KEY] = int(time.time())
    session.save()
    options = client.post("/account/webauthn/register/options/", HTTP_HOST="localhost:8000")
    assert options.status_code == 200
    public = options.json()["publicKey"]
    assert public["rp"]["id"] == "localhost"
    assert public["attestation"] == "none"
    assert public["authenticatorSelection"]["residentKey"] == "preferred"
    assert public["user"]["name"] == "alice"
