"""Owners deleting a file, a release or a whole project, as PyPI lets them.

Deletion is final for the public but not for the record: every filename stays in the
:class:`~bastion.packages.models.FilenameRegistry` for ever, so a deleted file can never be
replaced by different bytes under the same name (what an attacker holding an owner's account
would like to do to an existing pin), and the audit events stay. A deleted project frees its
*name*, which can then be registered again, but not its filenames.

A deleted file goes through the file state machinery (``removed``: unlinked from the public
tree, the simple pages re-rendered). Deleting a release or a project then drops their rows and,
once the transaction commits, the stored bytes, so that ``bastion check`` finds no orphans.

A file held for review is the moderators' evidence: none of these functions deletes it, nor the
release or project around it, until a moderator has decided.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from bastion.accounts.models import User
from bastion.accounts.notify import send_security_notice
from bastion.packages import services
from bastion.packages.models import File, Project, Release, Role, Serial
from bastion.packages.roles import notify_owners
from bastion.packages.services import PackageError, _record
from bastion.storage import get_storage


class DeletionError(PackageError):
    """A deletion that cannot be made; the message is for the owner who asked."""


def _refuse_held(files: list[File], what: str) -> None:
    held = [f.filename for f in files if f.state == File.HELD]
    if held:
        raise DeletionError(
            f"{what} cannot be deleted while {held[0]} is held for review by the moderators."
        )


def _forget_blobs(files: list[File]) -> None:
    """Delete the stored bytes once the rows are gone for good (after commit)."""
    keys = [f.storage_key for f in files] + [f.metadata_key for f in files if f.metadata_sha256]

    def drop() -> None:
        storage = get_storage()
        for key in keys:
            storage.unpublish(key)
            storage.delete(key)

    transaction.on_commit(drop)


def _remove(file: File, *, actor: User, reason: str) -> None:
    if file.state != File.REMOVED:
        services.remove_file(file, actor=actor, reason=reason)


def delete_file(file: File, *, actor: User, request: Any = None) -> None:
    """Take one file out of the index for good; its name stays used."""
    with transaction.atomic():
        file = File.objects.select_for_update().select_related("release__project").get(pk=file.pk)
        project = file.release.project
        if file.state == File.REMOVED:
            raise DeletionError(f"{file.filename} was already deleted.")
        _refuse_held([file], f"{file.filename}")
        services.remove_file(file, actor=actor, reason="deleted by an owner")
        notify_owners(
            project,
            f"A file of {project.name} was deleted",
            f"{actor.get_username()} deleted {file.filename} (release {file.release.version}) "
            f"from '{project.name}'. Its filename can never be uploaded again.",
        )


def delete_release(release: Release, *, actor: User, request: Any = None) -> None:
    """Delete a release and every file of it; its filenames stay used."""
    with transaction.atomic():
        release = Release.objects.select_related("project").get(pk=release.pk)
        project = release.project
        files = list(File.objects.select_for_update().filter(release=release).order_by("pk"))
        _refuse_held(files, f"Release {release.version}")
        for file in files:
            _remove(file, actor=actor, reason=f"release {release.version} deleted")
        _record(
            project,
            "project:release:remove",
            actor=actor,
            request=request,
            version=release.version,
            files=[f.filename for f in files],
        )
        services._bump(project, f"remove {release.version}")
        version = release.version
        release.delete()
        _forget_blobs(files)
        notify_owners(
            project,
            f"Release {version} of {project.name} was deleted",
            f"{actor.get_username()} deleted release {version} of '{project.name}' and its "
            f"{len(files)} file(s). Their filenames can never be uploaded again.",
        )


def delete_project(project: Project, *, actor: User, request: Any = None) -> None:
    """Delete a project with its releases, files, roles and invitations. The name becomes free
    to register again; the filenames do not."""
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        files = list(
            File.objects.select_for_update()
            .filter(release__project=project)
            .select_related("release__project")
            .order_by("pk")
        )
        _refuse_held(files, f"The project '{project.name}'")
        for file in files:
            _remove(file, actor=actor, reason=f"project {project.name} deleted")
        roles = list(Role.objects.filter(project=project).select_related("user"))
        _record(
            project,
            "project:remove",
            actor=actor,
            request=request,
            name=project.name,
            releases=list(project.releases.values_list("version", flat=True)),
            roles={r.user.username: r.role_name for r in roles},
        )
        Serial.objects.create(project_name=project.name, action="remove project")
        name = project.name
        normalized = project.normalized_name
        project.delete()
        _forget_blobs(files)
        from bastion.index.tasks import pages_changed  # imported here: the index imports packages

        # The task finds no project of that name: it drops its pages and re-renders the root.
        pages_changed(normalized)
        for role in roles:
            send_security_notice(
                role.user,
                f"The project {name} was deleted",
                f"{actor.get_username()} deleted the project '{name}', where you were "
                f"{role.role_name}, with all its releases and files. The name may be "
                "registered again by anyone; its filenames can never be uploaded again.",
            )
