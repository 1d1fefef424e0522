"""Open a zip or tar.gz archive and describe it without extracting anything.

:func:`open_archive` lists every member with its kind and declared size and records every
*problem* it sees (traversal, links, special files, bombs, ...) instead of raising, so that two
callers with different policies can share one reader: the upload path refuses an archive with
any fatal problem, while the scanner turns each problem into a finding. Only an archive that
cannot be read at all raises :class:`ArchiveError`; nothing else escapes (but :class:`KeyError`
for a member that does not exist), whatever the bytes.

A zip is also checked for *parser confusion* (:mod:`bastion.archives.zipcheck`): local
headers and central directory that disagree, a second end record, trailing data, ...
"""

from __future__ import annotations

import enum
import hashlib
import io
import os
import posixpath
import re
import stat
import struct
import tarfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, BinaryIO

from bastion.archives.limits import DEFAULT_LIMITS, Limits
from bastion.archives.zipcheck import zip_confusion

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK_SIZE = 64 * 1024
TIME_LIMIT = "Reading the archive took longer than allowed."

# What zipfile, tarfile, gzip and zlib raise on hostile bytes besides their own errors: an
# unsupported "version needed to extract" or flag (NotImplementedError), offsets and sizes
# that do not fit (ValueError, OverflowError, struct.error), names that do not decode
# (UnicodeDecodeError, a ValueError), truncated streams (EOFError), encryption (RuntimeError).
# Every call into those modules catches this tuple, so that nothing but ArchiveError (and
# KeyError for a missing member) leaves this module: bad input must never become a 500.
_READ_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    tarfile.TarError,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    OverflowError,
    struct.error,
    NotImplementedError,
    RuntimeError,
    IndexError,
)


class ArchiveError(Exception):
    """The archive cannot be read at all; ``str(exc)`` is a one-line reason for a client."""


class ZipConfusionError(ArchiveError):
    """zipfile cannot read the zip, and the reason is one readers disagree on (``reason``,
    PyPI's phrase): a second end record, trailing data, ... Callers that speak PyPI's wording
    say so rather than a bare "not a zipfile"."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"ZIP archive not accepted: {reason}")
        self.reason = reason


class MemberKind(enum.StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    SPECIAL = "special"


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    kind: MemberKind
    size: int
    compressed_size: int | None = None
    link_target: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Something unsafe or unusual about an archive.

    ``code`` is stable (tests, policy and scanner rules key on it); ``message`` is a sentence
    for a person.
    """

    code: str
    message: str
    member: str | None = None


# Problems that make an archive unacceptable for upload whatever its type.
FATAL_PROBLEMS = frozenset(
    {
        "absolute-path",
        "path-traversal",
        "bad-name",
        "path-too-long",
        "duplicate-name",
        "symlink-escape",
        "hardlink-escape",
        "special-file",
        "too-many-members",
        "member-too-large",
        "total-too-large",
        "compression-ratio",
        "encrypted",
        "unsupported-compression",
        "time-limit",
        "corrupt-member",
        "trailing-data",
        "zip-confusion",
    }
)


@dataclass
class Archive:
    """A readable archive: its members, its problems and bounded access to contents."""

    format: str  # "zip" or "tar"
    members: list[Member]
    problems: list[Problem]
    limits: Limits
    _zip: zipfile.ZipFile | None = field(default=None, repr=False)
    _tar: tarfile.TarFile | None = field(default=None, repr=False)
    _tarinfos: dict[str, tarfile.TarInfo] = field(default_factory=dict, repr=False)
    _deadline: float = field(default=0.0, repr=False)
    _by_name: dict[str, Member] | None = field(default=None, repr=False)

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()

    @property
    def names(self) -> list[str]:
        return [m.name for m in self.members]

    def member(self, name: str) -> Member | None:
        by_name = self._by_name
        if by_name is None or len(by_name) != len(self.members):
            by_name = {}
            for m in self.members:
                by_name.setdefault(m.name, m)  # the first of duplicated names, as before
            self._by_name = by_name
        return by_name.get(name)

    def fatal_problems(self) -> list[Problem]:
        return [p for p in self.problems if p.code in FATAL_PROBLEMS]

    def top_level_names(self) -> set[str]:
        return {m.name.split("/", 1)[0] for m in self.members if m.name}

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """Return a regular member's content, at most ``max_bytes`` (default: the member limit).

        Raises :class:`KeyError` when the member does not exist or is not a regular file and
        :class:`ArchiveError` when the content cannot be read within the limits.
        """
        cap = self.limits.max_member_size if max_bytes is None else max_bytes
        try:
            with self._open_member(name) as fh:
                return _bounded_read(fh, cap)
        except _READ_ERRORS as exc:
            raise ArchiveError(f"Cannot read member {name!r}: {exc}") from exc

    def iter_chunks(self, name: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """Yield a regular member's whole content in chunks of at most ``chunk_size`` bytes.

        For checks that need every byte (hashes) without holding a member in memory. The
        member limit and the archive's time budget hold: past either, :class:`ArchiveError`
        is raised rather than the content silently cut short. :class:`KeyError` as for
        :meth:`read`.
        """
        cap = self.limits.max_member_size
        total = 0
        try:
            with self._open_member(name) as fh:
                while True:
                    if time.monotonic() > self._deadline:
                        raise ArchiveError(TIME_LIMIT)
                    chunk = fh.read(max(1, min(chunk_size, cap + 1 - total)))
                    if not chunk:
                        return
                    total += len(chunk)
                    if total > cap:
                        raise ArchiveError(
                            f"Member {name!r} expands to more than the limit of {cap} bytes."
                        )
                    yield chunk
        except _READ_ERRORS as exc:
            raise ArchiveError(f"Cannot read member {name!r}: {exc}") from exc

    def hash_member(self, name: str, algorithm: str) -> tuple[bytes, int]:
        """Return the ``hashlib`` digest of a regular member and its size, read in chunks.

        ``algorithm`` must be a name ``hashlib.new`` knows with a fixed digest size (the
        caller decides which are acceptable). Errors as for :meth:`iter_chunks`.
        """
        digest = hashlib.new(algorithm)
        size = 0
        for chunk in self.iter_chunks(name):
            digest.update(chunk)
            size += len(chunk)
        return digest.digest(), size

    def _open_member(self, name: str) -> IO[bytes]:
        """Open a regular member for reading; KeyError if there is none of that name."""
        member = self.member(name)
        if member is None or member.kind is not MemberKind.FILE:
            raise KeyError(name)
        if self._zip is not None:
            return self._zip.open(name)
        assert self._tar is not None
        extracted = self._tar.extractfile(self._tarinfos[name])
        if extracted is None:
            raise KeyError(name)
        return extracted

    def iter_files(self, max_bytes: int) -> Iterator[tuple[Member, bytes]]:
        """Yield each regular file with its first ``max_bytes`` bytes, in archive order.

        Members that cannot be read are skipped after recording a ``corrupt-member`` problem;
        the walk stops with a ``time-limit`` problem when the archive's time budget is spent.
        """
        for member in self.members:
            if member.kind is not MemberKind.FILE:
                continue
            if time.monotonic() > self._deadline:
                self.problems.append(Problem("time-limit", TIME_LIMIT))
                return
            try:
                data = self.read(member.name, max_bytes)
            except (ArchiveError, KeyError) as exc:
                self.problems.append(Problem("corrupt-member", str(exc), member.name))
                continue
            yield member, data


def _bounded_read(fh: IO[bytes], cap: int) -> bytes:
    data = fh.read(cap)
    return data


def open_archive(
    source: str | os.PathLike[str] | BinaryIO,
    limits: Limits = DEFAULT_LIMITS,
) -> Archive:
    """Open ``source`` (a path or a seekable binary file) as a zip or a gzip-compressed tar.

    The format is decided by the leading magic bytes, never by the file name.
    """
    fh: BinaryIO
    if isinstance(source, (str, os.PathLike)):
        fh = open(source, "rb")  # noqa: SIM115 - owned by the returned archive
    else:
        fh = source
    fh.seek(0, io.SEEK_END)
    total = fh.tell()
    fh.seek(0)
    head = fh.read(4)
    fh.seek(0)
    deadline = time.monotonic() + limits.max_seconds
    if head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC):
        return _open_zip(fh, total, limits, deadline)
    if head.startswith(GZIP_MAGIC):
        if _looks_like_zip(fh):
            raise ArchiveError("File is both a zip and a tar file")
        return _open_tar(fh, total, limits, deadline)
    raise ArchiveError("File is not a zipfile or a gzip-compressed tarfile")


def _looks_like_zip(fh: BinaryIO) -> bool:
    try:
        return zipfile.is_zipfile(fh)
    except _READ_ERRORS:
        return True  # something zip-like enough to upset zipfile: treat it as a polyglot
    finally:
        fh.seek(0)


_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\\\]")


def _path_problems(name: str, limits: Limits) -> list[Problem]:
    problems: list[Problem] = []
    if _BAD_CHARS.search(name):
        problems.append(
            Problem("bad-name", "Member name contains a control character or a backslash.", name)
        )
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        problems.append(Problem("absolute-path", "Member has an absolute path.", name))
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        problems.append(
            Problem("path-traversal", "Member path climbs out of the archive with '..'.", name)
        )
    if len(name) > limits.max_path_length or len(parts) > limits.max_path_depth:
        problems.append(Problem("path-too-long", "Member path is too long or too deep.", name))
    return problems


def _link_escapes(name: str, target: str) -> bool:
    if (
        not target
        or target.startswith("/")
        or "\\" in target
        or (len(target) > 1 and target[1] == ":")
    ):
        return True
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    return resolved == ".." or resolved.startswith("../") or resolved.startswith("/")


def _check_sizes(
    members: list[Member], problems: list[Problem], compressed_total: int, limits: Limits
) -> None:
    total = sum(m.size for m in members)
    if total > limits.max_total_size:
        problems.append(
            Problem(
                "total-too-large",
                f"Archive expands to {total} bytes, more than the limit of {limits.max_total_size}.",
            )
        )
    if total > limits.ratio_applies_above and compressed_total > 0:
        ratio = total / compressed_total
        if ratio > limits.max_ratio:
            problems.append(
                Problem(
                    "compression-ratio",
                    f"File exceeds compression ratio of {limits.max_ratio:g}",
                )
            )


def _open_zip(fh: BinaryIO, total: int, limits: Limits, deadline: float) -> Archive:
    try:
        declared, walked = _zip_entry_count(fh, limits.max_members)
    except _READ_ERRORS as exc:
        raise ArchiveError("File is not a zipfile") from exc
    if declared is not None and declared > limits.max_members:
        raise ArchiveError(
            f"Archive has {declared} members, more than the limit of {limits.max_members}."
        )
    if walked > limits.max_members:
        raise ArchiveError(f"Archive has more members than the limit of {limits.max_members}.")
    try:
        zf = zipfile.ZipFile(fh)
    except _READ_ERRORS as exc:
        reason = zip_confusion(fh, max_entries=limits.max_members)
        if reason is not None:
            raise ZipConfusionError(reason) from exc
        raise ArchiveError("File is not a zipfile") from exc
    problems: list[Problem] = []
    members: list[Member] = []
    infos = zf.infolist()
    if len(infos) > limits.max_members:
        zf.close()
        raise ArchiveError(
            f"Archive has {len(infos)} members, more than the limit of {limits.max_members}."
        )
    # Python's zipfile reads the central directory; installers and scanners that stream the
    # local headers, or find the end record differently, must see exactly the same files.
    confusion = zip_confusion(
        fh,
        max_entries=limits.max_members,
        zipfile_view=[(i.orig_filename, i.header_offset) for i in infos],
    )
    if confusion is not None:
        problems.append(Problem("zip-confusion", confusion))
    if infos and min(i.header_offset for i in infos) != 0:
        problems.append(Problem("trailing-data", "Zip has data before its first member."))
    try:
        _list_zip(zf, infos, members, problems, limits, deadline)
    except _READ_ERRORS as exc:  # zipfile's own accessors on a hostile entry
        zf.close()
        raise ArchiveError("File is not a zipfile") from exc
    _check_sizes(members, problems, total, limits)
    return Archive("zip", members, _dedupe(problems), limits, _zip=zf, _deadline=deadline)


def _list_zip(
    zf: zipfile.ZipFile,
    infos: list[zipfile.ZipInfo],
    members: list[Member],
    problems: list[Problem],
    limits: Limits,
    deadline: float,
) -> None:
    seen: set[str] = set()
    for info in infos:
        if time.monotonic() > deadline:
            problems.append(Problem("time-limit", TIME_LIMIT))
            break
        name = info.filename
        if not name:
            problems.append(Problem("bad-name", "Member has an empty name.", name))
        problems.extend(_path_problems(name, limits))
        key = name.rstrip("/")
        if key in seen:
            problems.append(Problem("duplicate-name", "Member name appears twice.", name))
        seen.add(key)
        if info.flag_bits & 0x1:
            problems.append(Problem("encrypted", "Member is encrypted.", name))
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            problems.append(
                Problem(
                    "unsupported-compression",
                    "File does not use a supported compression type",
                    name,
                )
            )
        mode = (info.external_attr >> 16) & 0xFFFF
        fmt = stat.S_IFMT(mode)
        kind = MemberKind.FILE
        target: str | None = None
        if name.endswith("/"):  # zipfile's is_dir(), which fails on an empty name
            kind = MemberKind.DIR
        elif fmt == stat.S_IFLNK:
            kind = MemberKind.SYMLINK
            try:
                with zf.open(info) as link:
                    target = link.read(4096).decode("utf-8", "replace")
            except _READ_ERRORS:
                target = ""
            if _link_escapes(name, target):
                problems.append(
                    Problem(
                        "symlink-escape", f"Symlink points outside the archive: {target!r}.", name
                    )
                )
            else:
                problems.append(Problem("symlink", f"Symlink to {target!r}.", name))
        elif fmt not in (0, stat.S_IFREG, stat.S_IFDIR):
            kind = MemberKind.SPECIAL
            problems.append(Problem("special-file", "Member is a device, FIFO or socket.", name))
        if info.file_size > limits.max_member_size:
            problems.append(
                Problem(
                    "member-too-large",
                    f"Member expands to {info.file_size} bytes, more than the limit.",
                    name,
                )
            )
        if (
            info.file_size > limits.ratio_applies_above
            and info.compress_size > 0
            and info.file_size / info.compress_size > limits.max_ratio
        ):
            problems.append(
                Problem(
                    "compression-ratio",
                    f"File exceeds compression ratio of {limits.max_ratio:g}",
                    name,
                )
            )
        members.append(Member(name, kind, info.file_size, info.compress_size, target))


def _zip_entry_count(fh: BinaryIO, limit: int) -> tuple[int | None, int]:
    """Count the central directory's entries the way zipfile will find them, before it does.

    zipfile loads the whole central directory into memory, and it walks it by its size in
    bytes, not by the count the end record declares: a crafted archive with millions of
    entries must be refused before that happens. Returns the declared count (None if no end
    record is found) and the number of entries walked, which stops once past ``limit``.
    """
    try:
        fh.seek(0, io.SEEK_END)
        size = fh.tell()
        tail_len = min(size, 65536 + 22)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        # zipfile's own search: the last 22 bytes without a comment, else the last signature.
        if tail[-22:-18] == EMPTY_ZIP_MAGIC and tail[-2:] == b"\0\0":
            pos = len(tail) - 22
        else:
            pos = tail.rfind(EMPTY_ZIP_MAGIC)
        if pos < 0 or pos + 22 > len(tail):
            return None, 0
        count, cd_size = struct.unpack_from("<HL", tail, pos + 10)
        end_at = size - tail_len + pos
        start = end_at - cd_size
        if end_at >= 20:
            fh.seek(end_at - 20)
            if fh.read(4) == b"PK\x06\x07" and end_at >= 76:  # ZIP64 locator, then record
                fh.seek(end_at - 76)
                record = fh.read(56)
                if len(record) == 56 and record[:4] == b"PK\x06\x06":
                    count, cd_size = struct.unpack_from("<QQ", record, 32)
                    start = end_at - 76 - cd_size
        walked = 0
        if start >= 0:
            fh.seek(start)
            done = 0
            while done < cd_size and walked <= limit:
                header = fh.read(46)
                if len(header) != 46 or header[:4] != b"PK\x01\x02":
                    break
                walked += 1
                name_len, extra_len, comment_len = struct.unpack_from("<HHH", header, 28)
                skip = name_len + extra_len + comment_len
                fh.seek(skip, io.SEEK_CUR)
                done += 46 + skip
        return int(count), walked
    finally:
        fh.seek(0)


# A GNU long-name or pax header is read into memory whole by tarfile, before any limit here
# sees the member: a few hundred KiB of gzip can declare a name of hundreds of MiB.
MAX_EXTENDED_HEADER = 1024 * 1024
_EXTENDED_TYPES = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
)


class _BoundedTarInfo(tarfile.TarInfo):
    """A ``TarInfo`` that refuses an extended header larger than :data:`MAX_EXTENDED_HEADER`."""

    def _proc_member(self, tarfile: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        if self.type in _EXTENDED_TYPES and self.size > MAX_EXTENDED_HEADER:
            raise ArchiveError(
                f"A tar extended header declares {self.size} bytes, more than the limit of "
                f"{MAX_EXTENDED_HEADER}."
            )
        return super()._proc_member(tarfile)  # type: ignore[misc]


def _open_tar(fh: BinaryIO, total: int, limits: Limits, deadline: float) -> Archive:
    try:
        tf = tarfile.open(  # noqa: SIM115 - owned by the archive
            fileobj=fh, mode="r:gz", tarinfo=_BoundedTarInfo
        )
    except _READ_ERRORS as exc:
        raise ArchiveError("File is not a tarfile") from exc
    problems: list[Problem] = []
    members: list[Member] = []
    infos: dict[str, tarfile.TarInfo] = {}
    seen: set[str] = set()
    expanded = 0
    try:
        while True:
            if time.monotonic() > deadline:
                problems.append(Problem("time-limit", TIME_LIMIT))
                break
            if len(members) >= limits.max_members:
                tf.close()
                raise ArchiveError(
                    f"Archive has more members than the limit of {limits.max_members}."
                )
            info = tf.next()
            if info is None:
                break
            name = info.name
            problems.extend(_path_problems(name, limits))
            key = name.rstrip("/")
            if key in seen:
                problems.append(Problem("duplicate-name", "Member name appears twice.", name))
            seen.add(key)
            target: str | None = None
            if info.isreg():
                kind = MemberKind.FILE
                if info.sparse is not None:
                    problems.append(
                        Problem("special-file", "Sparse members are not allowed.", name)
                    )
            elif info.isdir():
                kind = MemberKind.DIR
            elif info.issym():
                kind = MemberKind.SYMLINK
                target = info.linkname
                if _link_escapes(name, target):
                    problems.append(
                        Problem(
                            "symlink-escape",
                            f"Symlink points outside the archive: {target!r}.",
                            name,
                        )
                    )
                else:
                    problems.append(Problem("symlink", f"Symlink to {target!r}.", name))
            elif info.islnk():
                kind = MemberKind.HARDLINK
                target = info.linkname
                if _link_escapes("", target) or target.rstrip("/") not in seen:
                    problems.append(
                        Problem(
                            "hardlink-escape",
                            f"Hard link to {target!r}, which is not an earlier member.",
                            name,
                        )
                    )
                else:
                    problems.append(Problem("hardlink", f"Hard link to {target!r}.", name))
            else:
                kind = MemberKind.SPECIAL
                problems.append(
                    Problem("special-file", "Member is a device, FIFO or socket.", name)
                )
            size = info.size if kind is MemberKind.FILE else 0
            if size > limits.max_member_size:
                problems.append(
                    Problem(
                        "member-too-large",
                        f"Member expands to {size} bytes, more than the limit.",
                        name,
                    )
                )
                members.append(Member(name, kind, size, None, target))
                break  # going further would decompress the oversized member
            expanded += size + 512
            if expanded > limits.max_total_size:
                problems.append(
                    Problem(
                        "total-too-large",
                        f"Archive expands to more than the limit of {limits.max_total_size} bytes.",
                    )
                )
                members.append(Member(name, kind, size, None, target))
                break
            members.append(Member(name, kind, size, None, target))
            if kind is MemberKind.FILE:
                infos[name] = info
    except ArchiveError:
        tf.close()
        raise
    except _READ_ERRORS as exc:
        tf.close()
        raise ArchiveError("File is not a tarfile") from exc
    if not any(p.code == "total-too-large" for p in problems):
        _check_sizes(members, problems, total, limits)
    return Archive(
        "tar", members, _dedupe(problems), limits, _tar=tf, _tarinfos=infos, _deadline=deadline
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str | None]] = set()
    out: list[Problem] = []
    for p in problems:
        key = (p.code, p.member)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
