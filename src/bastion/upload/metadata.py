"""Core metadata: from the upload form, from the file, validated and compared.

PyPI validates the metadata sent in the form and never looks at the METADATA inside the file,
although installers read the file's (PEP 658). bastion validates the form the same way, then
requires the file's own METADATA / PKG-INFO to agree with it field by field, and keeps the
file's copy as the release's metadata.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from email.utils import getaddresses
from typing import Any

import email_validator
import trove_classifiers
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from packaging.metadata import (
    _EMAIL_TO_RAW_MAPPING,
    InvalidMetadata,
    Metadata,
    RawMetadata,
    parse_email,
)
from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

SPEC_URL = "https://packaging.python.org/specifications/core-metadata"
LOCAL_URL = (
    "https://packaging.python.org/specifications/version-specifiers/#local-version-identifiers"
)

SUPPORTED_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")
DYNAMIC_FIELDS = frozenset(
    f.lower()
    for f in (
        "Platform",
        "Supported-Platform",
        "Summary",
        "Description",
        "Description-Content-Type",
        "Keywords",
        "Home-Page",
        "Download-URL",
        "Author",
        "Author-Email",
        "Maintainer",
        "Maintainer-Email",
        "License",
        "License-Expression",
        "License-File",
        "Classifier",
        "Requires-Dist",
        "Requires-Python",
        "Requires-External",
        "Project-URL",
        "Provides-Extra",
        "Provides-Dist",
        "Obsoletes-Dist",
        "Import-Name",
        "Import-Namespace",
    )
)

# Form field -> RawMetadata key. Multi-use fields arrive as repeated form fields.
_SINGLE = {
    "metadata_version": "metadata_version",
    "name": "name",
    "version": "version",
    "summary": "summary",
    "description": "description",
    "description_content_type": "description_content_type",
    "keywords": "keywords",
    "home_page": "home_page",
    "download_url": "download_url",
    "author": "author",
    "author_email": "author_email",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "license": "license",
    "license_expression": "license_expression",
    "requires_python": "requires_python",
}
_MULTI = {
    "platform": "platforms",
    "supported_platform": "supported_platforms",
    "classifiers": "classifiers",
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "requires_dist": "requires_dist",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires_external": "requires_external",
    "project_urls": "project_urls",
    "provides_extra": "provides_extra",
    "dynamic": "dynamic",
    "license_file": "license_files",
    "license_files": "license_files",
    "import_name": "import_names",
    "import_names": "import_names",
    "import_namespace": "import_namespaces",
    "import_namespaces": "import_namespaces",
}
FORM_FIELDS = frozenset(_SINGLE) | frozenset(_MULTI)


class MetadataError(ValueError):
    """Invalid metadata; the message is PyPI's wording, ready for a 400 reason."""


def _clean(value: str) -> str | None:
    value = value.replace("\x00", "\\x00")
    return None if value.strip() in ("", "UNKNOWN") else value


def raw_from_form(form: Mapping[str, list[str]]) -> RawMetadata:
    """Build :class:`RawMetadata` from the form's fields (``form[key]`` is every value sent)."""
    raw: dict[str, Any] = {}
    for field, key in _SINGLE.items():
        values = [v for v in (_clean(x) for x in form.get(field, [])) if v is not None]
        if not values:
            continue
        if len(values) > 1:
            raise MetadataError(f"'{field}' has invalid data")
        raw[key] = values[0]
    for field, key in _MULTI.items():
        values = [v for v in (_clean(x) for x in form.get(field, [])) if v is not None]
        if not values:
            continue
        if key == "project_urls":
            urls: dict[str, str] = dict(raw.get("project_urls", {}))
            for entry in values:
                label, sep, url = entry.partition(",")
                if not sep:
                    raise MetadataError(f"'{field}' has invalid data")
                urls[label.strip()] = url.strip()
            raw[key] = urls
        else:
            raw.setdefault(key, []).extend(values)
    if "keywords" in raw:
        raw["keywords"] = [k.strip() for k in str(raw["keywords"]).split(",") if k.strip()]
    return raw  # type: ignore[return-value]


def _raw_key(field: str) -> str:
    """packaging names fields as headers ("license-file"); RawMetadata keys are plural."""
    return _EMAIL_TO_RAW_MAPPING.get(field.lower(), field.replace("-", "_"))


def _order(exc: InvalidMetadata) -> tuple[int, str]:
    priority = {"metadata_version": 0, "name": 1, "version": 2}
    key = _raw_key(exc.field)
    return priority.get(key, 3), key


def declared_fields(raw: RawMetadata) -> RawMetadata:
    """The fields of ``raw`` that its declared Metadata-Version has.

    A field newer than the declared version is dropped, as installers and PyPI ignore it:
    setuptools wrote License-File into Metadata-Version 2.1 files for years, and ``uv publish``
    sends such a file's License-File in the form while twine leaves it out. The form and the
    file both pass through here, so one file gets one answer whichever client sends it.
    """
    declared = raw.get("metadata_version")
    if declared is None or declared not in SUPPORTED_METADATA_VERSIONS:
        return raw  # refused by :func:`validate`, in PyPI's words
    age = SUPPORTED_METADATA_VERSIONS.index(declared)
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        added = getattr(Metadata.__dict__.get(key), "added", None)
        if added in SUPPORTED_METADATA_VERSIONS and SUPPORTED_METADATA_VERSIONS.index(added) > age:
            continue
        kept[key] = value
    return kept  # type: ignore[return-value]


def validate(raw: RawMetadata) -> tuple[RawMetadata, Metadata]:
    """Validate like PyPI does (packaging's rules plus the index's own), on the fields the
    declared Metadata-Version has (:func:`declared_fields`); returns those fields and the
    validated metadata."""
    mv = raw.get("metadata_version")
    if mv is None:
        raise MetadataError(
            f"'metadata-version' is a required field. See {SPEC_URL} for more information."
        )
    if mv not in SUPPORTED_METADATA_VERSIONS:
        raise MetadataError(
            f"'{mv}' is not a valid metadata version. See {SPEC_URL} for more information."
        )
    raw = declared_fields(raw)
    try:
        meta = Metadata.from_raw(raw, validate=True)
    except ExceptionGroup as group:
        errors = [e for e in group.exceptions if isinstance(e, InvalidMetadata)]
        if not errors:
            raise MetadataError(
                f"{group.exceptions[0]}. See {SPEC_URL} for more information."
            ) from group
        first = sorted(errors, key=_order)[0]
        raise MetadataError(f"{first}. See {SPEC_URL} for more information.") from group
    _index_rules(meta)
    return raw, meta


def _fail(message: str) -> MetadataError:
    return MetadataError(f"{message}. See {SPEC_URL} for more information.")


_url = URLValidator(schemes=["http", "https"])


@functools.lru_cache(maxsize=4096)
def _is_url(value: str) -> bool:
    try:
        _url(value)
    except ValidationError:
        return False
    return True


def _index_rules(meta: Metadata) -> None:
    version: Version = meta.version
    if version.local is not None:
        raise MetadataError(
            f"The use of local versions in '{version}' is not allowed. See {LOCAL_URL} for more information."
        )
    if meta.summary is not None and len(meta.summary) > 512:
        raise _fail("'summary' field must be 512 characters or less")
    if meta.summary is not None and ("\n" in meta.summary or "\r" in meta.summary):
        raise _fail("'summary' must be a single line")
    for field in ("author_email", "maintainer_email"):
        value = getattr(meta, field)
        if not value:
            continue
        for addr in _split_addresses(value):
            problem = _email_problem(addr)
            if problem is not None:
                raise _fail(f"'{addr}' is not a valid email address: {problem}")
    for classifier in meta.classifiers or []:
        if classifier in trove_classifiers.deprecated_classifiers:
            replacements = trove_classifiers.deprecated_classifiers[classifier]
            if replacements:
                raise _fail(
                    f"The classifier '{classifier}' has been deprecated, use one of {replacements} instead"
                )
            raise _fail(f"The classifier '{classifier}' has been deprecated")
        if classifier not in trove_classifiers.classifiers:
            raise _fail(f"'{classifier}' is not a valid classifier")
    for field in ("home_page", "download_url"):
        value = getattr(meta, field)
        if value and not _is_url(value):
            raise _fail(f"'{value}' is not a valid url")
    for label, url in (meta.project_urls or {}).items():
        if not label:
            raise _fail("Must have a label")
        if len(label) > 32:
            raise _fail(f"'{label}' must be 32 characters or less")
        if not url:
            raise _fail("Must have a URL")
        if not _is_url(url):
            raise _fail(f"'{url}' is not a valid url")
    for field in ("requires_dist", "provides_dist", "obsoletes_dist"):
        for req in getattr(meta, field) or []:
            if isinstance(req, Requirement):
                parsed = req
            else:
                try:
                    parsed = Requirement(str(req))
                except InvalidRequirement as exc:
                    raise _fail(f"'{req}' is invalid: {exc}") from exc
            if parsed.url:
                raise _fail(f"Can't have direct dependency: {req}")
    for key in meta.dynamic or []:
        if key.lower() not in DYNAMIC_FIELDS:
            raise _fail(f"Dynamic field '{key}' is not a valid dynamic field")
    if meta.license and meta.license_expression:
        raise _fail(
            "License is deprecated when License-Expression is present. "
            "Only License-Expression should be present"
        )


# The form and the file's own metadata carry the same addresses, URLs and requirements, and so
# do a project's successive uploads: each distinct value is checked once per process.
@functools.lru_cache(maxsize=4096)
def _email_problem(addr: str) -> str | None:
    try:
        email_validator.validate_email(addr, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


def _split_addresses(value: str) -> list[str]:
    """The addresses of an RFC 5322 address list (quoted display names may contain commas)."""
    return [addr for _name, addr in getaddresses([value]) if addr]


def parse_file_metadata(data: bytes) -> RawMetadata:
    """Parse the METADATA / PKG-INFO found in a distribution."""
    if b"\x00" in data:
        # No metadata field may hold one, and the database could not store it.
        raise MetadataError("The metadata inside the file contains a NUL character.")
    raw, _unparsed = parse_email(data)
    return raw


def _norm_text(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    return value


@functools.lru_cache(maxsize=4096)
def _norm_requirement(value: str) -> str:
    try:
        return str(Requirement(value))
    except InvalidRequirement:
        return value.strip()


_COMPARATORS: dict[str, Callable[[Any], Any]] = {
    "name": lambda v: v.strip().lower().replace("_", "-").replace(".", "-"),
    "version": lambda v: str(Version(v)) if v else v,
    "keywords": lambda v: sorted(k.strip() for k in v if k.strip()),
    "classifiers": lambda v: sorted(v),
    "requires_dist": lambda v: sorted(_norm_requirement(x) for x in v),
    "provides_dist": lambda v: sorted(v),
    "obsoletes_dist": lambda v: sorted(v),
    "provides_extra": lambda v: sorted(x.strip().lower() for x in v),
    "project_urls": lambda v: {k.strip(): u.strip() for k, u in v.items()},
    "platforms": lambda v: sorted(x.strip() for x in v if x.strip() not in ("", "UNKNOWN")),
    "supported_platforms": lambda v: sorted(v),
    "license_files": lambda v: sorted(v),
    "dynamic": lambda v: sorted(x.lower() for x in v),
    "requires_python": lambda v: v.replace(" ", ""),
}
# Fields compared when the form sends them. The description body is compared too: what the
# project page shows must be what the file carries.
_COMPARED = (
    "name",
    "version",
    "summary",
    "description",
    "description_content_type",
    "keywords",
    "home_page",
    "download_url",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "license_expression",
    "classifiers",
    "requires_dist",
    "provides_dist",
    "obsoletes_dist",
    "requires_python",
    "requires_external",
    "project_urls",
    "provides_extra",
    "dynamic",
    "license_files",
    "platforms",
    "supported_platforms",
)
_LABELS = {k: k.replace("_", "-").title() for k in _COMPARED}
_LABELS.update(
    {
        "home_page": "Home-Page",
        "download_url": "Download-URL",
        "platforms": "Platform",
        "classifiers": "Classifier",
        "license_files": "License-File",
        "project_urls": "Project-URL",
        "requires_python": "Requires-Python",
    }
)


def compare(form_raw: RawMetadata, file_raw: RawMetadata, kind: str) -> None:
    """Require every field the form sent to equal the file's own value.

    A field the form did not send is taken from the file (a client may not know a newer field);
    a field the form sent but the file lacks, or a different value, is refused.
    """
    form_map: Mapping[str, Any] = form_raw  # type: ignore[assignment]
    file_map: Mapping[str, Any] = file_raw  # type: ignore[assignment]
    for key in _COMPARED:
        if key not in form_map:
            continue
        form_value = form_map[key]
        file_value = file_map.get(key)
        norm = _COMPARATORS.get(key, _norm_text)
        try:
            left = norm(form_value)
            right = norm(file_value) if file_value is not None else None
        except Exception:  # unparsable in one of them: compare as given
            left, right = form_value, file_value
        if key == "description" and right is not None:
            left, right = _norm_description(form_value), _norm_description(file_value)
        if left != right and not (left in ([], {}, "") and right is None):
            raise MetadataError(
                f"Metadata field '{_LABELS.get(key, key)}' sent with the upload does not match "
                f"the {kind} inside the file."
            )


def _norm_description(value: Any) -> str:
    text = str(value or "").replace("\r\n", "\n")
    # Some builders indent continuation lines of a header-stored description with 8 spaces
    # or a '|'; compare the text without that envelope.
    lines = [line.rstrip() for line in text.strip().split("\n")]
    return "\n".join(line for line in lines if line)
