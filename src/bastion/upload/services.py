"""The upload pipeline: authenticate -> validate everything -> store -> record as pending.

Nothing is written before every check has passed. The bytes then go to storage under their
hash, and one transaction records the project (if new), the release, the file as *pending* and
their audit events. A scan task, enqueued after the commit, publishes or holds the file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from packaging.metadata import Metadata, RawMetadata

from bastion import ratelimit
from bastion.accounts.models import User
from bastion.archives import Limits
from bastion.config import current
from bastion.events import services as events
from bastion.names.normalize import MAX_NAME_LENGTH
from bastion.names.services import check_new_project_name
from bastion.packages import readme
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release
from bastion.storage import file_key, get_storage
from bastion.tokens import macaroons
from bastion.tokens import services as tokens
from bastion.tokens.policy import Action, Identity, authorize
from bastion.upload import distribution, metadata
from bastion.upload.receive import ReceivedFile

HELP = "https://pypi.org/help/"
#: PyPI's refusal of a filename whose file was deleted (a filename is never used twice).
PREVIOUSLY_USED = (
    "This filename was previously used by a file that has since been deleted. Use a "
    f"different version. See {HELP}#file-name-reuse for more information."
)
PROJECT_NAME_RE = re.compile(
    r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE | re.ASCII
)
INVALID_AUTH = (
    f"Invalid or non-existent authentication information. See {HELP}#invalid-auth for more "
    "information."
)
PASSWORD_AUTH = (
    "Username/Password authentication is no longer supported. Migrate to API Tokens or Trusted "
    f"Publishers instead. See {HELP}#apitoken and {HELP}#trusted-publishers"
)


class UploadError(Exception):
    """Refuse the upload with ``status`` and a one-line ``message`` (also the reason phrase)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class UploadRequest:
    """What the view extracted from the HTTP request."""

    #: Who is uploading: the view authenticates before it reads the body.
    identity: Identity
    form: dict[str, list[str]]
    file_fields: list[str]
    #: The ``content`` part, with its name as sent, size and digests (:mod:`.receive`).
    content: ReceivedFile | None
    request: Any = None


@dataclass(frozen=True)
class UploadResult:
    file: File | None
    created: bool


def authenticate(header: str) -> Identity:
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UploadError(INVALID_AUTH, 403) from exc
        username, sep, secret = decoded.partition(":")
        if not sep:
            raise UploadError(INVALID_AUTH, 403)
        if username != "__token__":
            raise UploadError(PASSWORD_AUTH, 403)
        raw = secret
    elif scheme in ("token", "bearer"):
        raw = value.strip()
    else:
        raise UploadError(INVALID_AUTH, 403)
    try:
        identity = tokens.authenticate(raw)
    except macaroons.TokenError as exc:
        raise UploadError(str(exc), 403) from exc
    user = identity.user
    if user is None or not user.is_active or user.is_frozen:
        raise UploadError(INVALID_AUTH, 403)
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


def check_field_limits(form: dict[str, list[str]]) -> None:
    """Refuse a value longer than its field's limit, in PyPI's wording for ``summary``."""
    for field, values in form.items():
        limit = field_limit(field)
        for value in values:
            if len(value) > limit:
                shown = field if len(field) <= 64 else f"{field[:61]}..."
                raise UploadError(f"'{shown}' field must be {limit} characters or less.")


def _one(form: dict[str, list[str]], key: str) -> str:
    values = form.get(key) or []
    return values[0].strip() if values else ""


def check_form(req: UploadRequest) -> tuple[str, str, dict[str, str]]:
    """The form-level checks (PyPI's UploadForm): returns (filetype, pyversion, digests)."""
    for field in req.file_fields:
        if field not in ("content", "gpg_signature") or req.file_fields.count(field) > 1:
            raise UploadError(f"{field}: Should not be a tuple.")
    protocol = _one(req.form, "protocol_version")
    if protocol and protocol != "1":
        raise UploadError("Unknown protocol version.")
    if not _one(req.form, "metadata_version"):
        raise UploadError("Invalid value for metadata_version. Error: This field is required.")
    name = _one(req.form, "name")
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
    if not _one(req.form, "version"):
        raise UploadError("Invalid value for version. Error: This field is required.")
    filetype = _one(req.form, "filetype")
    if filetype not in ("sdist", "bdist_wheel"):
        raise UploadError("Invalid value for filetype. Error: Use a known file type.")
    digests: dict[str, str] = {}
    for field, label in (("blake2_256_digest", "BLAKE2"), ("sha256_digest", "SHA256")):
        value = _one(req.form, field)
        if value:
            if not re.fullmatch(r"[A-Fa-f0-9]{64}", value):
                raise UploadError(
                    f"Invalid value for {field}. Error: Use a valid, hex-encoded, {label} message digest."
                )
            digests[field] = value.lower()
    md5 = _one(req.form, "md5_digest")
    if md5:
        if not re.fullmatch(r"[A-Fa-f0-9]{32}", md5):
            raise UploadError(
                "Invalid value for md5_digest. Error: Use a valid, hex-encoded, MD5 message digest."
            )
        digests["md5_digest"] = md5.lower()
    pyversion = _one(req.form, "pyversion")
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
    local = list(Project.objects.order_by("pk").values_list("normalized_name", flat=True))
    verdict = check_new_project_name(name, user_id=user.pk, extra_protected=local)
    if verdict.blocked:
        reason = verdict.reason or f"The name '{name}' isn't allowed."
        raise UploadError(f"{reason} See {HELP}#project-name for more information.")


def handle_upload(req: UploadRequest) -> UploadResult:
    identity = req.identity
    user = identity.user
    assert user is not None
    # The address's window was checked by the view before the body was read.
    ratelimit.check(req.request, "upload", user=user, ip=False)
    ratelimit.hit(req.request, "upload", user=user)
    filetype, pyversion, supplied = check_form(req)

    form_raw: RawMetadata
    try:
        form_raw = metadata.raw_from_form(req.form)
        meta = metadata.validate(form_raw)
    except metadata.MetadataError as exc:
        raise UploadError(str(exc)) from exc
    if req.content is None:
        raise UploadError("Upload payload does not have a file.")
    content = req.content

    # Project and permission.
    name = str(meta.name)
    project = packages.get_project(name)
    if project is None:
        decision = authorize(identity, Action.CREATE_PROJECT)
        if not decision:
            raise UploadError(decision.reason, 403)
        ratelimit.check(req.request, "project-create", user=user)
        check_project_name(name, user)
    else:
        decision = authorize(identity, Action.UPLOAD, project)
        if not decision:
            raise UploadError(decision.reason, 403)

    # The file's name and type.
    filename = content.name
    if content.content_type.startswith("image/"):
        raise UploadError("Invalid distribution file.")
    try:
        distribution.check_filename_shape(filename, filetype)
    except distribution.DistributionError as exc:
        raise UploadError(str(exc)) from exc
    limit = _size_limit(project)
    if content.size > limit:
        shown = name if project is None else project.name
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

    size, computed = content.size, content.digests
    for field, value in supplied.items():
        if not hmac.compare_digest(value, computed[field]):
            raise UploadError(
                "The digest supplied does not match a digest calculated from the uploaded file."
            )

    # Re-uploads and filename reuse: one statement for the file of this name, a file of these
    # bytes under any name, and the registry of every name ever used.
    uses = packages.filename_uses(filename, computed["blake2_256_digest"])
    existing = uses.same_name
    if existing is not None and existing.state == File.REMOVED:
        raise UploadError(PREVIOUSLY_USED)
    if existing is not None:
        if (
            existing.sha256_digest == computed["sha256_digest"]
            and existing.blake2_256_digest == computed["blake2_256_digest"]
        ):
            return UploadResult(existing, created=False)
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
        raise UploadError(PREVIOUSLY_USED)

    # Looked up once, with whether it has an sdist: the transaction below takes this release.
    # An sdist is refused here before the archive is read, and checked again in the
    # transaction once the project is locked (packages.record_upload), which is what keeps
    # two concurrent sdists out.
    release, has_sdist = (
        packages.find_release_for_upload(project, str(meta.version))
        if project is not None
        else (None, False)
    )
    check_release_age(release)
    if filetype == "sdist" and has_sdist:
        raise UploadError(str(packages.SdistExists()))

    # What is inside the file.
    try:
        distribution.check_filename_matches(
            filename,
            filetype,
            name,
            meta.version,
            strict_sdist=current().strict_sdist_filenames,
        )
    except distribution.DistributionError as exc:
        raise UploadError(str(exc)) from exc
    limits = Limits(max_seconds=current().archive_seconds)
    try:
        inspected = distribution.inspect(content.file, filename, filetype, limits)
        file_raw = metadata.parse_file_metadata(inspected.metadata)
        metadata.compare(form_raw, file_raw, inspected.metadata_kind)
        distribution.check_license_files(list(meta.license_files or []), inspected, filename)
    except (distribution.DistributionError, metadata.MetadataError) as exc:
        raise UploadError(str(exc)) from exc
    # The file's own metadata becomes the release's: it is what installers read.
    try:
        file_meta = metadata.validate_file_metadata(_merged(form_raw, file_raw))
    except metadata.MetadataError as exc:
        raise UploadError(
            f"The {inspected.metadata_kind} inside the file is invalid: {exc}"
        ) from exc
    if release is None:
        check_description(file_meta)

    # Store, then record in one transaction.
    storage = get_storage()
    key = file_key(computed["blake2_256_digest"], filename)
    metadata_sha = ""
    if filetype == "bdist_wheel":
        metadata_sha = hashlib.sha256(inspected.metadata).hexdigest()
        storage.put_bytes(key + ".metadata", inspected.metadata)
    if content.path is not None:
        storage.adopt(key, content.path)
    else:
        content.file.seek(0)
        storage.put_bytes(key, content.file.read())
    new = packages.NewFile(
        filename=filename,
        packagetype=File.SDIST if filetype == "sdist" else File.WHEEL,
        python_version=pyversion,
        requires_python=str(file_raw.get("requires_python") or "").strip(),
        size=size,
        md5_digest=computed["md5_digest"],
        sha256_digest=computed["sha256_digest"],
        blake2_256_digest=computed["blake2_256_digest"],
        storage_key=key,
        metadata_sha256=metadata_sha,
    )
    try:
        with transaction.atomic(), events.batched():
            new_project = project is None
            if project is None:
                project = packages.create_project(name, user, request=req.request)
                transaction.on_commit(
                    lambda: ratelimit.hit(req.request, "project-create", user=user)
                )
            file = packages.record_upload(
                project,
                file_meta.version,
                new,
                release=release,
                new_project=new_project,
                metadata=dict(file_raw),
                uploader=user,
                request=req.request,
            )
            if identity.token is not None:
                tokens.mark_used(identity.token, request=req.request)
    except packages.SdistExists as exc:
        _discard_unless_recorded(storage, key)
        raise UploadError(str(exc)) from exc
    except IntegrityError as exc:
        _discard_unless_recorded(storage, key)
        if packages.get_project(name) is not None and project is None:
            raise UploadError(
                f"The name '{name}' conflicts with an existing project. See {HELP}#project-name "
                "for more information.",
                409,
            ) from exc
        raise UploadError(
            f"File already exists ('{filename}', with blake2_256 hash "
            f"'{computed['blake2_256_digest']}'). See {HELP}#file-name-reuse for more information."
        ) from exc
    except BaseException:
        _discard_unless_recorded(storage, key)
        raise
    return UploadResult(file, created=True)


def _discard_unless_recorded(storage: Any, key: str) -> None:
    """Remove what this upload stored, unless a concurrent upload of the same bytes under the
    same name (the same key) was recorded: its file is this one."""
    if not File.objects.filter(storage_key=key).exists():
        storage.delete(key)
        storage.delete(key + ".metadata")


def _merged(form_raw: RawMetadata, file_raw: RawMetadata) -> RawMetadata:
    merged: dict[str, Any] = dict(form_raw)
    merged.update(file_raw)
    return merged  # type: ignore[return-value]
