"""Who may act on a project: owners and maintainers, and the invitations that make them.

A role is never granted directly from the web: an owner *invites* a user, and the role exists
only once that user accepts. Each change writes an event about the project and one about the
user concerned, in the same transaction as the change, and emails the people concerned once it
commits. The project's row is locked while its roles change, so that two owners removing each
other at the same moment cannot leave a project with no owner at all.

These functions decide what is *possible* (the last owner stays, an invitation is for its
invitee); whether the caller is *allowed* to ask is decided before, by
:func:`bastion.authz.authorize` with ``Action.MANAGE_ROLES`` (``ADD_OWNER`` to grant ownership).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bastion import config
from bastion.accounts.models import User
from bastion.accounts.notify import send_security_notice
from bastion.events import services as events
from bastion.packages.models import Project, Role, RoleInvitation
from bastion.packages.services import PackageError, _record

ROLE_NAMES = (Role.OWNER, Role.MAINTAINER)


class RoleError(PackageError):
    """A role change that cannot be made; the message is for the person who asked."""


def last_owner_message(project: Project, username: str) -> str:
    return (
        f"'{username}' is the last owner of '{project.name}': a project must always have an "
        "owner. Invite another owner first (or delete the project)."
    )


# ---------------------------------------------------------------------------------------------
# Reading


def collaborators(project: Project) -> list[Role]:
    """The project's roles, owners first."""
    return list(
        Role.objects.filter(project=project)
        .select_related("user")
        .order_by("-role_name", "user__username")  # "owner" sorts after "maintainer"
    )


def project_invitations(project: Project) -> list[RoleInvitation]:
    """Invitations of a project that were neither answered nor revoked (expired ones too, so
    that owners see why nobody joined)."""
    return list(RoleInvitation.objects.filter(project=project).select_related("invitee", "inviter"))


def pending_invitations(user: User) -> list[RoleInvitation]:
    """The invitations ``user`` can still accept."""
    return list(
        RoleInvitation.objects.filter(invitee=user, expires__gt=timezone.now()).select_related(
            "project", "inviter"
        )
    )


def is_expired(invitation: RoleInvitation) -> bool:
    return invitation.is_expired


def owner_count(project: Project) -> int:
    return Role.objects.filter(project=project, role_name=Role.OWNER).count()


# ---------------------------------------------------------------------------------------------
# Helpers


def _check_role_name(role_name: str) -> None:
    if role_name not in ROLE_NAMES:
        raise RoleError(f"Unknown role {role_name!r}: choose owner or maintainer.")


def _lock(project: Project) -> None:
    """Serialise role changes of one project (a no-op lock on SQLite, whose writers are
    serialised anyway)."""
    Project.objects.select_for_update().filter(pk=project.pk).first()


def _both_events(
    verb: str,
    project: Project,
    user: User,
    *,
    actor: User,
    request: Any,
    **extra: Any,
) -> None:
    """``project:role:<verb>`` on the project and ``account:role:<verb>`` on the user."""
    _record(
        project,
        f"project:role:{verb}",
        actor=actor,
        request=request,
        user=user.get_username(),
        **extra,
    )
    events.record_user(
        f"account:role:{verb}",
        user,
        actor=actor,
        request=request,
        project=project.normalized_name,
        **extra,
    )


def _owners(project: Project) -> list[User]:
    return [
        r.user
        for r in Role.objects.filter(project=project, role_name=Role.OWNER).select_related("user")
    ]


def notify_owners(project: Project, subject: str, body: str, *, skip: User | None = None) -> None:
    """Tell every owner (the one who acted too: if their account was taken over, the mail is
    how they learn of it)."""
    for owner in _owners(project):
        if skip is not None and owner.pk == skip.pk:
            continue
        send_security_notice(owner, subject, body)


def _where() -> str:
    base = config.current().base_url
    return f"your account page ({base}/account/)" if base else "your account page"


# ---------------------------------------------------------------------------------------------
# Invitations


def invite(
    project: Project, username: str, role_name: str, *, actor: User, request: Any = None
) -> RoleInvitation:
    """Invite the user called ``username`` to take ``role_name`` on ``project``."""
    _check_role_name(role_name)
    username = username.strip()
    invitee = User.objects.filter(username=username).first()
    if invitee is None or not invitee.is_active or invitee.is_frozen:
        raise RoleError(f"No user found with the username '{username}'.")
    hours = config.current().invitation_hours
    with transaction.atomic():
        _lock(project)
        current = Role.objects.filter(project=project, user=invitee).first()
        if current is not None:
            raise RoleError(
                f"User '{invitee.username}' already has {current.role_name} role for project "
                f"'{project.name}'."
            )
        if not invitee.email_verified:
            raise RoleError(
                f"User '{invitee.username}' does not have a verified primary email address "
                f"and cannot be added as a {role_name} for project '{project.name}'."
            )
        existing = RoleInvitation.objects.filter(project=project, invitee=invitee).first()
        if existing is not None:
            if not is_expired(existing):
                raise RoleError(
                    f"User '{invitee.username}' already has an active invite. "
                    "Please try again later."
                )
            existing.delete()  # an expired invitation is replaced by the new one
        try:
            with transaction.atomic():
                invitation = RoleInvitation.objects.create(
                    project=project,
                    invitee=invitee,
                    role_name=role_name,
                    inviter=actor,
                    expires=timezone.now() + timedelta(hours=hours),
                )
        except IntegrityError as exc:  # another owner invited them at the same moment
            raise RoleError(
                f"User '{invitee.username}' already has an active invite. Please try again later."
            ) from exc
        _both_events(
            "invite",
            project,
            invitee,
            actor=actor,
            request=request,
            role=role_name,
            expires=invitation.expires.isoformat(),
        )
    send_security_notice(
        invitee,
        f"You were invited to become {role_name} of {project.name}",
        f"{actor.get_username()} invited you to become {role_name} of the project "
        f"'{project.name}'. Accept or decline the invitation on {_where()}; it expires in "
        f"{hours} hours. Until you accept, nothing changes for you.",
    )
    notify_owners(
        project,
        f"{invitee.username} was invited to {project.name}",
        f"{actor.get_username()} invited {invitee.username} to become {role_name} of "
        f"'{project.name}'. The role is granted only if they accept.",
    )
    return invitation


def _invitation_for(invitation_id: int, user: User) -> RoleInvitation:
    invitation = (
        RoleInvitation.objects.select_for_update(of=("self",))
        .select_related("project", "inviter")
        .filter(pk=invitation_id, invitee=user)
        .first()
    )
    if invitation is None:
        raise RoleError("This invitation does not exist, or was revoked.")
    return invitation


def accept(invitation_id: int, *, user: User, request: Any = None) -> Role:
    """The invitee takes the role they were offered."""
    with transaction.atomic():
        invitation = _invitation_for(invitation_id, user)
        project = invitation.project
        if is_expired(invitation):
            raise RoleError(
                f"This invitation to '{project.name}' has expired. Ask an owner to invite you "
                "again."
            )
        _lock(project)
        if Role.objects.filter(project=project, user=user).exists():
            raise RoleError(f"You already have a role on '{project.name}'.")
        role = Role.objects.create(project=project, user=user, role_name=invitation.role_name)
        invitation.delete()
        _both_events("accept", project, user, actor=user, request=request, role=role.role_name)
    send_security_notice(
        user,
        f"You are now {role.role_name} of {project.name}",
        f"You accepted the invitation and are now {role.role_name} of '{project.name}'.",
    )
    notify_owners(
        project,
        f"{user.username} joined {project.name}",
        f"{user.username} accepted the invitation and is now {role.role_name} of '{project.name}'.",
        skip=user,
    )
    return role


def decline(invitation_id: int, *, user: User, request: Any = None) -> Project:
    """The invitee turns the offer down (an expired invitation can be declined too: it tidies
    the list)."""
    with transaction.atomic():
        invitation = _invitation_for(invitation_id, user)
        project = invitation.project
        role_name = invitation.role_name
        invitation.delete()
        _both_events("decline", project, user, actor=user, request=request, role=role_name)
    notify_owners(
        project,
        f"{user.username} declined the invitation to {project.name}",
        f"{user.username} declined the invitation to become {role_name} of '{project.name}'.",
    )
    return project


def revoke(
    project: Project, invitation_id: int, *, actor: User, request: Any = None
) -> RoleInvitation:
    """An owner withdraws an invitation before it is answered."""
    with transaction.atomic():
        _lock(project)
        invitation = (
            RoleInvitation.objects.select_related("invitee")
            .filter(pk=invitation_id, project=project)
            .first()
        )
        if invitation is None:
            raise RoleError("This invitation does not exist: it was answered or revoked already.")
        invitee = invitation.invitee
        invitation.delete()
        _both_events(
            "revoke", project, invitee, actor=actor, request=request, role=invitation.role_name
        )
    send_security_notice(
        invitee,
        f"Your invitation to {project.name} was revoked",
        f"{actor.get_username()} revoked the invitation to become {invitation.role_name} of "
        f"'{project.name}'.",
    )
    notify_owners(
        project,
        f"The invitation of {invitee.username} to {project.name} was revoked",
        f"{actor.get_username()} revoked the invitation of {invitee.username} to become "
        f"{invitation.role_name} of '{project.name}'.",
    )
    return invitation


# ---------------------------------------------------------------------------------------------
# Existing roles


def _role_of(project: Project, username: str, *, missing: str = "") -> Role:
    role = (
        Role.objects.select_related("user").filter(project=project, user__username=username).first()
    )
    if role is None:
        raise RoleError(missing or f"'{username}' has no role on '{project.name}'.")
    return role


def _keep_an_owner(project: Project, role: Role) -> None:
    if role.role_name == Role.OWNER and owner_count(project) <= 1:
        raise RoleError(last_owner_message(project, role.user.username))


def change_role(
    project: Project, username: str, role_name: str, *, actor: User, request: Any = None
) -> Role:
    """Make an owner a maintainer or the other way round (never the last owner)."""
    _check_role_name(role_name)
    with transaction.atomic():
        _lock(project)
        role = _role_of(project, username)
        previous = role.role_name
        if previous == role_name:
            raise RoleError(f"'{username}' is already {role_name} of '{project.name}'.")
        _keep_an_owner(project, role)
        role.role_name = role_name
        role.save(update_fields=["role_name"])
        _both_events(
            "change",
            project,
            role.user,
            actor=actor,
            request=request,
            role=role_name,
            previous_role=previous,
        )
    send_security_notice(
        role.user,
        f"Your role on {project.name} changed",
        f"{actor.get_username()} changed your role on '{project.name}' from {previous} to "
        f"{role_name}.",
    )
    notify_owners(
        project,
        f"The role of {username} on {project.name} changed",
        f"{actor.get_username()} changed the role of {username} on '{project.name}' from "
        f"{previous} to {role_name}.",
        skip=role.user,
    )
    return role


def remove_role(project: Project, username: str, *, actor: User, request: Any = None) -> None:
    """Take a collaborator off the project (an owner's act, or a user leaving: ``actor`` is then
    the user themselves). The last owner stays."""
    leaving = actor.get_username() == username
    with transaction.atomic():
        _lock(project)
        missing = f"You have no role on '{project.name}'." if leaving else ""
        role = _role_of(project, username, missing=missing)
        _keep_an_owner(project, role)
        former = role.role_name
        user = role.user
        role.delete()
        _both_events(
            "remove", project, user, actor=actor, request=request, role=former, left=leaving
        )
        # Owners are told after the removal, so a removed owner is not among them: they get
        # their own notice below.
        if leaving:
            subject = f"{username} left {project.name}"
            body = f"{username} left '{project.name}', where they were {former}."
        else:
            subject = f"{username} was removed from {project.name}"
            body = f"{actor.get_username()} removed {username} ({former}) from '{project.name}'."
        notify_owners(project, subject, body)
    send_security_notice(
        user,
        f"You left {project.name}" if leaving else f"You were removed from {project.name}",
        f"You are no longer {former} of '{project.name}'."
        if leaving
        else f"{actor.get_username()} removed you from '{project.name}', where you were {former}.",
    )


def leave(project: Project, *, user: User, request: Any = None) -> None:
    """Anyone may give up their own role, except the last owner."""
    remove_role(project, user.get_username(), actor=user, request=request)
