"""Rendering the simple pages (PEP 503 HTML and PEP 691 JSON) when a project changes.

The pages are written to the public tree (``simple/<name>/index.html`` and ``index.json``,
``simple/index.html`` and ``index.json`` for the root), from where :mod:`bastion.index.responder`
serves them without touching the database, and from where nginx or a CDN can serve them too.

A change that installers see queues :func:`bastion.index.tasks.render_pages` in its own
transaction; the task runs :func:`refresh`, which renders only what is not current (the serial
a page carries differs from the database's), so running it twice, or after the page was
already rendered, costs a ``stat`` and a query.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from django.db import connection, transaction
from packaging.version import InvalidVersion, Version

from bastion.index.responder import servable_files, shared
from bastion.packages import services as packages
from bastion.packages.models import File, Project
from bastion.storage import get_storage

API_VERSION = "1.4"


def file_url(file: File) -> str:
    return f"/packages/{file.storage_key}"


def _sort_key(file: File) -> tuple[Any, str]:
    try:
        return (0, Version(file.release.version)), file.filename  # type: ignore[return-value]
    except InvalidVersion:
        return (1, file.release.version), file.filename  # type: ignore[return-value]


def project_files(project: Project) -> list[File]:
    return sorted(servable_files(project), key=_sort_key)


def _versions(files: list[File]) -> list[str]:
    """PEP 700 ``versions``: those with a published file, from the files already loaded."""

    def key(v: str) -> tuple[int, Any]:
        try:
            return (0, Version(v))
        except InvalidVersion:
            return (1, v)

    return sorted({f.release.version for f in files}, key=key)


def detail_json(project: Project, files: list[File]) -> bytes:
    entries = []
    for f in files:
        meta: dict[str, str] | bool = {"sha256": f.metadata_sha256} if f.metadata_sha256 else False
        entries.append(
            {
                "filename": f.filename,
                "url": file_url(f),
                "hashes": {"sha256": f.sha256_digest},
                "requires-python": f.requires_python or None,
                "size": f.size,
                "upload-time": f.upload_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "yanked": (f.release.yanked_reason or True) if f.release.yanked else False,
                "data-dist-info-metadata": meta,
                "core-metadata": meta,
                "provenance": None,
            }
        )
    doc = {
        "meta": {"api-version": API_VERSION, "_last-serial": project.last_serial},
        "name": project.normalized_name,
        "project-status": {"status": "active"},
        "versions": _versions(files),
        "files": entries,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def detail_html(project: Project, files: list[File]) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        '    <meta name="pypi:project-status" content="active">',
        f"    <title>Links for {escape(project.normalized_name)}</title>",
        "  </head>",
        "  <body>",
        f"    <h1>Links for {escape(project.normalized_name)}</h1>",
    ]
    for f in files:
        attrs = [f'href="{escape(file_url(f))}#sha256={f.sha256_digest}"']
        if f.requires_python:
            attrs.append(f'data-requires-python="{escape(f.requires_python)}"')
        if f.release.yanked:
            attrs.append(f'data-yanked="{escape(f.release.yanked_reason)}"')
        if f.metadata_sha256:
            attrs.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
            attrs.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
        lines.append(f"    <a {' '.join(attrs)}>{escape(f.filename)}</a><br />")
    lines += ["  </body>", "</html>", f"<!--SERIAL {project.last_serial}-->", ""]
    return "\n".join(lines).encode()


def listed_projects() -> list[Project]:
    return list(
        Project.objects.filter(releases__files__state=File.PUBLISHED)
        .distinct()
        .order_by("normalized_name")
    )


def root_json(projects: list[Project], serial: int) -> bytes:
    doc = {
        "meta": {"api-version": API_VERSION, "_last-serial": serial},
        "projects": [{"name": p.name, "_last-serial": p.last_serial} for p in projects],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def root_html(projects: list[Project], serial: int) -> bytes:
    lines = [
        "<!DOCTYPE html>",
        "<html>",
        "  <head>",
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">',
        "    <title>Simple index</title>",
        "  </head>",
        "  <body>",
    ]
    for p in projects:
        lines.append(f'    <a href="/simple/{p.normalized_name}/">{escape(p.name)}</a>')
    lines += ["  </body>", "</html>", f"<!--SERIAL {serial}-->", ""]
    return "\n".join(lines).encode()


def render_project(project: Project) -> tuple[bytes, bytes]:
    """Render and store a project's pages; returns (html, json)."""
    project.refresh_from_db(fields=["last_serial"])
    files = project_files(project)
    html, data = detail_html(project, files), detail_json(project, files)
    storage = get_storage()
    base = f"simple/{project.normalized_name}/"
    storage.write_public(base + "index.json", data)
    storage.write_public(base + "index.html", html)
    return html, data


def render_root() -> tuple[bytes, bytes]:
    projects = listed_projects()
    serial = packages.last_serial()
    html, data = root_html(projects, serial), root_json(projects, serial)
    storage = get_storage()
    storage.write_public("simple/index.json", data)
    storage.write_public("simple/index.html", html)
    return html, data


def render_all() -> int:
    count = 0
    for project in Project.objects.all():
        render_project(project)
        count += 1
    render_root()
    return count


def refresh(normalized_name: str) -> str:
    """Bring the pages of one project, and the root list, up to the database: render those
    whose serial is not the database's, drop the pages of a project that no longer exists.
    Idempotent; what was done is returned ("rendered", "removed" or "current").

    The pages are rendered inside a transaction that holds the project's row (PostgreSQL) or
    the database's write lock (SQLite's IMMEDIATE transactions), so a change to the project
    waits for the rendering and its own rendering then reads it: an older rendering of a
    project is never written over a newer one.
    """
    responder = shared()
    outcome = "current"
    with transaction.atomic():
        project = (
            Project.objects.select_for_update().filter(normalized_name=normalized_name).first()
        )
        if project is None:
            if responder.rendered_serial(normalized_name) is not None:
                storage = get_storage()
                storage.delete_public(f"simple/{normalized_name}/index.html")
                storage.delete_public(f"simple/{normalized_name}/index.json")
                outcome = "removed"
        elif responder.rendered_serial(normalized_name) != str(project.last_serial):
            render_project(project)
            outcome = "rendered"
        _hold_the_root_list()
        if responder.rendered_serial(None) != str(packages.last_serial()):
            render_root()
    return outcome


#: The key of the PostgreSQL advisory lock under which the root list is read and written.
_ROOT_LOCK = 0x62617374  # "bast"


def _hold_the_root_list() -> None:
    """Serialise renderings of the root list until the transaction ends.

    Two projects' renders each hold their own project's row, not each other's, so without
    this an older reading of the list could be written after a newer one and stay until the
    next change. SQLite's write lock already serialises them.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ROOT_LOCK])
