"""Managing a project (owners, and admins): releases and yanking, collaborators, deletion, and
the project's security history.

Every permission is asked of :func:`bastion.authz.authorize`; the changes themselves are
made by the packages domain (:mod:`~bastion.packages.services`, :mod:`~bastion.packages.roles`,
:mod:`~bastion.packages.deletion`), which audits them. A refused change answers 400 with the
management page and a one-line reason, so the owner sees what to fix where they were.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from bastion.authz import Action
from bastion.events import services as events
from bastion.events.models import Event
from bastion.packages import deletion
from bastion.packages import roles as project_roles
from bastion.packages import services as packages
from bastion.packages.models import File, Project
from bastion.scanning.explain import Explained, explained_json, verdict_reason
from bastion.scanning.result import Severity, Verdict
from bastion.web import queries
from bastion.web.common import decide, first_error, forbidden
from bastion.web.manage.forms import ConfirmForm, YankForm
from bastion.web.roles.forms import ChangeRoleForm, InviteForm

log = logging.getLogger(__name__)

HISTORY_LIMIT = 100


def managed_project(name: str) -> Project:
    project = packages.get_project(name)
    if project is None:
        raise Http404("No such project.")
    return project


def manage_url(project_or_name: Project | str) -> str:
    name = (
        project_or_name.normalized_name
        if isinstance(project_or_name, Project)
        else packages.normalize(project_or_name)
    )
    return reverse("manage-project", args=[name])


def project_history(project: Project, limit: int = HISTORY_LIMIT) -> list[Event]:
    """Events of this project, newest first. Matched by id as well as by name: a project
    registered again after a deletion must not show its new owners the old one's history (and
    the addresses its owners used)."""
    return events.for_subject("project", project.normalized_name, project.pk, limit=limit)


def _files_by_release(project: Project) -> dict[int, list[File]]:
    grouped: dict[int, list[File]] = defaultdict(list)
    for f in File.objects.filter(release__project=project).order_by("filename"):
        grouped[f.release_id].append(f)
    return grouped


@dataclass(frozen=True)
class ScannedFile:
    """A file the scan held or flagged, as its owners and moderators read it: how the verdict
    was reached, and each finding with where, when it runs, why it counts and the fix."""

    file: File
    reason: str
    findings: list[Explained]
    hidden: int  # info-level findings not listed


def scanned_files(files: list[File]) -> list[ScannedFile]:
    """The held and flagged files among ``files``, their stored findings explained (findings
    stored by any version of the scanner: an entry it no longer knows is explained
    generically). Info-level findings are left out, except what the scan did not examine,
    which is what holds an incomplete scan."""
    out: list[ScannedFile] = []
    for f in files:
        if f.state != File.HELD and not (f.state == File.PUBLISHED and f.flagged):
            continue
        items = explained_json(f.scan_findings)
        shown = [
            i
            for i in items
            if i.finding.severity is not Severity.INFO or i.finding.rule == "scan-incomplete"
        ]
        out.append(ScannedFile(f, _why_held(f, items), shown, len(items) - len(shown)))
    return out


def _why_held(file: File, items: list[Explained]) -> str:
    """How the file came to be held or flagged, in a sentence or two."""
    try:
        verdict = Verdict(file.scan_verdict)
    except ValueError:
        return "No scan verdict is stored: a moderator held the file."
    if any(i.finding.rule == "scan-incomplete" for i in items):
        return (
            f"The scan could not examine everything (verdict {verdict}): an incomplete scan "
            "holds the file whatever its verdict, until someone has looked."
        )
    if verdict is Verdict.CLEAN:
        return "The scan found the file clean: a moderator held it."
    return f"{verdict.upper()}. " + verdict_reason(
        verdict, float(file.scan_score or 0), [i.finding for i in items]
    )


def render_manage(
    request: HttpRequest,
    project: Project,
    *,
    status: int = 200,
    invite_form: InviteForm | None = None,
) -> HttpResponse:
    files = _files_by_release(project)
    invitations = [
        (inv, project_roles.is_expired(inv)) for inv in project_roles.project_invitations(project)
    ]
    context: dict[str, Any] = {
        "project": project,
        "releases": [
            (item, files.get(item.release.pk, []))
            for item in queries.releases_for_management(project)
        ],
        "yank_form": YankForm(),
        "can_manage_roles": bool(decide(request, Action.MANAGE_ROLES, project)),
        "can_delete": bool(decide(request, Action.DELETE, project)),
        "collaborators": project_roles.collaborators(project),
        "owner_count": project_roles.owner_count(project),
        "invitations": invitations,
        "invite_form": invite_form or InviteForm(),
        "role_choices": ChangeRoleForm().fields["role"].choices,  # type: ignore[attr-defined]
        "history": project_history(project),
        "scanned_files": scanned_files([f for group in files.values() for f in group]),
    }
    return render(request, "web/manage_project.html", context, status=status)


def refuse(request: HttpRequest, project: Project, reason: str, status: int = 400) -> HttpResponse:
    """The management page again, with ``reason`` at the top."""
    messages.error(request, reason)
    return render_manage(request, project, status=status)


@never_cache
@require_safe
def manage_project(request: HttpRequest, name: str) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    project = managed_project(name)
    if name != project.normalized_name:
        return HttpResponsePermanentRedirect(manage_url(project))
    decision = decide(request, Action.MANAGE_PROJECT, project)
    if not decision:
        return forbidden(request, decision)
    return render_manage(request, project)


# ---------------------------------------------------------------------------------------------
# Yanking


def _change_release(request: HttpRequest, name: str, version: str, *, yank: bool) -> HttpResponse:
    project = project_for(request, name, Action.YANK)
    if not isinstance(project, Project):
        return project
    url = manage_url(name)
    form = YankForm(request.POST)
    with transaction.atomic():
        release = packages.find_release(project, version)
        if release is None:
            raise Http404("No such release.")
        if yank:
            if not form.is_valid():
                messages.error(request, "The reason is too long (1000 characters at most).")
                return HttpResponseRedirect(url)
            packages.yank(
                release,
                reason=form.cleaned_data["reason"],
                actor=request.user,  # type: ignore[arg-type]
                request=request,
            )
            done = f"Release {release.version} was yanked."
        elif release.yanked:
            packages.unyank(release, actor=request.user, request=request)  # type: ignore[arg-type]
            done = f"Release {release.version} is no longer yanked."
        else:
            done = f"Release {release.version} was not yanked."
    messages.success(request, done)
    return HttpResponseRedirect(url)


@require_POST
def release_yank(request: HttpRequest, name: str, version: str) -> HttpResponse:
    return _change_release(request, name, version, yank=True)


@require_POST
def release_unyank(request: HttpRequest, name: str, version: str) -> HttpResponse:
    return _change_release(request, name, version, yank=False)


# ---------------------------------------------------------------------------------------------
# Deletion: POST only, confirmed by typing the name, owners only (Action.DELETE)


def project_for(request: HttpRequest, name: str, action: Action) -> Project | HttpResponse:
    """The project, if this session may do ``action`` on it; otherwise the answer to give
    (the login page, 404 or 403)."""
    if not request.user.is_authenticated:
        return redirect_to_login(manage_url(name))
    project = managed_project(name)
    decision = decide(request, action, project)
    if not decision:
        return forbidden(request, decision)
    return project


def _confirmation(request: HttpRequest) -> tuple[str, str]:
    """(typed text, error): the error is empty when something was typed."""
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        return "", first_error(form)
    return str(form.cleaned_data["confirm"]), ""


def _delete_confirmed(
    request: HttpRequest,
    project: Project,
    *,
    what: str,
    expected: str,
    matches: Callable[[str], bool],
    delete: Callable[[], None],
) -> HttpResponse | None:
    """Delete once the typed confirmation matches; ``None`` when done, else the refusal."""
    typed, error = _confirmation(request)
    if error:
        return refuse(request, project, error)
    if not matches(typed):
        return refuse(
            request,
            project,
            f"Could not delete {what} - {typed!r} is not the same as {expected!r}",
        )
    try:
        delete()
    except deletion.DeletionError as exc:
        return refuse(request, project, str(exc), status=409)
    return None


@never_cache
@require_POST
def project_delete(request: HttpRequest, name: str) -> HttpResponse:
    project = project_for(request, name, Action.DELETE)
    if not isinstance(project, Project):
        return project
    refused = _delete_confirmed(
        request,
        project,
        what="project",
        expected=project.normalized_name,
        matches=lambda typed: packages.normalize(typed) == project.normalized_name,
        delete=lambda: deletion.delete_project(project, actor=request.user, request=request),  # type: ignore[arg-type]
    )
    if refused is not None:
        return refused
    messages.success(request, f"The project '{project.name}' was deleted.")
    return HttpResponseRedirect(reverse("account"))


@never_cache
@require_POST
def release_delete(request: HttpRequest, name: str, version: str) -> HttpResponse:
    project = project_for(request, name, Action.DELETE)
    if not isinstance(project, Project):
        return project
    release = packages.find_release(project, version)
    if release is None:
        raise Http404("No such release.")
    refused = _delete_confirmed(
        request,
        project,
        what="release",
        expected=release.version,
        matches=lambda typed: typed == release.version,
        delete=lambda: deletion.delete_release(release, actor=request.user, request=request),  # type: ignore[arg-type]
    )
    if refused is not None:
        return refused
    messages.success(request, f"Release {release.version} was deleted.")
    return HttpResponseRedirect(manage_url(project))


@never_cache
@require_POST
def file_delete(request: HttpRequest, name: str, file_id: int) -> HttpResponse:
    project = project_for(request, name, Action.DELETE)
    if not isinstance(project, Project):
        return project
    file = File.objects.filter(pk=file_id, release__project=project).first()
    if file is None:
        raise Http404("No such file.")
    refused = _delete_confirmed(
        request,
        project,
        what="file",
        expected=file.filename,
        matches=lambda typed: typed == file.filename,
        delete=lambda: deletion.delete_file(file, actor=request.user, request=request),  # type: ignore[arg-type]
    )
    if refused is not None:
        return refused
    messages.success(request, f"{file.filename} was deleted.")
    return HttpResponseRedirect(manage_url(project))
