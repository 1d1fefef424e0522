"""Pages for people. Views are thin: they read through :mod:`bastion.web.queries` and the
domains' services, ask :func:`bastion.authz.authorize` for every permission, and change
state only through the domains' services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import nh3
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from bastion.authz import Action
from bastion.index.jsonapi import latest_release
from bastion.index.render import file_url
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release
from bastion.web import queries
from bastion.web.common import decide, public_url
from bastion.web.pages.forms import SearchForm

# ---------------------------------------------------------------------------------------------
# Helpers


def clean_readme(html: str) -> SafeString:
    """The README as uploaded was sanitised by readme_renderer; sanitise it again here, so that
    a row written by anything else still cannot carry a script into the page."""
    return mark_safe(nh3.clean(html))  # noqa: S308 - the output of nh3.clean is safe HTML


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    clickable: bool


def _link(label: str, url: str) -> Link:
    scheme = urlsplit(url.strip()).scheme.lower()
    return Link(label, url, scheme in ("http", "https"))


def _project_links(metadata: dict[str, Any]) -> list[Link]:
    links: list[Link] = []
    home_page = metadata.get("home_page")
    if isinstance(home_page, str) and home_page:
        links.append(_link("Homepage", home_page))
    urls = metadata.get("project_urls") or {}
    if isinstance(urls, dict):
        for label, url in urls.items():
            if isinstance(url, str) and url:
                links.append(_link(str(label), url))
    return links


def _str_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    return []


# ---------------------------------------------------------------------------------------------
# Public pages


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context = {
        "query": query,
        "results": queries.search(query) if query else [],
        "recent": [] if query else queries.recently_updated(),
    }
    return render(request, "web/home.html", context)


@require_safe
def project_detail(request: HttpRequest, name: str) -> HttpResponseBase:
    project = queries.visible_project(name)
    if project is None:
        return _unpublished_project(request, name)
    if name != project.normalized_name:
        return HttpResponsePermanentRedirect(reverse("project", args=[project.normalized_name]))
    releases = queries.visible_releases(project)
    release = latest_release(releases)
    if release is None:  # pragma: no cover - visible_project guarantees a published file
        raise Http404("No such project.")
    return _release_page(request, project, release, releases, is_latest=True)


@require_safe
def release_detail(request: HttpRequest, name: str, version: str) -> HttpResponseBase:
    project = queries.visible_project(name)
    if project is None:
        raise Http404("No such project.")
    release = packages.find_release(project, version)
    releases = queries.visible_releases(project)
    if release is None or release.pk not in {r.pk for r in releases}:
        raise Http404("No such release.")
    if name != project.normalized_name or version != release.version:
        return HttpResponsePermanentRedirect(
            reverse("release", args=[project.normalized_name, release.version])
        )
    return _release_page(
        request, project, release, releases, is_latest=release == latest_release(releases)
    )


def _unpublished_project(request: HttpRequest, name: str) -> HttpResponseBase:
    """A project that exists but has no published file (all pending their scan, or held):
    installers get its simple page, empty, so people get a page that says why there is
    nothing to install, and its owners how many files wait and why."""
    project = packages.get_project(name)
    if project is None:
        raise Http404("No such project.")
    if name != project.normalized_name:
        return HttpResponsePermanentRedirect(reverse("project", args=[project.normalized_name]))
    can_manage = bool(decide(request, Action.MANAGE_PROJECT, project))
    states = queries.file_states(project) if can_manage else {}
    context = {
        "project": project,
        "can_manage": can_manage,
        "held": states.get(File.HELD, 0),
        "pending": states.get(File.PENDING, 0),
    }
    return render(request, "web/project_unpublished.html", context)


def _release_page(
    request: HttpRequest,
    project: Project,
    release: Release,
    releases: list[Release],
    *,
    is_latest: bool,
) -> HttpResponse:
    metadata: dict[str, Any] = release.metadata if isinstance(release.metadata, dict) else {}
    files: list[File] = queries.published_files_of(release)
    context = {
        "project": project,
        "release": release,
        "releases": releases,
        "is_latest": is_latest,
        "files": [(f, file_url(f)) for f in files],
        "readme": clean_readme(release.description_html) if release.description_html else None,
        "install_command": (
            f"pip install --index-url {public_url(request, '/simple/')} {project.normalized_name}"
            f"=={release.version}"
        ),
        "license": metadata.get("license_expression") or metadata.get("license") or "",
        "classifiers": _str_list(metadata.get("classifiers")),
        "requires_dist": _str_list(metadata.get("requires_dist")),
        "links": _project_links(metadata),
        "author": metadata.get("author") or metadata.get("author_email") or "",
        "maintainer": metadata.get("maintainer") or metadata.get("maintainer_email") or "",
        "can_manage": bool(decide(request, Action.MANAGE_PROJECT, project)),
    }
    return render(request, "web/project.html", context)


def check_name(request: HttpRequest) -> HttpResponse:
    """The name policy as a publisher meets it at first upload, without uploading: the one
    decision the upload and ``bastion check-name`` make, with its reason."""
    from bastion.names.services import check_new_project_name

    name = request.GET.get("name", "").strip()[:200]
    verdict = None
    if name:
        user_id = request.user.pk if request.user.is_authenticated else None
        verdict = check_new_project_name(name, user_id=user_id, projects=packages.project_names())
    return render(request, "web/check_name.html", {"name": name, "verdict": verdict})
