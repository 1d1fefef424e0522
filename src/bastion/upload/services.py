"""The upload pipeline, on typed values only: the view has authenticated, applied the upload
rate limits and read the form; :func:`handle_upload` runs the steps below, top to bottom.

1. :func:`validate_form`: the form and its metadata, as PyPI's upload form checks them;
2. :func:`resolve_project`: the project (or its name, if new), the permission, the name policy;
3. :func:`check_new_file`: the file's name, size, digests, and whether its name or bytes were
   used before (an identical re-upload stops here, answered as a success);
4. :func:`resolve_release`: the release the file joins, if it exists (its age, its sdist);
5. :func:`inspect_archive`: the archive read as data, its metadata compared with the form;
6. :func:`store`: the bytes under their hash;
7. :func:`record`: one transaction records the project (if new), the release, the file as
   *pending*, their audit events and the file's scan task, which publishes or holds it;
8. :func:`settle`: the answer from the file's state, after waiting a bounded time for the
   worker's verdict (:mod:`bastion.upload.verdict`): a held file is refused.

Nothing is written before every check has passed; a file its scan holds is refused after
that, and stays recorded: held, its filename used for good like every recorded file's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from packaging.metadata import Metadata, RawMetadata

from bastion import ratelimit
from bastion.accounts.models import User
from bastion.archives import Limits
from bastion.authz import Action, Identity, authorize, may_sign_in
from bastion.clientinfo import ClientInfo
from bastion.config import current
from bastion.events import services as events
from bastion.helppage import HELP
from bastion.names.normalize import MAX_NAME_LENGTH
from bastion.names.services import check_new_project_name
from bastion.packages import readme
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release
from bastion.storage import file_key, get_storage
from bastion.tokens import macaroons
from bastion.tokens import services as tokens
from bastion.upload import distribution, metadata, tasks, verdict
from bastion.upload.receive import ReceivedFile

PROJECT_NAME_RE = re.compile(
    r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE | re.ASCII
)


# PyPI's refusals, pointing at bastion's own help page: functions, so that the link is written
# under the public URL in force when the upload is refused.
def previously_used() -> str:
    """The refusal of a filename whose file was deleted (a filename is never used twice)."""
    return (
        "This filename was previously used by a file that has since been deleted. Use a "
        f"different version. See {HELP}#file-name-reuse for more information."
    )


def invalid_auth() -> str:
    return (
        f"Invalid or non-existent authentication information. See {HELP}#invalid-auth for "
        "more information."
    )


def password_auth() -> str:
    """PyPI's wording without its Trusted Publishers, which bastion does not have."""
    return (
        "Username/Password authentication is no longer supported. Migrate to API Tokens "
        f"instead. See {HELP}#apitoken for more information."
    )


class UploadError(Exception):
    """Refuse the upload with ``status`` and a one-line ``message`` (also the reason phrase)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class UploadForm:
    """The upload's form as the view read it (the file parts aside)."""

    #: Every value sent for each field, in order; their lengths were checked
    #: (:func:`check_field_limits`) before anything read them.
    fields: Mapping[str, list[str]]
    #: The name of every file part, in order (PyPI refuses any but one ``content``).
    file_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class UploadResult:
    file: File | None
    created: bool
    #: The body of the 200: empty for a published file, or why the file cannot be installed
    #: yet (its scan had not decided within ``BASTION_UPLOAD_VERDICT_WAIT``).
    notice: str = ""


def authenticate(header: str) -> Identity:
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UploadError(invalid_auth(), 403) from exc
        username, sep, secret = decoded.partition(":")
        if not sep:
            raise UploadError(invalid_auth(), 403)
        if username != "__token__":
            raise UploadError(password_auth(), 403)
        raw = secret
    elif scheme in ("token", "bearer"):
        raw = value.strip()
    else:
        raise UploadError(invalid_auth(), 403)
    try:
        identity = tokens.authenticate(raw)
    except macaroons.TokenError as exc:
        raise UploadError(str(exc), 403) from exc
    user = identity.user
    if user is None or not may_sign_in(user):
        raise UploadError(invalid_auth(), 403)
    return identity


#: The longest value, in characters, that each form field may carry. Checked before anything
#: else reads the form: every later step (the name policy, metadata parsing, the description's
#: rendering, messages that quote a value) costs at least as much as a value is long, and the
#: form as a whole may hold ``DATA_UPLOAD_MAX_MEMORY_SIZE``. The bounds are generous for real
#: metadata: the longest of PyPI's popular project names has 55 characters, and old projects
#: put their whole licence text in ``license``.
FIELD_LIMITS: dict[str, int] = {
    ":action": 32,
    "protocol_version": 8,
    "metadata_version": 16,
    "name": MAX_NAME_LENGTH,
    "version": 128,
    "filetype": 32,
    "pyversion": 64,
    "md5_digest": 32,
    "sha256_digest": 64,
    "blake2_256_digest": 64,
    "summary": 512,
    "description_content_type": 128,
    "keywords": 4096,
    "home_page": 2048,
    "download_url": 2048,
    "author": 1024,
    "author_email": 4096,
    "maintainer": 1024,
    "maintainer_email": 4096,
    "license": 128 * 1024,
    "license_expression": 1024,
    "requires_python": 256,
    "platform": 256,
    "supported_platform": 256,
    "classifiers": 256,
    "requires": 1024,
    "provides": 1024,
    "obsoletes": 1024,
    "requires_dist": 1024,
    "provides_dist": 1024,
    "obsoletes_dist": 1024,
    "requires_external": 1024,
    "project_urls": 2048,
    "provides_extra": 256,
    "dynamic": 64,
    "license_file": 1024,
    "license_files": 1024,
    "import_name": 1024,
    "import_names": 1024,
    "import_namespace": 1024,
    "import_namespaces": 1024,
    "comment": 4096,
    "attestations": 256 * 1024,
}
#: Any other field (clients send a few bastion does not read).
OTHER_FIELD_LIMIT = 4096


def field_limit(field: str) -> int:
    """The longest value ``field`` may carry. The description's is the operator's
    ``BASTION_MAX_DESCRIPTION_SIZE``, in bytes: counted here in characters, never more than
    its bytes, it refuses the longest before anything parses them, and the README check
    (:mod:`bastion.packages.readme`) holds the exact bound."""
    if field == "description":
        return current().max_description_size
    return FIELD_LIMITS.get(field, OTHER_FIELD_LIMIT)


def check_field_limits(form: Mapping[str, list[str]]) -> None:
    """Refuse a value longer than its field's limit, in PyPI's wording for ``summary``."""
    for field, values in form.items():
        limit = field_limit(field)
        for value in values:
            if len(value) > limit:
                shown = field if len(field) <= 64 else f"{field[:61]}..."
                raise UploadError(f"'{shown}' field must be {limit} characters or less.")


def _one(form: Mapping[str, list[str]], key: str) -> str:
    values = form.get(key) or []
    return values[0].strip() if values else ""


def check_form(form: UploadForm) -> tuple[str, str, dict[str, str]]:
    """The form-level checks (PyPI's UploadForm): returns (filetype, pyversion, digests)."""
    for field in form.file_fields:
        if field not in ("content", "gpg_signature") or form.file_fields.count(field) > 1:
            raise UploadError(f"{field}: Should not be a tuple.")
    fields = form.fields
    protocol = _one(fields, "protocol_version")
    if protocol and protocol != "1":
        raise UploadError("Unknown protocol version.")
    if not _one(fields, "metadata_version"):
        raise UploadError("Invalid value for metadata_version. Error: This field is required.")
    name = _one(fields, "name")
    if not name or not PROJECT_NAME_RE.match(name):
        err = (
            "This field is required."
            if not name
            else "Start and end with a letter or numeral containing only ASCII numeric and '.', '_' and '-'."
        )
        shown = name if len(name) <= 60 else f"{name[:30]}...{name[-30:]}"
        raise UploadError(
            f"'{shown}' is an invalid value for Name. Error: {err} "
            f"See {metadata.SPEC_URL} for more information."
        )
    if not _one(fields, "version"):
        raise UploadError("Invalid value for version. Error: This field is required.")
    filetype = _one(fields, "filetype")
    if filetype not in ("sdist", "bdist_wheel"):
        raise UploadError("Invalid value for filetype. Error: Use a known file type.")
    digests: dict[str, str] = {}
    for field, label in (("blake2_256_digest", "BLAKE2"), ("sha256_digest", "SHA256")):
        value = _one(fields, field)
        if value:
            if not re.fullmatch(r"[A-Fa-f0-9]{64}", value):
                raise UploadError(
                    f"Invalid value for {field}. Error: Use a valid, hex-encoded, {label} message digest."
                )
            digests[field] = value.lower()
    md5 = _one(fields, "md5_digest")
    if md5:
        if not re.fullmatch(r"[A-Fa-f0-9]{32}", md5):
            raise UploadError(
                "Invalid value for md5_digest. Error: Use a valid, hex-encoded, MD5 message digest."
            )
        digests["md5_digest"] = md5.lower()
    pyversion = _one(fields, "pyversion")
    if filetype == "sdist":
        if pyversion and pyversion != "source":
            raise UploadError(
                "Invalid value for pyversion. Error: Use 'source' as Python version for an sdist."
            )
        pyversion = "source"
    elif not pyversion:
        raise UploadError(
            "Invalid value for pyversion. Error: Python version is required for binary distribution uploads."
        )
    if not digests:
        raise UploadError("Error: Include at least one message digest.")
    return filetype, pyversion, digests


def check_description(meta: Metadata) -> None:
    """PyPI refuses a description that does not render (its verdict, without the HTML: the
    background task that publishes the file renders it for the page). bastion also refuses
    one too large, too deeply nested or too costly to render, saying which."""
    text = meta.description or ""
    content_type = meta.description_content_type or ""
    problem = readme.problem(text, content_type)
    if problem is None:
        return
    if problem != readme.FAILED:
        raise UploadError(f"{problem} See {HELP}#description-content-type for more information.")
    if content_type:
        raise UploadError(
            f"The description failed to render for '{content_type}'. See "
            f"{HELP}#description-content-type for more information."
        )
    raise UploadError(
        "The description failed to render in the default format of reStructuredText. "
        f"See {HELP}#description-content-type for more information."
    )


def check_release_age(release: Release | None) -> None:
    """Refuse new files for a release older than ``BASTION_NEW_FILES_DAYS`` (PyPI: 14 days).

    Installers trust a release that has been out for a while; a stolen token must not be able
    to add a wheel for a new platform to it, which every installer on that platform would
    then pick. 0 turns the rule off.
    """
    days = current().new_files_days
    if release is None or days <= 0:
        return
    if release.created < timezone.now() - timedelta(days=days):
        raise UploadError(f"Uploading new files to releases older than {days} days is not allowed.")


def _size_limit(project: Project | None) -> int:
    limit = current().max_file_size
    if project is not None and project.upload_limit:
        limit = max(limit, int(project.upload_limit))
    return limit


def check_project_name(name: str, user: User) -> None:
    """The name policy for a new project (the ``names`` domain decides): prohibited and
    standard-library names, namespaces, look-alikes of popular PyPI projects and of this
    index's own projects, moderator overrides."""
    verdict = check_new_project_name(name, user_id=user.pk, projects=packages.project_names())
    if verdict.blocked:
        reason = verdict.reason or f"The name '{name}' isn't allowed."
        raise UploadError(f"{reason} See {HELP}#project-name for more information.")


@dataclass(frozen=True)
class ValidForm:
    """What :func:`validate_form` found in the form, and the file it came with."""

    filetype: str
    pyversion: str
    #: The digests the client supplied (at least one), lower-case hex by field name.
    supplied: dict[str, str]
    #: The form's metadata fields that its Metadata-Version has (a newer one is dropped).
    form_raw: RawMetadata
    meta: Metadata
    content: ReceivedFile

    @property
    def name(self) -> str:
        return str(self.meta.name)


@dataclass(frozen=True)
class Target:
    """Where the file goes. ``project`` is ``None`` for a new project (created by
    :func:`record`), and ``release`` for a release the file creates."""

    name: str
    project: Project | None
    release: Release | None = None


@dataclass(frozen=True)
class InspectedFile:
    """What :func:`inspect_archive` read from the archive."""

    archive: distribution.Inspected
    file_raw: RawMetadata
    #: The file's own metadata, checked: it becomes the release's, as installers read it.
    file_meta: Metadata


def handle_upload(
    form: UploadForm, identity: Identity, content: ReceivedFile | None, client: ClientInfo
) -> UploadResult:
    """Run the upload's steps for ``identity`` (authenticated, within its upload rate limits)
    from ``client``; raise :class:`UploadError` with the first refusal."""
    valid = validate_form(form, content)
    target = resolve_project(valid, identity, client)
    existing = check_new_file(valid, target)
    if existing is not None:
        return settle(existing, created=False)
    target = resolve_release(valid, target)
    inspected = inspect_archive(valid, target)
    new = store(valid, inspected)
    return settle(record(new, inspected, target, identity, client), created=True)


def settle(file: File, *, created: bool) -> UploadResult:
    """The answer from the file's state: published, a success; held, a refusal with its
    reason; still pending, a success that says the file waits for its scan. A small file
    (``BASTION_UPLOAD_SCAN_IN_REQUEST``) is scanned here first, so its answer is the verdict;
    a larger one waits up to ``BASTION_UPLOAD_VERDICT_WAIT`` seconds for the worker's. (Waiting
    for the worker costs its pick-up besides the scan, and serialises scans that otherwise
    overlap the next upload: the benchmark's corpus took 24 s instead of 5 with a 5 s wait for
    every file.) A file just recorded is pending in hand (its scan may have
    decided since), so its state is read again; an identical re-upload's is the one just
    read, and gets the same answer as the first upload of the file."""
    if file.state == File.PUBLISHED:
        return UploadResult(file, created)
    if file.state == File.PENDING and created and tasks.scans_in_request(file.size):
        tasks.scan_in_request(file.pk)
        standing = verdict.await_decision(file, 0.0)
    elif file.state == File.PENDING:
        standing = verdict.await_decision(file, current().upload_verdict_wait)
    else:
        standing = verdict.Standing(file.filename, file.state, file.scan_verdict)
    reason = verdict.refusal(standing)
    if reason is not None:
        raise UploadError(reason)
    notice = verdict.pending_notice(standing) if standing.state == File.PENDING else ""
    return UploadResult(file, created, notice)


def validate_form(form: UploadForm, content: ReceivedFile | None) -> ValidForm:
    """The form's fields, its metadata (PyPI's rules and the index's), and that it has a
    file."""
    filetype, pyversion, supplied = check_form(form)
    try:
        # The fields its Metadata-Version has: those the file's own check keeps (one answer
        # for one file, whichever client built the form).
        form_raw, meta = metadata.validate(metadata.raw_from_form(form.fields))
    except metadata.MetadataError as exc:
        raise UploadError(str(exc)) from exc
    if content is None:
        raise UploadError("Upload payload does not have a file.")
    return ValidForm(filetype, pyversion, supplied, form_raw, meta, content)


def resolve_project(valid: ValidForm, identity: Identity, client: ClientInfo) -> Target:
    """The project the file is for, and whether ``identity`` may upload to it; a new project
    is also asked of the project-creation rate limit (only this step knows the project is
    new) and of the name policy."""
    user = identity.user
    assert user is not None  # the view authenticated a user's token
    name = valid.name
    project = packages.get_project(name)
    if project is None:
        decision = authorize(identity, Action.CREATE_PROJECT)
        if not decision:
            raise UploadError(decision.reason, 403)
        ratelimit.check(client, "project-create", user=user)
        check_project_name(name, user)
    else:
        decision = authorize(identity, Action.UPLOAD, project)
        if not decision:
            raise UploadError(decision.reason, 403)
    return Target(name, project)


def check_new_file(valid: ValidForm, target: Target) -> File | None:
    """The file's name, type, size and digests, and that neither its name nor its bytes were
    used before. Returns the recorded file when this is the same file uploaded again (twine
    retries; PyPI answers that with success)."""
    content, project = valid.content, target.project
    filename = content.name
    if content.content_type.startswith("image/"):
        raise UploadError("Invalid distribution file.")
    try:
        distribution.check_filename_shape(filename, valid.filetype)
    except distribution.DistributionError as exc:
        raise UploadError(str(exc)) from exc
    limit = _size_limit(project)
    if content.size > limit:
        shown = target.name if project is None else project.name
        raise UploadError(
            f"File too large. Limit for project '{shown}' is {limit // (1024 * 1024)} MB. "
            f"See {HELP}#file-size-limit for more information."
        )
    if project is not None:
        total_limit = project.total_size_limit or current().max_project_size
        if project.total_size + content.size > total_limit:
            raise UploadError(
                f"Project size too large. Limit for project '{project.name}' total size is "
                f"{total_limit // (1024**3)} GB. See {HELP}#project-size-limit"
            )

    computed = content.digests
    for field, value in valid.supplied.items():
        if not hmac.compare_digest(value, computed[field]):
            raise UploadError(
                "The digest supplied does not match a digest calculated from the uploaded file."
            )

    # Re-uploads and filename reuse: one statement for the file of this name, a file of these
    # bytes under any name, and the registry of every name ever used.
    uses = packages.filename_uses(filename, computed["blake2_256_digest"])
    existing = uses.same_name
    if existing is not None and existing.state == File.REMOVED:
        raise UploadError(previously_used())
    if existing is not None:
        if (
            existing.sha256_digest == computed["sha256_digest"]
            and existing.blake2_256_digest == computed["blake2_256_digest"]
        ):
            return existing
        raise UploadError(
            f"File already exists ('{filename}', with blake2_256 hash "
            f"'{existing.blake2_256_digest}'). See {HELP}#file-name-reuse for more information."
        )
    same_content = uses.same_content
    if same_content is not None:
        raise UploadError(
            f"File already exists ('{same_content.filename}', with blake2_256 hash "
            f"'{same_content.blake2_256_digest}'). See {HELP}#file-name-reuse for more information."
        )
    if uses.registered:
        raise UploadError(previously_used())
    return None


def resolve_release(valid: ValidForm, target: Target) -> Target:
    """The release the file joins, looked up once with whether it has an sdist: the
    transaction of :func:`record` takes this release. An sdist is refused here before the
    archive is read, and checked again in that transaction once the project is locked
    (``packages.record_upload``), which is what keeps two concurrent sdists out."""
    if target.project is None:
        return target
    release, has_sdist = packages.find_release_for_upload(target.project, str(valid.meta.version))
    check_release_age(release)
    if valid.filetype == "sdist" and has_sdist:
        raise UploadError(str(packages.SdistExists()))
    return Target(target.name, target.project, release)


def inspect_archive(valid: ValidForm, target: Target) -> InspectedFile:
    """Read the archive as data: its name matches the form's, it is a sound archive within
    its time budget, and its metadata agrees with the form's and is valid on its own."""
    filename = valid.content.name
    try:
        distribution.check_filename_matches(
            filename,
            valid.filetype,
            target.name,
            valid.meta.version,
            strict_sdist=current().strict_sdist_filenames,
        )
    except distribution.DistributionError as exc:
        raise UploadError(str(exc)) from exc
    limits = Limits(max_seconds=current().archive_seconds)
    try:
        archive = distribution.inspect(valid.content.file, filename, valid.filetype, limits)
        file_raw = metadata.parse_file_metadata(archive.metadata)
        metadata.compare(valid.form_raw, file_raw, archive.metadata_kind)
        distribution.check_license_files(list(valid.meta.license_files or []), archive, filename)
    except (distribution.DistributionError, metadata.MetadataError) as exc:
        raise UploadError(str(exc)) from exc
    try:
        _declared, file_meta = metadata.validate(_merged(valid.form_raw, file_raw))
    except metadata.MetadataError as exc:
        raise UploadError(f"The {archive.metadata_kind} inside the file is invalid: {exc}") from exc
    if target.release is None:
        check_description(file_meta)
    return InspectedFile(archive, file_raw, file_meta)


def store(valid: ValidForm, inspected: InspectedFile) -> packages.NewFile:
    """Put the bytes (and a wheel's METADATA, served beside it) in storage under their hash;
    returns the file as :func:`record` records it."""
    content, computed = valid.content, valid.content.digests
    filename = content.name
    storage = get_storage()
    key = file_key(computed["blake2_256_digest"], filename)
    metadata_sha = ""
    if valid.filetype == "bdist_wheel":
        metadata_sha = hashlib.sha256(inspected.archive.metadata).hexdigest()
        storage.put_bytes(key + ".metadata", inspected.archive.metadata)
    if content.path is not None:
        storage.adopt(key, content.path)
    else:
        content.file.seek(0)
        storage.put_bytes(key, content.file.read())
    return packages.NewFile(
        filename=filename,
        packagetype=File.SDIST if valid.filetype == "sdist" else File.WHEEL,
        python_version=valid.pyversion,
        requires_python=str(inspected.file_raw.get("requires_python") or "").strip(),
        size=content.size,
        md5_digest=computed["md5_digest"],
        sha256_digest=computed["sha256_digest"],
        blake2_256_digest=computed["blake2_256_digest"],
        storage_key=key,
        metadata_sha256=metadata_sha,
    )


def record(
    new: packages.NewFile,
    inspected: InspectedFile,
    target: Target,
    identity: Identity,
    client: ClientInfo,
) -> File:
    """One transaction: the project (if new), the release, the file as *pending*, their
    events, the token's use, and the file's scan task. The task queue is a table of the same
    database, so a committed pending file always has its scan queued, and a rolled-back one
    none. On a refusal the stored bytes are removed again."""
    user = identity.user
    assert user is not None
    created: Project | None = None
    try:
        with transaction.atomic(), events.batched():
            project = target.project
            if project is None:
                project = created = packages.create_project(target.name, user, request=client)
                transaction.on_commit(lambda: ratelimit.hit(client, "project-create", user=user))
            file = packages.record_upload(
                project,
                inspected.file_meta.version,
                new,
                release=target.release,
                new_project=created is not None,
                metadata=dict(inspected.file_raw),
                uploader=user,
                request=client,
            )
            tasks.enqueue_scan(file.pk, in_request=tasks.scans_in_request(new.size))
            if identity.token is not None:
                tokens.mark_used(identity.token, request=client)
    except packages.SdistExists as exc:
        _discard_unless_recorded(new.storage_key)
        raise UploadError(str(exc)) from exc
    except IntegrityError as exc:
        _discard_unless_recorded(new.storage_key)
        new_name = target.project is None and created is None
        if new_name and packages.get_project(target.name) is not None:
            raise UploadError(
                f"The name '{target.name}' conflicts with an existing project. See "
                f"{HELP}#project-name for more information.",
                409,
            ) from exc
        raise UploadError(
            f"File already exists ('{new.filename}', with blake2_256 hash "
            f"'{new.blake2_256_digest}'). See {HELP}#file-name-reuse for more information."
        ) from exc
    except BaseException:
        _discard_unless_recorded(new.storage_key)
        raise
    return file


def _discard_unless_recorded(key: str) -> None:
    """Remove what this upload stored, unless a concurrent upload of the same bytes under the
    same name (the same key) was recorded: its file is this one."""
    if not File.objects.filter(storage_key=key).exists():
        storage = get_storage()
        storage.delete(key)
        storage.delete(key + ".metadata")


def _merged(form_raw: RawMetadata, file_raw: RawMetadata) -> RawMetadata:
    merged: dict[str, Any] = dict(form_raw)
    merged.update(file_raw)
    return merged  # type: ignore[return-value]
