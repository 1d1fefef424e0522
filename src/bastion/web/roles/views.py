"""Collaborators of a project: inviting, revoking, changing and removing roles (owners), leaving
a project (anyone with a role), and answering an invitation (its invitee only).

Making someone an owner hands them the project, so it needs a recent re-authentication, like
PyPI's: a session cookie left in a browser must not be enough to add an accomplice. Both rules
are :mod:`bastion.authz`'s (``MANAGE_ROLES``, and ``ADD_OWNER`` for ownership).
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from bastion import authz
from bastion.accounts.models import User
from bastion.packages import roles
from bastion.packages.models import Project
from bastion.web.account.page import account_context
from bastion.web.common import decide, first_error, forbidden
from bastion.web.manage.views import manage_url, managed_project, project_for, refuse, render_manage
from bastion.web.reauth import reauth_redirect
from bastion.web.roles.forms import ChangeRoleForm, InviteForm


def _manageable(request: HttpRequest, name: str) -> Project | HttpResponse:
    return project_for(request, name, authz.Action.MANAGE_ROLES)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _grant_refusal(request: HttpRequest, project: Project, role_name: str) -> HttpResponse | None:
    """``None`` if this session may give ``role_name``; else the prompt or the refusal."""
    decision = decide(request, authz.granting(role_name), project)
    if decision.reauthenticate:
        return reauth_redirect(request, manage_url(project))
    return None if decision else forbidden(request, decision)


def _done(request: HttpRequest, project: Project, message: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseRedirect(manage_url(project))


@never_cache
@require_POST
def role_invite(request: HttpRequest, name: str) -> HttpResponse:
    found = _manageable(request, name)
    if not isinstance(found, Project):
        return found
    project = found
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return render_manage(request, project, status=400, invite_form=form)
    role_name = form.cleaned_data["role"]
    refusal = _grant_refusal(request, project, role_name)
    if refusal is not None:
        return refusal
    try:
        invitation = roles.invite(
            project,
            form.cleaned_data["username"],
            role_name,
            actor=_user(request),
            request=request,
        )
    except roles.RoleError as exc:
        messages.error(request, str(exc))
        return render_manage(request, project, status=400, invite_form=form)
    return _done(
        request,
        project,
        f"{invitation.invitee.username} was invited to become {role_name}. "
        "They get the role once they accept.",
    )


@never_cache
@require_POST
def invitation_revoke(request: HttpRequest, name: str, invitation_id: int) -> HttpResponse:
    found = _manageable(request, name)
    if not isinstance(found, Project):
        return found
    project = found
    try:
        invitation = roles.revoke(project, invitation_id, actor=_user(request), request=request)
    except roles.RoleError as exc:
        return refuse(request, project, str(exc))
    return _done(request, project, f"The invitation of {invitation.invitee.username} was revoked.")


@never_cache
@require_POST
def role_change(request: HttpRequest, name: str, username: str) -> HttpResponse:
    found = _manageable(request, name)
    if not isinstance(found, Project):
        return found
    project = found
    form = ChangeRoleForm(request.POST)
    if not form.is_valid():
        return refuse(request, project, first_error(form))
    role_name = form.cleaned_data["role"]
    refusal = _grant_refusal(request, project, role_name)
    if refusal is not None:
        return refusal
    try:
        roles.change_role(project, username, role_name, actor=_user(request), request=request)
    except roles.RoleError as exc:
        return refuse(request, project, str(exc))
    return _done(request, project, f"{username} is now {role_name}.")


@never_cache
@require_POST
def role_remove(request: HttpRequest, name: str, username: str) -> HttpResponse:
    found = _manageable(request, name)
    if not isinstance(found, Project):
        return found
    project = found
    try:
        roles.remove_role(project, username, actor=_user(request), request=request)
    except roles.RoleError as exc:
        return refuse(request, project, str(exc))
    if username == _user(request).get_username():
        messages.success(request, f"You left '{project.name}'.")
        return HttpResponseRedirect(reverse("account"))
    return _done(request, project, f"{username} was removed from '{project.name}'.")


# ---------------------------------------------------------------------------------------------
# Pages of the user themselves: leaving, answering invitations


def _account_refusal(request: HttpRequest, reason: str, status: int = 400) -> HttpResponse:
    messages.error(request, reason)
    return render(request, "web/account.html", account_context(request), status=status)


def _account_action(request: HttpRequest, act: Callable[[User], str]) -> HttpResponse:
    """Run one of the user's own role actions; back to the account page with its message."""
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("account"))
    try:
        done = act(_user(request))
    except roles.RoleError as exc:
        return _account_refusal(request, str(exc))
    messages.success(request, done)
    return HttpResponseRedirect(reverse("account"))


@never_cache
@require_POST
def role_leave(request: HttpRequest, name: str) -> HttpResponse:
    def leave(user: User) -> str:
        project = managed_project(name)
        roles.leave(project, user=user, request=request)
        return f"You left '{project.name}'."

    return _account_action(request, leave)


@never_cache
@require_POST
def invitation_accept(request: HttpRequest, invitation_id: int) -> HttpResponse:
    def accept(user: User) -> str:
        role = roles.accept(invitation_id, user=user, request=request)
        return f"You are now {role.role_name} of '{role.project.name}'."

    return _account_action(request, accept)


@never_cache
@require_POST
def invitation_decline(request: HttpRequest, invitation_id: int) -> HttpResponse:
    def decline(user: User) -> str:
        project = roles.decline(invitation_id, user=user, request=request)
        return f"You declined the invitation to '{project.name}'."

    return _account_action(request, decline)
