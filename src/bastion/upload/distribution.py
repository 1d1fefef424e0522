"""Checks on the distribution file: its name, its tags and what is inside it.

Messages follow PyPI's wording where PyPI has a check; checks PyPI lacks say plainly what is
wrong. Everything is read through :mod:`bastion.archives`, never extracted.
"""

from __future__ import annotations

import base64
import configparser
import csv
import hashlib
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from bastion.archives import (
    Archive,
    ArchiveError,
    Limits,
    MemberKind,
    Problem,
    ZipConfusionError,
    open_archive,
)
from bastion.helppage import HelpLink

#: What the help page says of the archives bastion accepts (PyPI's refusal names its own page).
ARCHIVES_HELP = HelpLink("archives")

# RECORD hashes installers verify (pip and installer refuse md5 and sha1 as too weak); the
# SHAKE digests have no fixed length, so no RECORD can name them.
RECORD_HASHES = hashlib.algorithms_guaranteed - {"md5", "sha1", "shake_128", "shake_256"}
WEAK_RECORD_HASHES = frozenset({"md5", "sha1"})
# RECORD cannot hold its own hash, and the signatures of RECORD are made after it.
_RECORD_SIGNATURES = ("RECORD.jws", "RECORD.p7s")


class DistributionError(ValueError):
    """The file is not acceptable; the message is for the client."""


_ARCHS = r"(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x|riscv64)"
_MAC_ARCHS = r"(x86_64|arm64|universal2|intel|fat|fat3|fat32|fat64|universal|i386|ppc|ppc64)"
_PLATFORMS = re.compile(
    r"^("
    r"any|win32|win_amd64|win_arm64|win_ia64"
    r"|manylinux1_(x86_64|i686)|manylinux2010_(x86_64|i686)"
    r"|manylinux2014_(x86_64|i686|aarch64|armv7l|ppc64|ppc64le|s390x)"
    rf"|manylinux_\d+_\d+_{_ARCHS}|musllinux_\d+_\d+_{_ARCHS}"
    rf"|macosx_10_\d+_{_MAC_ARCHS}|macosx_(1[1-9]|2[0-9])_\d+_{_MAC_ARCHS}"
    r"|ios_\d+_\d+_(arm64|x86_64)_(iphoneos|iphonesimulator)"
    r"|android_\d+_(armeabi_v7a|arm64_v8a|x86|x86_64)"
    r"|pyemscripten_\d+_\d+_wasm32"
    r"|linux_armv6l|linux_armv7l"
    r")$"
)


def check_filename_shape(filename: str, filetype: str) -> None:
    if any(ord(c) < 32 or ord(c) == 127 for c in filename):
        raise DistributionError(
            "Cannot upload a file with non-printable characters (ordinals 0-31) or the DEL "
            "character (ordinal 127) in the name."
        )
    if "/" in filename or "\\" in filename:
        raise DistributionError("Cannot upload a file with '/' or '\\' in the name.")
    if len(filename) > 240:
        raise DistributionError(f"Filename is too long: '{filename}'")
    if filename.endswith(".tar.gz"):
        ext = ".tar.gz"
    elif filename.endswith(".zip"):
        ext = ".zip"
    elif filename.endswith(".whl"):
        ext = ".whl"
    else:
        raise DistributionError(
            "Invalid file extension: Use .tar.gz, .whl or .zip extension. See "
            "https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ "
            "for more information"
        )
    allowed = {"sdist": (".tar.gz", ".zip"), "bdist_wheel": (".whl",)}[filetype]
    if ext not in allowed:
        raise DistributionError(
            f"Invalid file extension: Extension {ext} is invalid for filetype {filetype}. "
            "See https://www.python.org/dev/peps/pep-0527 for more information."
        )


def check_filename_matches(
    filename: str, filetype: str, name: str, version: Version, *, strict_sdist: bool = True
) -> None:
    """The filename must name the project and version from the metadata, normalised.

    ``strict_sdist=False`` also accepts sdists named before PEP 625 (``python-dateutil-2.9.0.tar.gz``)
    when name and version still match: an operator republishing old public files needs it.
    """
    normalized = canonicalize_name(name)
    underscored = normalized.replace("-", "_")
    if filetype == "sdist":
        try:
            file_name, _file_version = parse_sdist_filename(filename)
        except InvalidSdistFilename as exc:
            raise DistributionError(f"Invalid source distribution filename: {filename}") from exc
        if canonicalize_name(file_name) != normalized:
            raise DistributionError(f"Start filename for '{name}' with '{underscored}'.")
        expected = f"{underscored}-{version}.tar.gz"
        legacy_ok = (
            not strict_sdist
            and filename.endswith(".tar.gz")
            and Version(str(_file_version)) == version
        )
        if filename != expected and not legacy_ok:
            raise DistributionError(f"Filename '{filename}' is invalid, should be '{expected}'.")
        return
    try:
        wheel_name, wheel_version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise DistributionError(str(exc)) from exc
    if wheel_name != normalized:
        raise DistributionError(f"Start filename for '{name}' with '{underscored}'.")
    found = filename.split("-", 1)[0]
    if found != underscored:
        raise DistributionError(
            f"Filename '{filename}' should contain the normalized project name "
            f"'{underscored}', not '{found}'."
        )
    if wheel_version != version:
        raise DistributionError(f"Version in filename should be '{version}' not '{wheel_version}'.")
    for tag in tags:
        if not _PLATFORMS.match(tag.platform):
            raise DistributionError(
                f"Binary wheel '{filename}' has an unsupported platform tag '{tag.platform}'."
            )


@dataclass(frozen=True)
class Inspected:
    metadata: bytes
    metadata_kind: str  # "METADATA" or "PKG-INFO"
    names: frozenset[str]  # every member, so later checks need not reopen the archive
    license_prefix: str  # where License-File paths are relative to


def _invalid(message: str) -> DistributionError:
    return DistributionError(f"Invalid distribution file. {message}")


def _zip_not_accepted(reason: str) -> DistributionError:
    """PyPI's wording for a zip that readers could see differently (warehouse, 2025)."""
    return _invalid(f"ZIP archive not accepted: {reason}. See {ARCHIVES_HELP} for more information")


def _refuse_problems(problems: list[Problem], allow_internal_links: bool) -> None:
    for problem in problems:
        if problem.code in ("symlink", "hardlink") and allow_internal_links:
            continue
        if problem.code in ("symlink", "hardlink"):
            raise _invalid(f"Links are not allowed in a wheel: {problem.member}")
        where = f": {problem.member}" if problem.member else ""
        if problem.code == "compression-ratio":
            raise _invalid(problem.message)
        if problem.code == "unsupported-compression":
            raise _invalid(problem.message)
        if problem.code == "zip-confusion":
            raise _zip_not_accepted(problem.message)
        raise _invalid(f"{problem.message.rstrip('.')}{where}")


def inspect(fh: BinaryIO, filename: str, filetype: str, limits: Limits) -> Inspected:
    """Open the archive and return its core metadata, refusing anything unsafe or malformed."""
    try:
        archive = open_archive(fh, limits)
    except ZipConfusionError as exc:
        raise _zip_not_accepted(exc.reason) from exc
    except ArchiveError as exc:
        raise _invalid(str(exc)) from exc
    with archive:
        if filetype == "bdist_wheel":
            if archive.format != "zip":
                raise _invalid("File is not a zipfile")
            _refuse_problems(archive.fatal_problems() + _links(archive), allow_internal_links=False)
            return _inspect_wheel(archive, filename)
        expected = "tar" if filename.endswith(".tar.gz") else "zip"
        if archive.format != expected:
            raise _invalid(
                "File is not a tarfile" if expected == "tar" else "File is not a zipfile"
            )
        _refuse_problems(archive.fatal_problems(), allow_internal_links=True)
        return _inspect_sdist(archive)


def _links(archive: Archive) -> list[Problem]:
    return [p for p in archive.problems if p.code in ("symlink", "hardlink")]


def _read(archive: Archive, name: str) -> bytes:
    try:
        return archive.read(name, 16 * 1024 * 1024)
    except ArchiveError as exc:
        raise _invalid(str(exc)) from exc


def _inspect_wheel(archive: Archive, filename: str) -> Inspected:
    try:
        parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise _invalid("Unable to parse name and version from wheel filename") from exc
    prefix = filename.split("-")[0] + "-" + filename.split("-")[1]
    dist_info = f"{prefix}.dist-info"
    names = set(archive.names)
    if f"{dist_info}/WHEEL" not in names:
        raise _invalid(f"WHEEL not found at {dist_info}/WHEEL")
    if f"{dist_info}/METADATA" not in names:
        raise DistributionError(
            f"Wheel '{filename}' does not contain the required METADATA file: {dist_info}/METADATA"
        )
    if f"{dist_info}/RECORD" not in names:
        raise DistributionError(
            f"Wheel '{filename}' does not contain the required RECORD file: {dist_info}/RECORD"
        )
    entry_points = f"{dist_info}/entry_points.txt"
    if entry_points in names:
        parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        try:
            parser.read_string(_read(archive, entry_points).decode("utf-8"))
        except (configparser.Error, UnicodeDecodeError) as exc:
            raise DistributionError(
                f"Wheel '{filename}' has invalid entry points defined in the entry_points.txt file"
            ) from exc
    other_dist_infos = {
        n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")
    } - {dist_info}
    if other_dist_infos:
        raise _invalid(f"Wheel has more than one .dist-info folder: {sorted(other_dist_infos)[0]}")
    metadata = _read(archive, f"{dist_info}/METADATA")
    _check_record(archive, dist_info)
    return Inspected(metadata, "METADATA", frozenset(names), f"{dist_info}/licenses/")


def _check_record(archive: Archive, dist_info: str) -> None:
    """RECORD must describe the wheel exactly: every file listed, every hash and size right.

    Installers check each file against RECORD as they install it, so a wheel whose RECORD is
    wrong is broken or tampered with; PyPI only emails its owners, bastion refuses it. The
    cheap checks (names, hash names) come first so a large wheel is not hashed in vain; the
    hashes stream every member through the archive's limits and time budget, and running out
    of either refuses the file: it is never accepted unchecked.
    """
    record_path = f"{dist_info}/RECORD"
    entries = _parse_record(archive, record_path)
    unsigned = {record_path} | {f"{dist_info}/{n}" for n in _RECORD_SIGNATURES}
    files = [m.name for m in archive.members if m.kind is MemberKind.FILE]
    folders = {m.name for m in archive.members if m.kind is MemberKind.DIR}
    present = set(files)
    for name in files:
        if name not in entries and name not in unsigned:
            raise _invalid(f"'{name}' is not listed in RECORD")
    for name, (algorithm, _digest, _size) in entries.items():
        if name in folders and not algorithm:
            continue  # a folder is never hashed; listing it is unusual but harmless
        if name not in present:
            raise _invalid(f"RECORD lists '{name}', which is not in the wheel")
        if name == record_path:
            continue  # its own hash cannot be right; installers ignore it
        if not algorithm:
            if name in unsigned:
                continue
            raise _invalid(f"RECORD has no hash for '{name}'")
        if algorithm in WEAK_RECORD_HASHES:
            raise _invalid(f"RECORD hash for '{name}' uses {algorithm}, which is too weak")
        if algorithm not in RECORD_HASHES:
            raise _invalid(f"RECORD hash for '{name}' uses an unknown algorithm")
    for name, (algorithm, digest, size) in entries.items():
        if name == record_path or not algorithm or name not in present:
            continue
        try:
            actual, actual_size = archive.hash_member(name, algorithm)
        except (ArchiveError, KeyError) as exc:
            raise _invalid(f"Cannot check RECORD: {str(exc).rstrip('.')}") from exc
        if digest not in (base64.urlsafe_b64encode(actual).rstrip(b"=").decode(), actual.hex()):
            raise _invalid(f"RECORD hash does not match the content of '{name}'")
        if size is not None and size != actual_size:
            raise _invalid(f"RECORD size does not match the content of '{name}'")


# algorithm ("" when no hash), digest, size. PEP 376 writes the digest in urlsafe base64
# without padding; a few real wheels (gmsh on PyPI) write it in hex, which names the content
# just as exactly (the two spellings never have the same length), so both are accepted.
_RecordEntry = tuple[str, str, int | None]


def _parse_record(archive: Archive, record_path: str) -> dict[str, _RecordEntry]:
    """Parse RECORD (PEP 376: CSV rows of path, ``algorithm=urlsafe-b64-digest``, size)."""
    member = archive.member(record_path)
    cap = 16 * 1024 * 1024
    if member is not None and member.size > cap:
        raise _invalid("RECORD is too large")
    try:
        text = _read(archive, record_path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid("RECORD is not a valid CSV file in UTF-8") from exc
    # Rows are read one at a time, never listed: 16 MiB of blank lines would be a gigabyte of
    # row lists. Every entry must name a distinct member (``_check_record``, which names the
    # first stray entry); one listing far more entries than the wheel has members is refused
    # here, before the entries fill memory.
    entries: dict[str, _RecordEntry] = {}
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
            if not row:
                continue
            if len(row) != 3:
                raise _invalid(f"RECORD line {number} does not have 3 fields")
            path, hash_field, size_field = row
            if path in entries:
                raise _invalid(f"RECORD lists '{path}' twice")
            if len(entries) > 2 * len(archive.members) + 16:
                raise _invalid("RECORD lists more files than the wheel holds")
            entries[path] = _record_entry(path, hash_field, size_field)
    except csv.Error as exc:
        raise _invalid("RECORD is not a valid CSV file in UTF-8") from exc
    return entries


def _record_entry(path: str, hash_field: str, size_field: str) -> _RecordEntry:
    algorithm, digest = "", ""
    if hash_field:
        algorithm, sep, encoded = hash_field.partition("=")
        digest = encoded.rstrip("=")
        if not sep or not algorithm or not digest:
            raise _invalid(f"RECORD has a malformed hash for '{path}'")
    size: int | None = None
    if size_field:
        if not size_field.isascii() or not size_field.isdigit():
            raise _invalid(f"RECORD has a malformed size for '{path}'")
        size = int(size_field)
    return algorithm, digest, size


def _inspect_sdist(archive: Archive) -> Inspected:
    tops = archive.top_level_names()
    if len(tops) != 1:
        raise _invalid("Incorrect number of top-level directories in sdist")
    top = next(iter(tops))
    pkg_info = f"{top}/PKG-INFO"
    if pkg_info not in set(archive.names):
        raise _invalid(f"PKG-INFO not found at {pkg_info}")
    return Inspected(_read(archive, pkg_info), "PKG-INFO", frozenset(archive.names), f"{top}/")


def check_license_files(license_files: list[str], inspected: Inspected, filename: str) -> None:
    """PEP 639: every License-File must be in the distribution."""
    for lf in license_files:
        path = inspected.license_prefix + lf
        if path not in inspected.names:
            raise DistributionError(
                f"License-File {lf} does not exist in distribution file {filename} at {path}"
            )
