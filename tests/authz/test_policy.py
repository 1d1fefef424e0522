"""The parts of :mod:`bastion.authz` that the matrices do not spell out: the re-authentication
window, who may sign in, which action granting a role is, and what a refusal asks of the user."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction

from bastion import authz
from bastion.accounts.backends import BastionBackend
from bastion.authz import Action, authorize, session_identity
from bastion.packages import services as packages
from bastion.packages.models import Role
from bastion.tokens import services as tokens
from tests.overrides import settings_override


@settings_override(reauth_seconds=60)
def test_the_reauthentication_window_is_the_setting() -> None:
    now = 1_000_000.0
    assert authz.reauth_window() == 60
    assert authz.is_fresh(int(now) - 60, now=now)
    assert not authz.is_fresh(int(now) - 61, now=now)
    assert not authz.is_fresh(int(now) + 5, now=now)  # from the future: a forged session value
    assert not authz.is_fresh(None, now=now)
    assert not authz.is_fresh("999999", now=now)


def test_granting_ownership_is_its_own_action() -> None:
    assert authz.granting(Role.OWNER) is Action.ADD_OWNER
    assert authz.granting(Role.MAINTAINER) is Action.MANAGE_ROLES


@pytest.mark.django_db
def test_the_login_backend_and_authz_agree_on_who_may_sign_in(
    make_user: Callable[..., Any],
) -> None:
    active = make_user("active")
    frozen = make_user("frozen")
    frozen.is_frozen = True
    closed = make_user("closed")
    closed.is_active = False
    backend = BastionBackend()
    for user, expected in ((active, True), (frozen, False), (closed, False)):
        assert authz.may_sign_in(user) is expected
        assert backend.user_can_authenticate(user) is expected


@pytest.fixture
def project(make_user: Callable[..., Any]) -> Any:
    owner = make_user("owner")
    maintainer = make_user("maint")
    admin = make_user("root", admin=True)
    with transaction.atomic():
        project = packages.create_project("samplepkg", owner)
        packages.add_role(project, maintainer, Role.MAINTAINER, actor=owner)
    project.people = {"owner": owner, "maint": maintainer, "root": admin}
    return project


@pytest.mark.django_db
def test_a_stale_session_is_asked_to_reauthenticate_only_when_it_would_be_allowed(
    project: Any,
) -> None:
    stale = int(time.time()) - authz.reauth_window() - 10
    for who in ("owner", "root"):
        decision = authorize(
            session_identity(project.people[who], reauthenticated_at=stale),
            Action.ADD_OWNER,
            project,
        )
        assert not decision and decision.reauthenticate, who
    refused = authorize(
        session_identity(project.people["maint"], reauthenticated_at=int(time.time())),
        Action.ADD_OWNER,
        project,
    )
    assert not refused and not refused.reauthenticate
    assert "isn't allowed" in refused.reason


@pytest.mark.django_db
def test_a_token_names_only_projects_its_user_has_a_role_on(
    project: Any, make_user: Callable[..., Any]
) -> None:
    _, token = tokens.create_token(project.people["maint"], "ci", projects=["samplepkg"])
    assert token.projects == ["samplepkg"]
    # An administrator moderates projects but never puts them in a token of theirs.
    with pytest.raises(tokens.TokenRequestError, match="You have no role on project"):
        tokens.create_token(project.people["root"], "ci", projects=["samplepkg"])
    stranger = make_user("stranger")
    with pytest.raises(tokens.TokenRequestError, match="You have no role on project 'samplepkg'"):
        tokens.create_token(stranger, "ci", projects=["samplepkg"])
