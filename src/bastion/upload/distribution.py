"""Checks on the distribution file: its name, its tags and what is inside it.

Messages follow PyPI's wording where PyPI has a check; checks PyPI lacks say plainly what is
wrong. Everything is read through :mod:`bastion.archives`, never extracted.
"""

from __future__ import annotations

import configparser
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

from bastion.archives import Archive, ArchiveError, Limits, Problem, open_archive

HELP = "https://pypi.org/help/"


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
        raise _invalid(f"{problem.message.rstrip('.')}{where}")


def inspect(fh: BinaryIO, filename: str, filetype: str, limits: Limits) -> Inspected:
    """Open the archive and return its core metadata, refusing anything unsafe or malformed."""
    try:
        archive = open_archive(fh, limits)
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
    return Inspected(
        _read(archive, f"{dist_info}/METADATA"),
        "METADATA",
        frozenset(names),
        f"{dist_info}/licenses/",
    )


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
