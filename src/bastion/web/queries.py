"""Read-only queries the pages need and that no domain's services offer.

Nothing here changes data. Everything that a visitor can see is limited to *published* files:
a release or a file that has no published file behind it does not exist for a page; a project
without one has a page that says so (its simple page exists too, empty).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from packaging.version import InvalidVersion, Version

from bastion.accounts.models import User
from bastion.index.jsonapi import latest_release
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release, Role

SEARCH_LIMIT = 50
RECENT_LIMIT = 20


def _published_file_exists() -> Exists:
    return Exists(File.objects.filter(release__project=OuterRef("pk"), state=File.PUBLISHED))


def visible_projects() -> QuerySet[Project]:
    """Projects with at least one published file."""
    return Project.objects.filter(_published_file_exists())


def visible_project(name: str) -> Project | None:
    """The project called ``name`` (any spelling), if it has a published file."""
    return visible_projects().filter(normalized_name=packages.normalize(name)).first()


def file_states(project: Project) -> dict[str, int]:
    """How many of the project's files are in each state (for its owners)."""
    rows = (
        File.objects.filter(release__project=project)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


def _version_key(version: str) -> tuple[int, Any]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


@dataclass(frozen=True)
class ProjectSummary:
    project: Project
    release: Release


def _with_latest(projects: Sequence[Project]) -> list[ProjectSummary]:
    """Pair each project with its latest release that has a published file."""
    if not projects:
        return []
    # Only what the list shows and what picks the latest: a project may have thousands of
    # releases, each with its whole description and metadata.
    releases = (
        Release.objects.filter(project__in=projects, files__state=File.PUBLISHED)
        .only("id", "project_id", "version", "summary", "yanked", "is_prerelease")
        .distinct()
    )
    by_project: dict[int, list[Release]] = defaultdict(list)
    for release in releases:
        by_project[release.project_id].append(release)
    out = []
    for project in projects:
        latest = latest_release(by_project.get(project.pk, []))
        if latest is not None:
            out.append(ProjectSummary(project, latest))
    return out


def search(text: str, limit: int = SEARCH_LIMIT) -> list[ProjectSummary]:
    """Visible projects whose name or summary contains ``text``; the exact name first."""
    text = text.strip()[:200]
    if not text:
        return []
    normalized = packages.normalize(text)
    # Subqueries that do not refer to the outer row: each runs once. As correlated EXISTS
    # clauses, SQLite ran them once per project, each over every published file (issue 11:
    # a search matching nothing took 2 s over 1,400 projects).
    published = Release.objects.filter(files__state=File.PUBLISHED).values("project_id")
    summary_match = Release.objects.filter(
        summary__icontains=text, files__state=File.PUBLISHED
    ).values("project_id")
    matches = list(
        Project.objects.filter(pk__in=published)
        .filter(
            Q(name__icontains=text)
            | Q(normalized_name__contains=normalized)
            | Q(pk__in=summary_match)
        )
        .order_by("normalized_name")[: limit * 4]
    )

    def rank(project: Project) -> tuple[int, str]:
        if project.normalized_name == normalized:
            return (0, project.normalized_name)
        if project.normalized_name.startswith(normalized):
            return (1, project.normalized_name)
        if normalized in project.normalized_name:
            return (2, project.normalized_name)
        return (3, project.normalized_name)

    return _with_latest(sorted(matches, key=rank)[:limit])


def recently_updated(limit: int = RECENT_LIMIT) -> list[ProjectSummary]:
    """Visible projects, the one with the most recently uploaded published file first."""
    projects = list(
        Project.objects.annotate(
            latest_upload=Max(
                "releases__files__upload_time",
                filter=Q(releases__files__state=File.PUBLISHED),
            )
        )
        .filter(latest_upload__isnull=False)
        .order_by("-latest_upload", "normalized_name")[:limit]
    )
    return _with_latest(projects)


def visible_releases(project: Project) -> list[Release]:
    """Releases with at least one published file, newest version first."""
    releases = list(Release.objects.filter(project=project, files__state=File.PUBLISHED).distinct())
    return sorted(releases, key=lambda r: _version_key(r.version), reverse=True)


def published_files_of(release: Release) -> list[File]:
    return list(release.files.filter(state=File.PUBLISHED).order_by("packagetype", "filename"))


@dataclass(frozen=True)
class ManagedRelease:
    release: Release
    published: int
    other: int


def releases_for_management(project: Project) -> list[ManagedRelease]:
    """Every release of a project (for its owners), with how many files are published."""
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for release_id, state in File.objects.filter(release__project=project).values_list(
        "release_id", "state"
    ):
        counts[release_id][0 if state == File.PUBLISHED else 1] += 1
    releases = sorted(
        Release.objects.filter(project=project),
        key=lambda r: _version_key(r.version),
        reverse=True,
    )
    return [ManagedRelease(r, counts[r.pk][0], counts[r.pk][1]) for r in releases]


@dataclass(frozen=True)
class ProjectRole:
    project: Project
    role: str


def roles_of(user: User) -> list[ProjectRole]:
    """The projects ``user`` has a role on, with the role."""
    rows = (
        Role.objects.filter(user=user)
        .select_related("project")
        .order_by("project__normalized_name")
    )
    return [ProjectRole(r.project, r.role_name) for r in rows]
