"""Authorisation as a matrix: every action x every kind of identity, from one table.

Adding an Action without adding its column here fails ``test_every_action_is_in_the_table``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from bastion.packages import services as packages
from bastion.tokens import services as tokens
from bastion.tokens.models import Token
from bastion.tokens.policy import ANONYMOUS, Action, Identity, authorize, session_identity

pytestmark = pytest.mark.django_db

A = Action
# identity -> the set of actions allowed on project "samplepkg" (owned by "owner").
EXPECTED: dict[str, set[Action]] = {
    "anonymous": set(),
    "stranger session": {A.CREATE_PROJECT, A.CREATE_TOKEN},
    "maintainer session": {A.CREATE_PROJECT, A.CREATE_TOKEN, A.UPLOAD},
    "owner session": {A.CREATE_PROJECT, A.CREATE_TOKEN, A.UPLOAD, A.YANK, A.DELETE, A.MANAGE_ROLES},
    "admin session": {A.CREATE_PROJECT, A.CREATE_TOKEN, A.YANK, A.DELETE, A.MANAGE_ROLES, A.ADMIN},
    "frozen owner session": set(),
    # An owner without a second factor: nothing while BASTION_REQUIRE_2FA is on (the default).
    "no-2fa owner session": set(),
    "no-2fa owner user token": set(),
    "unverified-email owner token": set(),
    "owner user token": {A.CREATE_PROJECT, A.UPLOAD},
    "owner token for samplepkg": {A.UPLOAD},
    "owner token for other": set(),
    "owner expired token": set(),
    "owner not-yet-valid token": set(),
    "owner upload-only token": {A.UPLOAD},
    "stranger user token": {A.CREATE_PROJECT},
    "maintainer user token": {A.CREATE_PROJECT, A.UPLOAD},
}


@pytest.fixture
def identities(make_user: Any) -> tuple[dict[str, Identity], Any]:
    owner = make_user("owner")
    maintainer = make_user("maint")
    stranger = make_user("stranger")
    admin = make_user("root", admin=True)
    frozen = make_user("frozen")
    no2fa = make_user("nora", two_factor=False)
    unverified = make_user("uma", email_verified=False)
    with transaction.atomic():
        project = packages.create_project("samplepkg", owner)
        packages.create_project("other", owner)
        packages.add_role(project, maintainer, "maintainer", actor=owner)
        packages.add_role(project, frozen, "owner", actor=owner)
        packages.add_role(project, no2fa, "owner", actor=owner)
        packages.add_role(project, unverified, "owner", actor=owner)
    frozen.is_frozen = True
    frozen.save()

    def tok(user: Any, **kwargs: Any) -> Identity:
        raw, _ = tokens.create_token(user, f"t{Token.objects.count()}", **kwargs)
        return tokens.authenticate(raw)

    now = timezone.now()
    ids = {
        "anonymous": ANONYMOUS,
        "stranger session": session_identity(stranger),
        "maintainer session": session_identity(maintainer),
        "owner session": session_identity(owner),
        "admin session": session_identity(admin),
        "frozen owner session": session_identity(frozen),
        "no-2fa owner session": session_identity(no2fa),
        "no-2fa owner user token": tok(no2fa),
        "unverified-email owner token": tok(unverified),
        "owner user token": tok(owner),
        "owner token for samplepkg": tok(owner, projects=["samplepkg"]),
        "owner token for other": tok(owner, projects=["other"]),
        "owner expired token": _expired(tok(owner, expires=now + timedelta(hours=1)), owner),
        "owner not-yet-valid token": tok(owner, not_before=now + timedelta(hours=1)),
        "owner upload-only token": tok(owner, upload_only=True),
        "stranger user token": tok(stranger),
        "maintainer user token": tok(maintainer),
    }
    return ids, project


def _expired(identity: Identity, owner: Any) -> Identity:
    assert identity.token is not None
    past = int((timezone.now() - timedelta(seconds=5)).timestamp())
    identity.token.caveats = [[3, owner.pk], [0, past, 0]]
    identity.token.save()
    return identity


def test_every_action_is_in_the_table() -> None:
    assert set(EXPECTED) and all(isinstance(v, set) for v in EXPECTED.values())
    mentioned = set().union(*EXPECTED.values())
    assert mentioned == set(Action), f"actions without any expectation: {set(Action) - mentioned}"


@pytest.mark.parametrize("identity_name", sorted(EXPECTED))
def test_matrix(identities: tuple[dict[str, Identity], Any], identity_name: str) -> None:
    ids, project = identities
    assert set(ids) == set(EXPECTED)
    identity = ids[identity_name]
    for action in Action:
        target = project if action in (A.UPLOAD, A.YANK, A.DELETE, A.MANAGE_ROLES) else None
        decision = authorize(identity, action, target)
        expected = action in EXPECTED[identity_name]
        assert bool(decision) is expected, (identity_name, action, decision.reason)
        if not decision:
            assert decision.reason  # every denial says why
