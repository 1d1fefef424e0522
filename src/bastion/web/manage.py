"""Managing a project (owners): releases, yanking."""

from __future__ import annotations

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

from bastion.packages import services as packages
from bastion.packages.models import Project
from bastion.tokens.policy import Action
from bastion.web import queries
from bastion.web.forms import YankForm
from bastion.web.views import _decide, forbidden


def _managed_project(name: str) -> Project:
    project = packages.get_project(name)
    if project is None:
        raise Http404("No such project.")
    return project


@never_cache
@require_safe
def manage_project(request: HttpRequest, name: str) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    project = _managed_project(name)
    if name != project.normalized_name:
        return HttpResponsePermanentRedirect(
            reverse("manage-project", args=[project.normalized_name])
        )
    decision = _decide(request, Action.YANK, project)
    if not decision:
        return forbidden(request, decision.reason)
    context = {
        "project": project,
        "releases": queries.releases_for_management(project),
        "yank_form": YankForm(),
    }
    return render(request, "web/manage_project.html", context)


def _change_release(request: HttpRequest, name: str, version: str, *, yank: bool) -> HttpResponse:
    manage_url = reverse("manage-project", args=[packages.normalize(name)])
    if not request.user.is_authenticated:
        return redirect_to_login(manage_url)
    project = _managed_project(name)
    form = YankForm(request.POST)
    with transaction.atomic():
        decision = _decide(request, Action.YANK, project)
        if not decision:
            return forbidden(request, decision.reason)
        release = packages.find_release(project, version)
        if release is None:
            raise Http404("No such release.")
        if yank:
            if not form.is_valid():
                messages.error(request, "The reason is too long (1000 characters at most).")
                return HttpResponseRedirect(manage_url)
            packages.yank(
                release,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                request=request,
            )
            done = f"Release {release.version} was yanked."
        elif release.yanked:
            packages.unyank(release, actor=request.user, request=request)
            done = f"Release {release.version} is no longer yanked."
        else:
            done = f"Release {release.version} was not yanked."
    messages.success(request, done)
    return HttpResponseRedirect(manage_url)


@require_POST
def release_yank(request: HttpRequest, name: str, version: str) -> HttpResponse:
    return _change_release(request, name, version, yank=True)


@require_POST
def release_unyank(request: HttpRequest, name: str, version: str) -> HttpResponse:
    return _change_release(request, name, version, yank=False)
