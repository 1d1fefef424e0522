"""The JSON API (``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json``) in PyPI's shape.

Only the files the responder serves (:func:`bastion.index.responder.servable_files`) are
shown, and a release appears once it has one. :meth:`Responder.json_api
<bastion.index.responder.Responder.json_api>` decides the answer around the document.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from packaging.version import InvalidVersion, Version

from bastion.index.render import file_url
from bastion.index.responder import servable_files
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release, Role


def _file_json(f: File) -> dict[str, Any]:
    upload_time = f.upload_time
    return {
        "comment_text": "",
        "digests": {
            "blake2b_256": f.blake2_256_digest,
            "md5": f.md5_digest,
            "sha256": f.sha256_digest,
        },
        "downloads": -1,
        "filename": f.filename,
        "has_sig": False,
        "md5_digest": f.md5_digest,
        "packagetype": f.packagetype,
        "python_version": f.python_version,
        "requires_python": f.requires_python or None,
        "size": f.size,
        "upload_time": upload_time.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "url": file_url(f),
        "yanked": f.release.yanked,
        "yanked_reason": f.release.yanked_reason or None,
        "core-metadata": {"sha256": f.metadata_sha256} if f.metadata_sha256 else False,
    }


def _version_key(release: Release) -> tuple[int, Any]:
    try:
        return (1, Version(release.version))
    except InvalidVersion:
        return (0, release.version)


def _info(project: Project, release: Release) -> dict[str, Any]:
    m: dict[str, Any] = release.metadata or {}
    urls = m.get("project_urls") or {}
    return {
        "author": m.get("author") or "",
        "author_email": m.get("author_email") or "",
        "bugtrack_url": None,
        "classifiers": m.get("classifiers") or [],
        "description": release.description,
        "description_content_type": release.description_content_type or None,
        "docs_url": None,
        "download_url": m.get("download_url") or "",
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": m.get("dynamic") or None,
        "home_page": m.get("home_page") or "",
        "keywords": ",".join(m.get("keywords") or []),
        "license": m.get("license") or "",
        "license_expression": m.get("license_expression"),
        "license_files": m.get("license_files"),
        "maintainer": m.get("maintainer") or "",
        "maintainer_email": m.get("maintainer_email") or "",
        "name": project.name,
        "package_url": f"/project/{project.normalized_name}/",
        "platform": None,
        "project_url": f"/project/{project.normalized_name}/",
        "project_urls": urls or None,
        "provides_extra": m.get("provides_extra"),
        "release_url": f"/project/{project.normalized_name}/{release.version}/",
        "requires_dist": m.get("requires_dist"),
        "requires_python": release.requires_python or "",
        "summary": release.summary,
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason or None,
    }


def _published_by_release(project: Project) -> dict[int, list[File]]:
    grouped: dict[int, list[File]] = defaultdict(list)
    for f in servable_files(project):
        grouped[f.release_id].append(f)
    return grouped


def latest_release(releases: list[Release]) -> Release | None:
    if not releases:
        return None

    def key(r: Release) -> tuple[bool, bool, tuple[int, Any]]:
        return (not r.yanked, not r.is_prerelease, _version_key(r))

    return max(releases, key=key)


def _ownership(project: Project) -> dict[str, Any]:
    roles = (
        Role.objects.filter(project=project)
        .select_related("user")
        .order_by("role_name", "user__username")
    )
    return {
        "organization": None,
        "roles": [{"role": r.role_name.capitalize(), "user": r.user.username} for r in roles],
    }


def project_json(project: Project) -> dict[str, Any] | None:
    grouped = _published_by_release(project)
    releases = list(Release.objects.filter(pk__in=grouped.keys()))
    latest = latest_release(releases)
    if latest is None:
        return None
    ordered = sorted(releases, key=_version_key)
    return {
        "info": _info(project, latest),
        "last_serial": project.last_serial,
        "ownership": _ownership(project),
        "releases": {r.version: [_file_json(f) for f in grouped[r.pk]] for r in ordered},
        "urls": [_file_json(f) for f in grouped[latest.pk]],
        "vulnerabilities": [],
    }


def release_json(project: Project, release: Release) -> dict[str, Any] | None:
    files = [f for f in servable_files(project) if f.release_id == release.pk]
    if not files:
        return None
    return {
        "info": _info(project, release),
        "last_serial": project.last_serial,
        "ownership": _ownership(project),
        "urls": [_file_json(f) for f in files],
        "vulnerabilities": [],
    }


def document(normalized_name: str, version: str | None) -> tuple[dict[str, Any], int] | None:
    """The JSON API's document for a project (``version`` None) or one of its releases, with
    the project's serial; None when there is nothing to show."""
    project = packages.get_project(normalized_name)
    if project is None:
        return None
    if version is None:
        doc = project_json(project)
    else:
        release = packages.find_release(project, version)
        doc = release_json(project, release) if release is not None else None
    return None if doc is None else (doc, project.last_serial)
