"""What a user who cannot do something yet is shown instead: the way to set up two-factor
authentication (or verify the address) where the form would be, never a dead end; and the
reminder to make recovery codes for an account with a second factor and none left."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from django.db import transaction
from django.test import Client

from bastion.accounts import mfa
from bastion.authz import Action, Remedy, authorize, session_identity
from bastion.packages import services as packages
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN_FORM = 'action="/account/tokens/new/"'
SET_UP_2FA = '<a href="/account/two-factor/">Set up two-factor authentication</a>'


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def refused_section(body: str) -> str:
    match = re.search(
        r'<div class="notice notice-warning" id="token-refused">(.*?)</div>', body, re.S
    )
    assert match is not None, "no explanation where the token form would be"
    return match.group(1)


# --- authz says why, and what would help ---------------------------------------------------------


def test_authz_names_the_remedy_of_a_refusal(make_user: Callable[..., Any]) -> None:
    no_factor = session_identity(make_user("nofactor", two_factor=False))
    unverified = session_identity(make_user("unverified", email_verified=False))
    complete = session_identity(make_user("complete"))
    assert authorize(no_factor, Action.CREATE_TOKEN).remedy is Remedy.SECOND_FACTOR
    assert authorize(unverified, Action.CREATE_TOKEN).remedy is Remedy.VERIFY_EMAIL
    assert authorize(complete, Action.CREATE_TOKEN)
    assert authorize(complete, Action.ADMIN).remedy is None  # nothing the user can do


# --- the token form ---------------------------------------------------------------------------


def test_without_two_factor_the_account_page_shows_how_instead_of_the_token_form(
    make_user: Callable[..., Any],
) -> None:
    body = logged_in(make_user("bob", two_factor=False)).get("/account/").text
    assert TOKEN_FORM not in body
    assert 'name="expires_days"' not in body
    section = refused_section(body)
    assert "need a second factor on this index" in section
    assert SET_UP_2FA in section
    assert '<a href="/help/#two-factor-authentication">' in section


def test_with_two_factor_the_form_is_there(make_user: Callable[..., Any]) -> None:
    body = logged_in(make_user("carol")).get("/account/").text
    assert TOKEN_FORM in body
    assert 'id="token-refused"' not in body


def test_when_the_index_does_not_require_two_factor_the_form_is_there(
    make_user: Callable[..., Any], bastion_settings: Any
) -> None:
    bastion_settings(require_2fa=False)
    body = logged_in(make_user("bob", two_factor=False)).get("/account/").text
    assert TOKEN_FORM in body
    assert 'id="token-refused"' not in body


def test_an_unverified_address_is_pointed_at_its_verification(
    make_user: Callable[..., Any],
) -> None:
    body = logged_in(make_user("dora", email_verified=False)).get("/account/").text
    assert TOKEN_FORM not in body
    section = refused_section(body)
    assert "need a verified email address" in section
    assert '<a href="/account/#email-heading">' in section


def test_a_refused_token_post_says_what_to_do(make_user: Callable[..., Any]) -> None:
    response = logged_in(make_user("bob", two_factor=False)).post(
        "/account/tokens/new/", {"name": "ci"}
    )
    assert response.status_code == 403
    assert "Two-factor authentication is required" in response.text
    assert SET_UP_2FA in response.text


# --- the other pages the missing factor closes -------------------------------------------------


def test_the_management_page_of_an_owner_without_two_factor_says_what_to_do(
    make_user: Callable[..., Any],
) -> None:
    owner = make_user("olga", two_factor=False)
    with transaction.atomic():
        packages.create_project("remedy-demo", owner)
    response = logged_in(owner).get("/manage/project/remedy-demo/")
    assert response.status_code == 403
    assert SET_UP_2FA in response.text


def test_a_stranger_is_refused_without_a_way_that_would_not_help(
    make_user: Callable[..., Any],
) -> None:
    owner = make_user("olga")
    with transaction.atomic():
        packages.create_project("remedy-demo", owner)
    response = logged_in(make_user("steve")).get("/manage/project/remedy-demo/")
    assert response.status_code == 403
    assert "Set up two-factor authentication" not in response.text


def test_the_admin_site_tells_an_administrator_without_two_factor_what_to_do(
    make_user: Callable[..., Any],
) -> None:
    response = logged_in(make_user("nroot", admin=True, two_factor=False)).get(
        "/admin/", follow=True
    )
    assert response.status_code == 403
    assert SET_UP_2FA in response.text


# --- recovery codes ------------------------------------------------------------------------------


def sign_in(client: Client, user: Any) -> Any:
    client.post("/account/login/", {"username": user.username, "password": PASSWORD})
    return client.post(
        "/account/login/2fa/",
        {"totp_code": pyotp.TOTP(user.totp_seed).now()},
        follow=True,
    )


def test_signing_in_without_recovery_codes_reminds_and_does_not_detour(
    make_user: Callable[..., Any],
) -> None:
    """An account enrolled without codes (the command line's ``--with-totp`` does that)."""
    root = make_user("root", admin=True)
    assert mfa.lacks_recovery_codes(root)
    client = Client()
    page = sign_in(client, root)
    assert page.redirect_chain[-1][0] == "/account/"  # where it was going, no detour
    assert "Your account has no recovery codes" in page.text
    assert (
        '<a href="/account/two-factor/#recovery-heading">Generate recovery codes</a>' in page.text
    )
    assert 'id="recovery-codes-notice"' in page.text
    assert 'action="/account/two-factor/recovery-codes/generate/"' in page.text
    # Everything else still works: nobody is locked out for it.
    assert TOKEN_FORM in page.text

    generated = client.post("/account/two-factor/recovery-codes/generate/", follow=True)
    assert generated.redirect_chain[-1][0] == "/account/two-factor/recovery-codes/"
    assert len(re.findall(r"<li><code>", generated.text)) == 8
    assert not mfa.lacks_recovery_codes(root)
    after = client.get("/account/").text
    assert 'id="recovery-codes-notice"' not in after

    again = sign_in(Client(), root)
    assert "Your account has no recovery codes" not in again.text


def test_the_two_factor_page_warns_when_every_code_is_used(make_user: Callable[..., Any]) -> None:
    user = make_user("erin")
    codes = mfa.generate_recovery_codes(user)
    client = logged_in(user)
    assert "You have no recovery codes" not in client.get("/account/two-factor/").text
    for code in codes:
        mfa.check_recovery_code(user, code)
    page = client.get("/account/two-factor/").text
    assert "You have no recovery codes" in page
    assert "0 unused recovery codes left" in page


def test_an_account_without_a_factor_is_not_asked_for_recovery_codes(
    make_user: Callable[..., Any], bastion_settings: Any
) -> None:
    bastion_settings(require_2fa=False)
    user = make_user("fred", two_factor=False)
    assert not mfa.lacks_recovery_codes(user)
    page = Client()
    response = page.post("/account/login/", {"username": "fred", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/account/"
    assert "Your account has no recovery codes" not in response.text
    assert 'id="recovery-codes-notice"' not in response.text
