"""Authorisation as a matrix: every action x every kind of identity, from one table.

Adding an Action without adding its column here fails ``test_every_action_is_in_the_table``.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from bastion.authz import ANONYMOUS, Action, Identity, authorize, reauth_window, session_identity
from bastion.authz.policy import PROJECT_ACTIONS
from bastion.packages import services as packages
from bastion.tokens import services as tokens
from bastion.tokens.models import Token

pytestmark = pytest.mark.django_db

A = Action
#: What the owner of a project may do on it, and what an administrator may do as a moderator.
OWNING = {A.UPLOAD, A.YANK, A.DELETE, A.MANAGE_PROJECT, A.MANAGE_ROLES, A.ADD_OWNER, A.SCOPE_TOKEN}
MODERATING = {A.YANK, A.DELETE, A.MANAGE_PROJECT, A.MANAGE_ROLES, A.ADD_OWNER}
SIGNED_IN = {A.CREATE_PROJECT, A.CREATE_TOKEN, A.MANAGE_ACCOUNT}
# identity -> the set of actions allowed on project "samplepkg" (owned by "owner").
EXPECTED: dict[str, set[Action]] = {
    "anonymous": set(),
    "stranger session": SIGNED_IN,
    "maintainer session": SIGNED_IN | {A.UPLOAD, A.SCOPE_TOKEN},
    "owner session": SIGNED_IN | OWNING,
    # Re-authenticated too long ago: everything but handing the project to a new owner.
    "stale owner session": SIGNED_IN | OWNING - {A.ADD_OWNER},
    "admin session": SIGNED_IN | MODERATING | {A.ADMIN},
    "frozen owner session": set(),
    # An owner without a second factor: only their own account (where the factor is set up)
    # while BASTION_REQUIRE_2FA is on (the default).
    "no-2fa owner session": {A.MANAGE_ACCOUNT},
    "no-2fa owner user token": set(),
    "unverified-email owner token": set(),
    # Without a verified address: no uploads and no tokens, but the rest of what owners do.
    "unverified-email owner session": {A.MANAGE_ACCOUNT} | OWNING - {A.UPLOAD},
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
    fresh = int(time.time())
    stale = fresh - reauth_window() - 1

    def session(user: Any, at: int = fresh) -> Identity:
        return session_identity(user, reauthenticated_at=at)

    ids = {
        "anonymous": ANONYMOUS,
        "stranger session": session(stranger),
        "maintainer session": session(maintainer),
        "owner session": session(owner),
        "admin session": session(admin),
        "frozen owner session": session(frozen),
        "stale owner session": session(owner, stale),
        "no-2fa owner session": session(no2fa),
        "unverified-email owner session": session(unverified),
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
        target = project if action in PROJECT_ACTIONS else None
        decision = authorize(identity, action, target)
        expected = action in EXPECTED[identity_name]
        assert bool(decision) is expected, (identity_name, action, decision.reason)
        if not decision:
            assert decision.reason  # every denial says why
