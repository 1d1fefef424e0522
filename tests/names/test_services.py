"""The name policy with the operator's rows (database-backed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bastion.names.models import (
    NameOverride,
    Namespace,
    NotProtected,
    ProhibitedName,
    ProtectedName,
)
from bastion.names.services import check_new_project_name

pytestmark = pytest.mark.django_db


def test_shipped_lookalike_refused(user: Any) -> None:
    v = check_new_project_name("reqeusts", user_id=user.pk)
    assert not v.allowed
    assert (v.target, v.kind) == ("requests", "one-edit")
    assert v.reason == (
        "The name 'reqeusts' is too similar to an existing project, 'requests' "
        "(one edit: two letters swapped)."
    )


def test_fresh_name_allowed(user: Any) -> None:
    assert check_new_project_name("acme-widgets-internal", user_id=user.pk).allowed


def test_operator_protected_and_released(user: Any) -> None:
    assert check_new_project_name("acmewidgest", user_id=user.pk).allowed
    row = ProtectedName.objects.create(name="AcmeWidgets")
    v = check_new_project_name("acmewidgest", user_id=user.pk)
    assert not v.allowed and v.target == "acmewidgets"
    NotProtected.objects.create(name="acmewidgets")
    assert check_new_project_name("acmewidgest", user_id=user.pk).allowed
    row.delete()


def test_prohibited_row(user: Any) -> None:
    ProhibitedName.objects.create(name="Internal_Secret", reason="trademark")
    v = check_new_project_name("internal-secret", user_id=user.pk)
    assert not v.allowed and v.code == "prohibited"
    assert v.reason == "The name 'internal-secret' isn't allowed."


def test_stdlib(user: Any) -> None:
    v = check_new_project_name("asyncio", user_id=user.pk)
    assert not v.allowed and v.code == "stdlib"


def test_namespace(make_user: Callable[..., Any]) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    Namespace.objects.create(prefix="acme", owner=alice)
    assert check_new_project_name("acme-tools", user_id=alice.pk).allowed
    v = check_new_project_name("acme-tools", user_id=bob.pk)
    assert not v.allowed and v.code == "namespace"
    assert not check_new_project_name("acme", user_id=bob.pk).allowed
    assert check_new_project_name("acmelabs-tools", user_id=bob.pk).allowed


def test_override(make_user: Callable[..., Any]) -> None:
    alice, mod = make_user("alice"), make_user("mod", admin=True)
    assert not check_new_project_name("reqeusts", user_id=alice.pk).allowed
    NameOverride.objects.create(name="Reqeusts", user=alice, moderator=mod, reason="tests")
    v = check_new_project_name("reqeusts", user_id=alice.pk)
    assert v.allowed and v.code == "override"
    assert not check_new_project_name("reqeusts", user_id=None).allowed


def test_the_index_projects(user: Any) -> None:
    v = check_new_project_name("localtoool", user_id=user.pk, projects=["localtool"])
    assert not v.allowed and v.target == "localtool" and v.code == "lookalike"
    v = check_new_project_name("LocalTool", user_id=user.pk, projects=["localtool"])
    assert not v.allowed and v.code == "existing"
    assert v.reason == (
        "'LocalTool' is an existing project on this index: only its owners and maintainers "
        "can upload to it."
    )


def test_exact_protected_name_is_reserved(make_user: Callable[..., Any]) -> None:
    alice, mod = make_user("alice"), make_user("mod", admin=True)
    v = check_new_project_name("requests", user_id=alice.pk)
    assert not v.allowed and v.code == "reserved" and v.target == "requests"
    NameOverride.objects.create(name="requests", user=alice, moderator=mod, reason="our fork")
    assert check_new_project_name("requests", user_id=alice.pk).allowed
