"""NUL characters in URLs: refused up front (PostgreSQL cannot even compare them)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path",
    [
        "/names/check/?name=a%00b",
        "/simple/a%00b/",
        "/project/a%00b/",
        "/project/x/1%00/",
        "/pypi/a%00b/json",
        "/pypi/x/1%00/json",
        "/?q=a%00b",
        "/packages/aa/bb/cc%00.whl",
        "/account/login/?next=%00",
    ],
)
def test_a_nul_in_the_url_is_a_400_with_a_reason(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 400
    assert response.reason_phrase == "Null bytes are not allowed."


def test_ordinary_urls_pass() -> None:
    assert Client().get("/names/check/?name=requests").status_code == 200
