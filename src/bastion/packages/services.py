"""State changes of projects, releases, files and roles.

Every function here that changes something writes its audit event and bumps the change serial
in the caller's transaction, and queues the re-rendering of the project's pages in that same
transaction (:func:`bastion.index.tasks.pages_changed`, the one call from this domain up to the
index), so that a committed change always has its rendering waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.dispatch import Signal
from django.utils import timezone
from packaging.utils import canonicalize_name, canonicalize_version
from packaging.version import InvalidVersion, Version

from bastion.accounts.models import User
from bastion.events import services as events
from bastion.packages import readme
from bastion.packages.models import File, FilenameRegistry, Project, Release, Role, Serial
from bastion.prepared import PreparedQuery
from bastion.storage import get_storage

#: Sent after commit with ``file_id`` and ``verdict`` when a scan held a file.
file_held = Signal()


class PackageError(ValueError):
    """A request that cannot be honoured; the message is for the client."""


class SdistExists(PackageError):
    """The release already has its one source distribution."""

    def __init__(self) -> None:
        super().__init__("Only one sdist may be uploaded per release.")


def normalize(name: str) -> str:
    return canonicalize_name(name)


#: The reads every upload makes (and most pages: a project by name), compiled once per
#: database (:mod:`bastion.prepared`): Django's compilation was half of each one's cost.
_PROJECT_BY_NAME: PreparedQuery[Project] = PreparedQuery(
    lambda normalized: Project.objects.filter(normalized_name=normalized)[:1], str
)
_ROLE: PreparedQuery[Role] = PreparedQuery(
    lambda project_id, user_id: (
        Role.objects.filter(project_id=project_id, user_id=user_id)
        .only("role_name")
        .order_by("pk")[:1]
    ),
    int,
    int,
)
_RELEASE_FOR_UPLOAD: PreparedQuery[Release] = PreparedQuery(
    lambda project_id, canonical: (
        Release.objects.filter(project_id=project_id, canonical_version=canonical)
        .only("id", "project_id", "version", "created")
        .annotate(
            has_sdist=Exists(File.objects.filter(release=OuterRef("pk"), packagetype=File.SDIST))
        )
        .order_by("pk")[:1]
    ),
    int,
    str,
)
_AN_SDIST: PreparedQuery[File] = PreparedQuery(
    lambda release_id: (
        File.objects.filter(release_id=release_id, packagetype=File.SDIST).only("id").order_by()[:1]
    ),
    int,
)


def get_project(name: str) -> Project | None:
    return _PROJECT_BY_NAME.first(normalize(name))


def project_names() -> list[str]:
    """Every project's normalised name, oldest first: what the name policy compares a new
    project's name with (the upload, the web page's check and ``bastion check-name`` alike)."""
    return list(Project.objects.order_by("pk").values_list("normalized_name", flat=True))


def _bump(project: Project, action: str, *, visible: bool = True) -> None:
    """Advance the serial; ``visible`` changes (what installers see) also queue the pages'
    re-rendering, in the caller's transaction.

    A new project has no published file yet: nothing an installer sees changes until its first
    file is published, so its creation does not re-render (that is most of an upload's cost
    after the README).
    """
    serial = Serial.objects.create(project_name=project.name, action=action[:200])
    Project.objects.filter(pk=project.pk).update(last_serial=serial.pk)
    project.last_serial = serial.pk
    if not visible:
        return
    from bastion.index.tasks import pages_changed  # imported here: the index imports this module

    pages_changed(project.normalized_name)


def _record(
    project: Project, tag: str, *, actor: User | None, request: Any = None, **extra: Any
) -> None:
    """An audit event about ``project``, in the caller's transaction."""
    events.record(
        tag,
        subject_kind="project",
        subject_name=project.normalized_name,
        subject_id=project.pk,
        actor=actor,
        request=request,
        **extra,
    )


def last_serial() -> int:
    row = Serial.objects.order_by("-id").values_list("id", flat=True).first()
    return int(row or 0)


def create_project(name: str, owner: User, *, request: Any = None) -> Project:
    """Create a project owned by ``owner``. The name must already have passed the name policy."""
    project = Project.objects.create(name=name, normalized_name=normalize(name))
    Role.objects.create(project=project, user=owner, role_name=Role.OWNER)
    _record(
        project,
        "project:create",
        actor=owner,
        request=request,
    )
    _record(
        project,
        "project:role:add",
        actor=owner,
        request=request,
        user=owner.username,
        role=Role.OWNER,
    )
    _bump(project, "create", visible=False)
    return project


def role_of(user: User | None, project: Project) -> str | None:
    if user is None or user.pk is None:
        return None
    role = _ROLE.first(project.pk, user.pk)
    return role.role_name if role is not None else None


def add_role(
    project: Project, user: User, role_name: str, *, actor: User, request: Any = None
) -> Role:
    if role_name not in (Role.OWNER, Role.MAINTAINER):
        raise PackageError(f"Unknown role {role_name!r}.")
    role, _ = Role.objects.update_or_create(
        project=project, user=user, defaults={"role_name": role_name}
    )
    _record(
        project,
        "project:role:add",
        actor=actor,
        request=request,
        user=user.username,
        role=role_name,
    )
    return role


def find_release(project: Project, version: str) -> Release | None:
    try:
        canonical = canonicalize_version(Version(version))
    except InvalidVersion:
        return None
    return Release.objects.filter(project=project, canonical_version=canonical).first()


def find_release_for_upload(project: Project, version: str) -> tuple[Release | None, bool]:
    """The release ``version`` of ``project`` as :func:`record_upload` needs it, and whether it
    has an sdist already, in one statement. The release comes with ``project`` attached (its
    events name the project: no second query for it) and only the columns recording a file
    reads (``id``, ``project_id``, ``version``, and ``created`` for the upload's age rule; the rest is loaded if asked for), so the
    release's metadata is not decoded for nothing."""
    try:
        canonical = canonicalize_version(Version(version))
    except InvalidVersion:
        return None, False
    release = _RELEASE_FOR_UPLOAD.first(project.pk, canonical)
    if release is None:
        return None, False
    release.project = project
    return release, bool(release.has_sdist)  # type: ignore[attr-defined]


def has_sdist(release: Release) -> bool:
    """Whether the release has its one source distribution already."""
    return _AN_SDIST.first(release.pk) is not None


def render_description(release_id: int) -> None:
    """Store the HTML of a release's description for its page (once; the upload only checked
    that it renders)."""
    release = (
        Release.objects.filter(pk=release_id, description_html="")
        .exclude(description="")
        .only("description", "description_content_type")
        .first()
    )
    if release is None:
        return
    html = readme.render(release.description, release.description_content_type)
    Release.objects.filter(pk=release_id, description_html="").update(description_html=html)


def get_or_create_release(
    project: Project,
    version: Version,
    *,
    metadata: dict[str, Any],
    uploader: User,
    description_html: str = "",
    request: Any = None,
    new_project: bool = False,
) -> tuple[Release, bool]:
    """Return the release for ``version`` (``1.0`` and ``1.0.0`` are one release); the first
    file's metadata defines a new release. A project created in this transaction
    (``new_project``) has no release to look up."""
    canonical = canonicalize_version(version)
    if not new_project:
        found = Release.objects.filter(project=project, canonical_version=canonical).first()
        if found is not None:
            found.project = project  # its events name the project: no second query for it
            return found, False
    # The version as its author wrote it (PyPI shows "1.0.0-rc1" as uploaded); ``canonical_version``
    # is what identifies the release.
    typed = str(metadata.get("version") or "").strip()
    try:
        shown = typed if typed and Version(typed) == version else str(version)
    except InvalidVersion:
        shown = str(version)
    release = Release.objects.create(
        project=project,
        version=shown,
        canonical_version=canonical,
        uploader=uploader,
        summary=str(metadata.get("summary") or "")[:512],
        description=str(metadata.get("description") or ""),
        description_content_type=str(metadata.get("description_content_type") or ""),
        description_html=description_html,
        requires_python=str(metadata.get("requires_python") or ""),
        metadata_version=str(metadata.get("metadata_version") or ""),
        metadata=metadata,
        is_prerelease=version.is_prerelease,
    )
    _record(
        project,
        "project:release:add",
        actor=uploader,
        request=request,
        version=release.version,
    )
    return release, True


@dataclass(frozen=True)
class NewFile:
    filename: str
    packagetype: str
    python_version: str
    requires_python: str
    size: int
    md5_digest: str
    sha256_digest: str
    blake2_256_digest: str
    storage_key: str
    metadata_sha256: str


@dataclass(frozen=True)
class FilenameUses:
    """What an upload's filename and bytes are already used by (see :func:`filename_uses`)."""

    #: The file of this name (only ``id``, ``filename``, ``state`` and the digests are loaded).
    same_name: File | None
    #: A file of the same bytes (by BLAKE2b-256), under any name, loaded likewise.
    same_content: File | None
    #: The name is in the registry of every name ever accepted (its file may be deleted).
    registered: bool


#: The columns :func:`filename_uses` loads, in the model's field order (``Model.from_db`` of a
#: partial row takes the values in that order).
_FILE_COLUMNS = [
    f.attname
    for f in File._meta.concrete_fields
    if f.attname in ("id", "filename", "state", "sha256_digest", "blake2_256_digest")
]
_STATE = _FILE_COLUMNS.index("state")


def filename_uses(filename: str, blake2_256_digest: str) -> FilenameUses:
    """Every reuse check of an upload in one statement: the file of this name, a file of these
    bytes under any name, and the registry of names ever used.

    A ``UNION ALL`` of the two tables, written out because the ORM cannot express it without
    a second query; the registry's rows are the ones without a state (a file always has one).
    """
    quote = connection.ops.quote_name
    # The registry's row: its filename in the filename column, NULL in every other.
    registry_columns = ", ".join(quote(c) if c == "filename" else "NULL" for c in _FILE_COLUMNS)
    sql = (
        f"SELECT {', '.join(quote(c) for c in _FILE_COLUMNS)}"  # noqa: S608 - our own names
        f" FROM {quote(File._meta.db_table)}"
        f" WHERE {quote('filename')} = %s OR {quote('blake2_256_digest')} = %s"
        f" UNION ALL SELECT {registry_columns}"
        f" FROM {quote(FilenameRegistry._meta.db_table)} WHERE {quote('filename')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [filename, blake2_256_digest, filename])
        rows = cursor.fetchall()
    files = [
        File.from_db(connection.alias, _FILE_COLUMNS, row)
        for row in rows
        if row[_STATE] is not None
    ]
    return FilenameUses(
        same_name=next((f for f in files if f.filename == filename), None),
        same_content=next((f for f in files if f.blake2_256_digest == blake2_256_digest), None),
        registered=any(row[_STATE] is None for row in rows),
    )


def record_upload(
    project: Project,
    version: Version,
    new: NewFile,
    *,
    release: Release | None,
    new_project: bool = False,
    metadata: dict[str, Any],
    uploader: User,
    request: Any = None,
) -> File:
    """Record an uploaded file with its release, in the caller's transaction; the caller looked
    the release up (:func:`find_release_for_upload`) before the transaction, ``None`` if there
    was none, and ``new_project`` says that ``project`` was created in this transaction.

    The project's row is updated first (its total size): on PostgreSQL that row lock makes
    concurrent uploads to one project wait for each other until commit, so what is read after
    it is what the other upload committed (SQLite's ``BEGIN IMMEDIATE`` already serialises
    every writer). Then:

    * a release the caller found is used as it is (releases are not created twice; one deleted
      in the meantime fails the file's foreign key at commit: the upload is refused and
      nothing is written);
    * a release the caller did not find is looked up again, because a concurrent upload of
      the same version (a wheel and an sdist at once) may have committed it since; one that
      this upload creates needs no sdist check;
    * an sdist is refused with :class:`SdistExists` if the release has one: this check, after
      the lock, is what keeps two concurrent sdists out (``1.0`` and ``1.0.0`` are different
      filenames of one release, so no unique constraint does it).
    """
    _add_to_total_size(project.pk, new.size)
    created = False
    if release is None:
        release, created = get_or_create_release(
            project,
            version,
            metadata=metadata,
            uploader=uploader,
            request=request,
            new_project=new_project,
        )
    if new.packagetype == File.SDIST and not created and has_sdist(release):
        raise SdistExists()
    return _insert_file(release, new, uploader=uploader, request=request)


def _add_to_total_size(project_id: int, size: int) -> None:
    Project.objects.filter(pk=project_id).update(total_size=F("total_size") + size)


def add_file(release: Release, new: NewFile, *, uploader: User, request: Any = None) -> File:
    """Record a stored file as *pending*; it becomes installable only once a scan publishes it
    (the upload queues that scan in the same transaction: ``bastion.upload.tasks``)."""
    _add_to_total_size(release.project_id, new.size)
    return _insert_file(release, new, uploader=uploader, request=request)


def _insert_file(release: Release, new: NewFile, *, uploader: User, request: Any = None) -> File:
    FilenameRegistry.objects.create(filename=new.filename)
    file = File.objects.create(
        release=release,
        filename=new.filename,
        packagetype=new.packagetype,
        python_version=new.python_version,
        requires_python=new.requires_python,
        size=new.size,
        md5_digest=new.md5_digest,
        sha256_digest=new.sha256_digest,
        blake2_256_digest=new.blake2_256_digest,
        storage_key=new.storage_key,
        metadata_sha256=new.metadata_sha256,
        uploader=uploader,
        state=File.PENDING,
    )
    _record(
        release.project,
        "project:file:add",
        actor=uploader,
        request=request,
        filename=new.filename,
        sha256=new.sha256_digest,
        version=release.version,
    )
    return file


def _set_state(
    file: File, state: str, tag: str, *, actor: User | None = None, **extra: Any
) -> None:
    project = file.release.project
    previous = file.state
    file.state = state
    file.state_changed = timezone.now()
    file.save(
        update_fields=[
            "state",
            "state_changed",
            "scan_verdict",
            "scan_score",
            "scan_findings",
            "scanned_at",
            "flagged",
        ]
    )
    _record(project, tag, actor=actor, filename=file.filename, previous_state=previous, **extra)
    _bump(project, f"{tag} {file.filename}")


def publish_file(file: File, *, actor: User | None = None, **extra: Any) -> None:
    """Make a pending or held file installable (after a clean scan, or a moderator's release)."""
    _set_state(file, File.PUBLISHED, "project:file:publish", actor=actor, **extra)
    key = file.storage_key
    has_metadata = bool(file.metadata_sha256)

    def link() -> None:
        storage = get_storage()
        if has_metadata:
            storage.publish(key + ".metadata")
        storage.publish(key)

    transaction.on_commit(link)


def hold_file(file: File, *, reason: str, actor: User | None = None, **extra: Any) -> None:
    """Take a file out of the index: it is unlinked from the public tree before the commit."""
    _unpublish(file)
    _set_state(file, File.HELD, "project:file:hold", actor=actor, reason=reason, **extra)
    file_id = file.pk
    verdict = file.scan_verdict
    transaction.on_commit(lambda: file_held.send(sender=File, file_id=file_id, verdict=verdict))


def remove_file(file: File, *, actor: User | None = None, reason: str = "") -> None:
    _unpublish(file)
    _set_state(file, File.REMOVED, "project:file:remove", actor=actor, reason=reason)


def _unpublish(file: File) -> None:
    storage = get_storage()
    storage.unpublish(file.storage_key)
    storage.unpublish(file.metadata_key)


def yank(release: Release, *, reason: str, actor: User | None, request: Any = None) -> None:
    release.yanked = True
    release.yanked_reason = reason[:1000]
    release.save(update_fields=["yanked", "yanked_reason"])
    _record(
        release.project,
        "project:release:yank",
        actor=actor,
        request=request,
        version=release.version,
        reason=reason,
    )
    _bump(release.project, f"yank {release.version}")


def unyank(release: Release, *, actor: User | None, request: Any = None) -> None:
    release.yanked = False
    release.yanked_reason = ""
    release.save(update_fields=["yanked", "yanked_reason"])
    _record(
        release.project,
        "project:release:unyank",
        actor=actor,
        request=request,
        version=release.version,
    )
    _bump(release.project, f"unyank {release.version}")


def published_files(project: Project) -> list[File]:
    return list(
        File.objects.filter(release__project=project, state=File.PUBLISHED)
        .select_related("release")
        .order_by("filename")
    )


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _tags(filename: str) -> str:
    """A wheel's python-abi-platform tags (the last three parts of its name); '' for an sdist."""
    stem = filename.removesuffix(".whl")
    return "-".join(stem.split("-")[-3:]) if stem != filename else ""


def previous_file(file: File) -> File | None:
    """The file of the project's previous release that a new file is compared with (the scan's
    release diff): the highest version below the file's own that has a file of the same kind
    (wheel or sdist), preferring a wheel with the same tags.

    Only files the index vouched for are a baseline: published ones, and held ones whose scan
    found them clean (held because the scan was incomplete). A file held as suspicious or
    malicious is not: a second release of the same payload would then add nothing "new".
    """
    own = _version(file.release.version)
    if own is None:
        return None
    candidates = (
        File.objects.filter(
            release__project_id=file.release.project_id, packagetype=file.packagetype
        )
        .filter(Q(state=File.PUBLISHED) | Q(state=File.HELD, scan_verdict="clean"))
        .exclude(pk=file.pk)
        .exclude(release_id=file.release_id)
        .select_related("release")
        .only("id", "filename", "storage_key", "release__version")
    )
    best: tuple[Version, bool, str, File] | None = None
    tags = _tags(file.filename)
    for candidate in candidates:
        version = _version(candidate.release.version)
        if version is None or version >= own:
            continue
        key = (version, _tags(candidate.filename) == tags, candidate.filename, candidate)
        if best is None or key[:3] > best[:3]:
            best = key
    return best[3] if best is not None else None
