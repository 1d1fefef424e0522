"""Every admin page of the packages domain opens for an administrator (list and change
pages of each model), whatever the rows hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from bastion.packages.models import File, Project, Release, Role
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_list_and_change_page_opens(
    make_user: Callable[..., Any], upload: Any, token: str
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    admin = make_user("root", admin=True)
    client = Client()
    client.force_login(admin)
    for model in (Project, Release, Role, File):
        name = model._meta.model_name
        response = client.get(f"/admin/packages/{name}/")
        assert response.status_code == 200, name
        obj = model.objects.first()
        assert obj is not None
        response = client.get(f"/admin/packages/{name}/{obj.pk}/change/")
        assert response.status_code == 200, name
        # An id that does not exist: the admin's redirect with a message, never an error.
        response = client.get(f"/admin/packages/{name}/999999/change/")
        assert response.status_code == 302, name


def test_an_empty_to_field_is_a_bad_request(make_user: Callable[..., Any]) -> None:
    """Django's admin looked the empty name up as a field (a 500, found by the fuzz)."""
    admin = make_user("root", admin=True)
    project = Project.objects.create(name="demo", normalized_name="demo")
    client = Client()
    client.force_login(admin)
    response = client.get(f"/admin/packages/project/{project.pk}/change/?_popup&_to_field")
    assert response.status_code == 400
    assert "_to_field" in response.content.decode()
    response = client.get(f"/admin/packages/project/{project.pk}/change/?_to_field=id")
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["x" * 5000, "web%2Fsite.css" * 400, "a%00b"])
def test_a_static_name_no_file_can_have_is_not_found(name: str) -> None:
    response = Client().get(f"/static/{name}")
    assert response.status_code in (400, 404)
