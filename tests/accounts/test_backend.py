from typing import Any

import pytest
from django.contrib.auth import authenticate

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_frozen_user_cannot_authenticate(user: Any) -> None:
    assert authenticate(username="alice", password=PASSWORD) == user
    user.is_frozen = True
    user.save()
    assert authenticate(username="alice", password=PASSWORD) is None


def test_passwords_are_argon2(user: Any) -> None:
    assert user.password.startswith("argon2$")
