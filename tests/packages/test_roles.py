"""Roles and invitations through the packages domain: the lifecycle of an invitation, the
last-owner rule on every path, events on the project and on the user, and the emails sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from bastion.events.models import Event
from bastion.packages import roles
from bastion.packages import services as packages
from bastion.packages.models import Project, Role, RoleInvitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_user: Callable[..., Any]) -> Project:
    owner = make_user("olivia")
    return packages.create_project("widgets", owner)


def owner_of(project: Project) -> Any:
    return Role.objects.get(project=project, role_name=Role.OWNER).user


def tags(kind: str, name: str) -> list[str]:
    return list(
        Event.objects.filter(subject_kind=kind, subject_name=name)
        .order_by("id")
        .values_list("tag", flat=True)
    )


def test_invite_then_accept(
    project: Project, make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    owner = owner_of(project)
    bob = make_user("bob")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = roles.invite(project, "bob", Role.MAINTAINER, actor=owner)
    assert packages.role_of(bob, project) is None  # nothing granted before acceptance
    assert invitation.expires > timezone.now() + timedelta(hours=71)
    to_bob = [m for m in mail.outbox if m.to == ["bob@example.com"]]
    assert len(to_bob) == 1
    assert "invited you to become maintainer of the project 'widgets'" in to_bob[0].body
    assert any(m.to == ["olivia@example.com"] for m in mail.outbox)
    assert tags("project", "widgets")[-1] == "project:role:invite"
    assert tags("user", "bob")[-1] == "account:role:invite"

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        role = roles.accept(invitation.pk, user=bob)
    assert role.role_name == Role.MAINTAINER
    assert packages.role_of(bob, project) == Role.MAINTAINER
    assert not RoleInvitation.objects.exists()
    assert tags("project", "widgets")[-1] == "project:role:accept"
    assert tags("user", "bob")[-1] == "account:role:accept"
    owner_mail = [m for m in mail.outbox if m.to == ["olivia@example.com"]]
    assert owner_mail and "bob accepted the invitation" in owner_mail[0].body


def test_decline(project: Project, make_user: Callable[..., Any]) -> None:
    bob = make_user("bob")
    invitation = roles.invite(project, "bob", Role.OWNER, actor=owner_of(project))
    roles.decline(invitation.pk, user=bob)
    assert packages.role_of(bob, project) is None
    assert not RoleInvitation.objects.exists()
    assert tags("user", "bob")[-1] == "account:role:decline"
    assert tags("project", "widgets")[-1] == "project:role:decline"


def test_only_the_invitee_can_answer(project: Project, make_user: Callable[..., Any]) -> None:
    make_user("bob")
    mallory = make_user("mallory")
    invitation = roles.invite(project, "bob", Role.OWNER, actor=owner_of(project))
    with pytest.raises(roles.RoleError, match="does not exist"):
        roles.accept(invitation.pk, user=mallory)
    with pytest.raises(roles.RoleError, match="does not exist"):
        roles.decline(invitation.pk, user=mallory)
    assert packages.role_of(mallory, project) is None
    assert RoleInvitation.objects.filter(pk=invitation.pk).exists()


def test_expired_invitation_cannot_be_accepted_and_can_be_renewed(
    project: Project, make_user: Callable[..., Any], bastion_settings: Any
) -> None:
    bastion_settings(invitation_hours=1)
    bob = make_user("bob")
    owner = owner_of(project)
    invitation = roles.invite(project, "bob", Role.MAINTAINER, actor=owner)
    RoleInvitation.objects.filter(pk=invitation.pk).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert roles.pending_invitations(bob) == []
    with pytest.raises(roles.RoleError, match="has expired"):
        roles.accept(invitation.pk, user=bob)
    assert packages.role_of(bob, project) is None
    # An expired invitation does not block a new one.
    renewed = roles.invite(project, "bob", Role.MAINTAINER, actor=owner)
    assert renewed.pk != invitation.pk
    assert roles.pending_invitations(bob) == [renewed]


def test_revoked_invitation_cannot_be_accepted(
    project: Project, make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    bob = make_user("bob")
    owner = owner_of(project)
    invitation = roles.invite(project, "bob", Role.MAINTAINER, actor=owner)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        roles.revoke(project, invitation.pk, actor=owner)
    assert any("revoked the invitation" in m.body for m in mail.outbox if m.to == [bob.email])
    assert tags("user", "bob")[-1] == "account:role:revoke"
    with pytest.raises(roles.RoleError, match="does not exist"):
        roles.accept(invitation.pk, user=bob)
    assert packages.role_of(bob, project) is None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("role", "User 'bob' already has maintainer role for project 'widgets'."),
        ("invited", "User 'bob' already has an active invite. Please try again later."),
        ("unknown", "No user found with the username 'nobody'."),
        ("unverified", "does not have a verified primary email address"),
        ("bad-role", "Unknown role 'admin'"),
    ],
)
def test_invitation_refused(
    project: Project, make_user: Callable[..., Any], setup: str, message: str
) -> None:
    owner = owner_of(project)
    bob = make_user("bob", email_verified=setup != "unverified")
    username, role_name = "bob", Role.MAINTAINER
    if setup == "role":
        packages.add_role(project, bob, Role.MAINTAINER, actor=owner)
    elif setup == "invited":
        roles.invite(project, "bob", Role.OWNER, actor=owner)
    elif setup == "unknown":
        username = "nobody"
    elif setup == "bad-role":
        role_name = "admin"
    before = Event.objects.count()
    invitations = RoleInvitation.objects.count()
    with pytest.raises(roles.RoleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        roles.invite(project, username, role_name, actor=owner)
    assert Event.objects.count() == before
    assert RoleInvitation.objects.count() == invitations


def test_the_last_owner_stays_on_every_path(
    project: Project, make_user: Callable[..., Any]
) -> None:
    owner = owner_of(project)
    message = "'olivia' is the last owner of 'widgets'"
    before = Event.objects.count()
    with pytest.raises(roles.RoleError, match=message):
        roles.leave(project, user=owner)
    with pytest.raises(roles.RoleError, match=message):
        roles.remove_role(project, "olivia", actor=owner)
    with pytest.raises(roles.RoleError, match=message):
        roles.change_role(project, "olivia", Role.MAINTAINER, actor=owner)
    assert packages.role_of(owner, project) == Role.OWNER
    assert Event.objects.count() == before

    # With a second owner, either may go, and then the other is the last one.
    bob = make_user("bob")
    roles.accept(roles.invite(project, "bob", Role.OWNER, actor=owner).pk, user=bob)
    roles.change_role(project, "olivia", Role.MAINTAINER, actor=bob)
    assert packages.role_of(owner, project) == Role.MAINTAINER
    with pytest.raises(roles.RoleError, match="'bob' is the last owner"):
        roles.leave(project, user=bob)
    roles.leave(project, user=owner)  # a maintainer can always leave
    assert packages.role_of(owner, project) is None
    assert tags("user", "olivia")[-1] == "account:role:remove"
    assert Event.objects.filter(tag="project:role:remove", additional__left=True).exists()


def test_change_and_remove_tell_everyone_concerned(
    project: Project, make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any
) -> None:
    owner = owner_of(project)
    bob = make_user("bob")
    roles.accept(roles.invite(project, "bob", Role.MAINTAINER, actor=owner).pk, user=bob)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        roles.change_role(project, "bob", Role.OWNER, actor=owner)
    assert {tuple(m.to) for m in mail.outbox} == {("bob@example.com",), ("olivia@example.com",)}
    assert "from maintainer to owner" in mail.outbox[0].body
    event = Event.objects.filter(tag="project:role:change").get()
    assert event.additional == {"user": "bob", "role": "owner", "previous_role": "maintainer"}

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        roles.remove_role(project, "bob", actor=owner)
    assert packages.role_of(bob, project) is None
    assert any("olivia removed you from 'widgets'" in m.body for m in mail.outbox)
    assert any(m.to == ["olivia@example.com"] for m in mail.outbox)


def test_a_failing_change_writes_no_event(
    project: Project, make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event and the change share one transaction: when the change fails after the event
    was written, neither remains (and nobody is emailed)."""
    owner = owner_of(project)
    bob = make_user("bob")
    invitation = roles.invite(project, "bob", Role.MAINTAINER, actor=owner)
    before = Event.objects.count()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    # The invitation is deleted after the role was created and before the events are written:
    # break the user event, the last write of the change.
    monkeypatch.setattr(roles.events, "record_user", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        roles.accept(invitation.pk, user=bob)
    assert packages.role_of(bob, project) is None
    assert RoleInvitation.objects.filter(pk=invitation.pk).exists()
    assert Event.objects.count() == before
    assert not Event.objects.filter(tag="project:role:accept").exists()
