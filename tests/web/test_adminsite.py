"""The Django admin behind bastion's login, second factor and policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_admin_login_is_bastions_login() -> None:
    """Django's own admin login form would take a password alone; it sends people to ours."""
    response = Client().get("/admin/login/?next=/admin/packages/file/")
    assert response.status_code == 302
    assert response["Location"] == "/account/login/?next=%2Fadmin%2Fpackages%2Ffile%2F"
    response = Client().post("/admin/login/", {"username": "root", "password": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/account/login/")


def test_only_administrators_with_a_second_factor_get_in(make_user: Callable[..., Any]) -> None:
    admin = make_user("root", admin=True)
    no2fa = make_user("nroot", admin=True, two_factor=False)
    stranger = make_user("steve")

    def admin_index(user: Any) -> Any:
        client = Client()
        client.force_login(user)
        return client.get("/admin/", follow=True)

    assert admin_index(admin).status_code == 200
    # Logged in but refused: the reason, not a redirect loop through the login page.
    refused = admin_index(no2fa)
    assert refused.status_code == 403
    assert "Two-factor authentication is required" in refused.content.decode()
    refused = admin_index(stranger)
    assert refused.status_code == 403
    assert "Administrators only" in refused.content.decode()
