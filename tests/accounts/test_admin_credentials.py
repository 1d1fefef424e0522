"""Changes made to an account in the admin site land in the user's security history and are
told to the user by email, as the same changes on bastion's own pages are."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from bastion.accounts.models import User
from bastion.events.models import Event
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a different horse, battery and staple"


def _admin(make_user: Callable[..., Any]) -> Client:
    client = Client()
    client.force_login(make_user("root", admin=True))
    return client


def _history(user: Any) -> list[str]:
    """The rows of the security history on the user's own account page, as text."""
    user.refresh_from_db()  # a new password changes the hash a session is checked against
    client = Client()
    client.force_login(user)
    body = client.get("/account/").content.decode()
    section = body.split('id="history-heading"', 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def _change_form(user: User, **changes: Any) -> dict[str, Any]:
    """The admin's change form of ``user`` as the page would post it."""
    data: dict[str, Any] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "initial-date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "initial-date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    if user.last_login is not None:
        data["last_login_0"] = user.last_login.strftime("%Y-%m-%d")
        data["last_login_1"] = user.last_login.strftime("%H:%M:%S")
    for flag in ("is_active", "is_staff", "is_superuser", "email_verified", "is_frozen"):
        if getattr(user, flag):
            data[flag] = "on"
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = "on" if value is True else value
    return data


def test_the_admin_password_page_goes_through_the_account_service(
    make_user: Callable[..., Any],
) -> None:
    alice = make_user("alice")
    admin = _admin(make_user)
    page = admin.get(f"/admin/accounts/user/{alice.pk}/password/")
    assert page.status_code == 200
    assert "Disable password-based authentication" not in page.content.decode()
    mail.outbox.clear()
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD) and not alice.check_password(PASSWORD)
    changed = next(row for row in _history(alice) if "Changed the password" in row)
    assert "root" in changed and "127.0.0.1" in changed
    (notice,) = [m for m in mail.outbox if alice.email in m.to]
    assert "password" in notice.subject.lower() and "root" in notice.body


def test_a_weak_password_is_refused_in_the_admin_too(make_user: Callable[..., Any]) -> None:
    alice = make_user("alice")
    admin = _admin(make_user)
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/password/",
        {"password1": "password", "password2": "password"},
    )
    assert response.status_code == 200 and "errornote" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    assert not Event.objects.filter(tag="account:password:change").exists()


def test_bastions_own_password_page_still_records_and_tells(
    make_user: Callable[..., Any],
) -> None:
    alice = make_user("alice")
    client = Client()
    client.force_login(alice)
    mail.outbox.clear()
    response = client.post(
        "/account/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert any("Changed the password" in row and "alice" in row for row in _history(alice))
    subjects = [m.subject for m in mail.outbox if alice.email in m.to]
    assert len(subjects) == 1 and subjects[0].endswith("Your password was changed")


def test_an_address_changed_in_the_admin_is_told_to_both_addresses(
    make_user: Callable[..., Any],
) -> None:
    alice = make_user("alice")
    admin = _admin(make_user)
    mail.outbox.clear()
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/change/", _change_form(alice, email="new@example.com")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert alice.email == "new@example.com"
    row = next(r for r in _history(alice) if "email address" in r)
    assert "alice@example.com" in row and "new@example.com" in row and "root" in row
    told = {address for m in mail.outbox for address in m.to}
    assert {"alice@example.com", "new@example.com"} <= told


def test_an_address_of_another_account_is_refused(make_user: Callable[..., Any]) -> None:
    alice = make_user("alice")
    make_user("bob")
    admin = _admin(make_user)
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/change/", _change_form(alice, email="BOB@example.com")
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.email == "alice@example.com"


def test_freezing_in_the_admin_is_in_the_history_and_told(make_user: Callable[..., Any]) -> None:
    alice = make_user("alice")
    admin = _admin(make_user)
    mail.outbox.clear()
    response = admin.post(
        f"/admin/accounts/user/{alice.pk}/change/", _change_form(alice, is_frozen=True)
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_frozen
    event = Event.objects.get(tag="account:change", subject_id=alice.pk)
    assert event.actor_name == "root" and event.additional["changes"] == {"is_frozen": "on"}
    assert any(alice.email in m.to and "is_frozen: on" in m.body for m in mail.outbox)


def test_an_account_added_in_the_admin_is_made_by_the_account_service(
    make_user: Callable[..., Any],
) -> None:
    admin = _admin(make_user)
    response = admin.post(
        "/admin/accounts/user/add/",
        {
            "username": "carol",
            "email": "carol@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert carol.check_password(NEW_PASSWORD)
    event = Event.objects.get(tag="account:create", subject_id=carol.pk)
    assert event.actor_name == "root"
    # The same rules as everywhere: a taken address, a weak password.
    for email, password in (("carol@example.com", NEW_PASSWORD), ("dan@example.com", "123")):
        response = admin.post(
            "/admin/accounts/user/add/",
            {"username": "dan", "email": email, "password1": password, "password2": password},
        )
        assert response.status_code == 200
    assert not User.objects.filter(username="dan").exists()


def test_deleting_an_account_in_the_admin_is_in_the_audit_trail(
    make_user: Callable[..., Any],
) -> None:
    alice = make_user("alice")
    admin = _admin(make_user)
    response = admin.post(f"/admin/accounts/user/{alice.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(username="alice").exists()
    assert Event.objects.get(tag="account:remove", subject_name="alice").actor_name == "root"
