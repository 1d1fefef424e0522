"""Refuse zips that two readers would see differently (ZIP parser confusion).

A zip describes its members twice: a *local header* in front of each member's data, and a
*central directory* (CD) at the end, found through the end-of-central-directory record (EOCD).
Python's :mod:`zipfile` (pip, installer, our scanner) reads the CD; streaming readers
(``unzip -`` style tools, some installers and scanners) walk the local headers; other tools
search for the EOCD differently. An attacker who makes the two descriptions disagree can show
a reviewer (or our scanner) one set of files and install another, or hide a second archive
behind the first. PyPI refuses such files since 2025 (``warehouse/utils/zipfiles.py``); so do
we, with its wording.

:func:`zip_confusion` checks, from the fixed-size records only (member data is skipped by
seeking, never read), that the file is exactly::

    local header + data, ... (from offset 0, no gap, no overlap, no data descriptor)
    central directory entries, ... (one for each local header: same name, flags, method,
                                    CRC and sizes; no comments)
    [ZIP64 end record (no extensible data) + ZIP64 locator]
    one EOCD, whose comment runs to the end of the file and holds no record signature

and, when given Python's view of the archive, that :mod:`zipfile` found the same entries.
It never raises on any input: the first error found is returned as a short phrase.
"""

from __future__ import annotations

import contextlib
import io
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"
EOCD = b"PK\x05\x06"
EOCD64 = b"PK\x06\x06"
LOCATOR = b"PK\x06\x07"

_LOCAL = struct.Struct("<4sHHHHHLLLHH")  # 30 bytes, APPNOTE 4.3.7
_CENTRAL = struct.Struct("<4sHHHHHHLLLHHHHHLL")  # 46 bytes, APPNOTE 4.3.12
_EOCD = struct.Struct("<4sHHHHLLH")  # 22 bytes, APPNOTE 4.3.16
_EOCD64 = struct.Struct("<4sQHHLLQQQQ")  # 56 bytes, APPNOTE 4.3.14 (without extensible data)
_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes, APPNOTE 4.3.15

_U16 = 0xFFFF
_U32 = 0xFFFF_FFFF
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_UTF8 = 0x0800
_EXTRA_ZIP64 = 0x0001
_EXTRA_UNICODE_PATH = 0x7075
# Extras a reader may take a second name or size from: one of each at most (PyPI's rule).
_UNIQUE_EXTRAS = frozenset({_EXTRA_ZIP64, _EXTRA_UNICODE_PATH})
_UNPRINTABLE = re.compile(rb"[\x00-\x1f\x7f]")
# What another reader might take for the start of a second end record.
_END_SIGNATURES = (EOCD, EOCD64, LOCATOR)

MALFORMED = "Malformed zip file"
MISMATCHED = "Mis-matched local headers and central directory"


class _Refused(Exception):
    """Internal: carries the phrase :func:`zip_confusion` returns."""


@dataclass(frozen=True, slots=True)
class _Entry:
    """What both descriptions of one member must agree on."""

    offset: int  # of the local header
    name: bytes
    flags: int
    method: int
    crc: int
    compressed: int
    size: int


def zip_confusion(
    fh: BinaryIO,
    *,
    max_entries: int,
    zipfile_view: Sequence[tuple[str, int]] | None = None,
) -> str | None:
    """Return the first reason why readers could disagree on ``fh``, or None for a clean zip.

    ``max_entries`` bounds the walk (and the memory it holds: one small record per member).
    ``zipfile_view`` is ``[(info.orig_filename, info.header_offset), ...]`` from
    :class:`zipfile.ZipFile`: when given, the central directory zipfile chose must be the one
    this walk found. ``fh`` is left at offset 0.
    """
    try:
        _walk(_Reader(fh), max_entries, zipfile_view)
    except _Refused as exc:
        return str(exc)
    except (OSError, ValueError, OverflowError, struct.error):  # a file object that misbehaves
        return MALFORMED
    finally:
        with contextlib.suppress(OSError, ValueError):
            fh.seek(0)
    return None


class _Reader:
    """Exact reads at absolute offsets; a short read is a malformed zip."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        fh.seek(0, io.SEEK_END)
        self.size = fh.tell()

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise _Refused("Negative offset")
        if offset + length > self.size:
            raise _Refused(MALFORMED)
        self.fh.seek(offset)
        data = self.fh.read(length)
        if len(data) != length:
            raise _Refused(MALFORMED)
        return data

    def peek(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``: fewer at the end of the file."""
        if offset >= self.size:
            return b""
        self.fh.seek(offset)
        return self.fh.read(length)


def _walk(
    reader: _Reader, max_entries: int, zipfile_view: Sequence[tuple[str, int]] | None
) -> None:
    # Each record is read as its fixed part (peeked at the size of the largest, which also
    # gives the next signature) and then its variable part: two reads per member.
    pos = 0
    local: dict[int, _Entry] = {}
    local_names: set[bytes] = set()
    head = reader.peek(pos, _CENTRAL.size)
    while head[:4] == LOCAL:
        if len(local) >= max_entries:
            raise _Refused(MISMATCHED)
        entry, pos = _local_header(reader, pos, head)
        if entry.name in local_names:
            raise _Refused("Duplicate filename in local headers")
        local_names.add(entry.name)
        local[entry.offset] = entry
        head = reader.peek(pos, _CENTRAL.size)

    cd_start = pos
    central: list[_Entry] = []
    while head[:4] == CENTRAL:
        if len(central) >= len(local):
            raise _Refused("Missing filename in local headers")
        entry, pos = _central_header(reader, pos, head)
        central.append(entry)
        head = reader.peek(pos, _CENTRAL.size)
    cd_end = pos
    sig = head[:4]

    zip64: tuple[int, int, int] | None = None
    if sig == EOCD64:
        zip64 = _eocd64(reader, pos)
        pos += _EOCD64.size
        sig = reader.peek(pos, 4)
        if sig != LOCATOR:
            raise _Refused(MALFORMED)
    if sig == LOCATOR:
        if zip64 is None:
            raise _Refused(MALFORMED)
        _, disk, eocd64_at, disks = _LOCATOR.unpack(reader.read(pos, _LOCATOR.size))
        if disk != 0 or disks > 1 or eocd64_at != pos - _EOCD64.size:
            raise _Refused(MALFORMED)
        pos += _LOCATOR.size
        sig = reader.peek(pos, 4)
    if sig != EOCD:
        raise _Refused("Unknown record signature" if len(sig) == 4 else MALFORMED)
    records, cd_size, cd_offset = _eocd(reader, pos, zip64)

    if records != len(central):
        raise _Refused("Mismatched central directory records")
    if cd_offset != cd_start:
        raise _Refused("Mismatched central directory offset")
    if cd_size != cd_end - cd_start:
        raise _Refused("Mismatched central directory size")
    _match(local, central)
    if zipfile_view is not None:
        _match_zipfile(central, zipfile_view)


def _fixed(head: bytes, record: struct.Struct) -> tuple[Any, ...]:
    if len(head) < record.size:
        raise _Refused(MALFORMED)
    return record.unpack_from(head)


def _local_header(reader: _Reader, pos: int, head: bytes) -> tuple[_Entry, int]:
    (_, _version, flags, method, _time, _date, crc, compressed, size, name_len, extra_len) = _fixed(
        head, _LOCAL
    )
    variable = reader.read(pos + _LOCAL.size, name_len + extra_len)
    name = variable[:name_len]
    extras = _extras(variable[name_len:], "local file")
    _check_name(name, flags, extras)
    if flags & _FLAG_DATA_DESCRIPTOR:
        raise _Refused("ZIP contains a data descriptor")
    if compressed == _U32 or size == _U32:
        zip64 = extras.get(_EXTRA_ZIP64)
        if zip64 is None:
            raise _Refused(MALFORMED)
        values = _u64s(zip64)
        if len(values) >= 2:  # APPNOTE 4.5.3: a local header carries both sizes
            size, compressed = values[0], values[1]
        elif len(values) == 1 and (compressed == _U32) != (size == _U32):
            if size == _U32:
                size = values[0]
            else:
                compressed = values[0]
        else:
            raise _Refused(MALFORMED)
    data_at = pos + _LOCAL.size + name_len + extra_len
    end = data_at + compressed
    if end > reader.size:
        raise _Refused(MALFORMED)
    return _Entry(pos, name, flags, method, crc, compressed, size), end


def _central_header(reader: _Reader, pos: int, head: bytes) -> tuple[_Entry, int]:
    (
        _,
        _made_by,
        _version,
        flags,
        method,
        _time,
        _date,
        crc,
        compressed,
        size,
        name_len,
        extra_len,
        comment_len,
        disk,
        _internal,
        _external,
        offset,
    ) = _fixed(head, _CENTRAL)
    if comment_len != 0:
        raise _Refused("Comment in central directory")
    variable = reader.read(pos + _CENTRAL.size, name_len + extra_len)
    name = variable[:name_len]
    extras = _extras(variable[name_len:], "central directory")
    _check_name(name, flags, extras)
    zip64 = extras.get(_EXTRA_ZIP64)
    if zip64 is not None or _U32 in (size, compressed, offset) or disk == _U16:
        # APPNOTE 4.5.3: only the fields whose 32-bit value is the sentinel, in this order.
        values = list(_u64s(zip64 or b""))
        try:
            if size == _U32:
                size = values.pop(0)
            if compressed == _U32:
                compressed = values.pop(0)
            if offset == _U32:
                offset = values.pop(0)
        except IndexError:
            raise _Refused(MALFORMED) from None
        if disk == _U16:
            disk = values.pop(0) if values else _U16
    if disk != 0:
        raise _Refused(MALFORMED)
    return _Entry(offset, name, flags, method, crc, compressed, size), (
        pos + _CENTRAL.size + name_len + extra_len
    )


def _eocd64(reader: _Reader, pos: int) -> tuple[int, int, int]:
    (_, record_size, _made_by, _version, disk, cd_disk, on_disk, records, cd_size, cd_offset) = (
        _EOCD64.unpack(reader.read(pos, _EOCD64.size))
    )
    if record_size != _EOCD64.size - 12:
        raise _Refused("ZIP64 extensible data not allowed")
    if disk != 0 or cd_disk != 0 or on_disk != records:
        raise _Refused(MALFORMED)
    return records, cd_size, cd_offset


def _eocd(reader: _Reader, pos: int, zip64: tuple[int, int, int] | None) -> tuple[int, int, int]:
    """Check the one end record; return (records, CD size, CD offset), ZIP64 values first."""
    _, disk, cd_disk, on_disk, records, cd_size, cd_offset, comment_len = _EOCD.unpack(
        reader.read(pos, _EOCD.size)
    )
    end = pos + _EOCD.size + comment_len
    if end > reader.size:
        raise _Refused(MALFORMED)
    if end < reader.size:
        raise _Refused("Trailing data")
    if comment_len:
        # With a comment, zipfile and others search backwards for the end record: a signature
        # in the rest of the record or in the comment would be taken for a second one.
        rest = reader.read(pos + 4, end - pos - 4)
        if any(sig in rest for sig in _END_SIGNATURES):
            raise _Refused("Multiple end of central directory records")
    if zip64 is None:
        if disk != 0 or cd_disk != 0 or on_disk != records:
            raise _Refused(MALFORMED)
        return records, cd_size, cd_offset
    # With ZIP64 each field is either its sentinel or the same value as in the ZIP64 record.
    records64, cd_size64, cd_offset64 = zip64
    for value, sentinel, real in (
        (disk, _U16, 0),
        (cd_disk, _U16, 0),
        (on_disk, _U16, records64),
        (records, _U16, records64),
        (cd_size, _U32, cd_size64),
        (cd_offset, _U32, cd_offset64),
    ):
        if value not in (sentinel, real):
            raise _Refused(MALFORMED)
    return zip64


def _extras(extra: bytes, where: str) -> dict[int, bytes]:
    """Split an extra field into its blocks, which must fill it exactly."""
    blocks: dict[int, bytes] = {}
    i = 0
    while i < len(extra):
        if i + 4 > len(extra):
            raise _Refused(MALFORMED)
        tag, length = struct.unpack_from("<HH", extra, i)
        if i + 4 + length > len(extra):
            raise _Refused(MALFORMED)
        if tag in blocks and tag in _UNIQUE_EXTRAS:
            raise _Refused(f"Invalid duplicate extra in {where}")
        blocks.setdefault(tag, extra[i + 4 : i + 4 + length])
        i += 4 + length
    return blocks


def _u64s(data: bytes) -> tuple[int, ...]:
    if len(data) % 8 not in (0, 4):  # sizes and offset (8 each), then maybe a 4-byte disk
        raise _Refused(MALFORMED)
    return struct.unpack(f"<{len(data) // 8}Q", data[: len(data) // 8 * 8])


def _check_name(name: bytes, flags: int, extras: dict[int, bytes]) -> None:
    """One name, the same for every reader: printable, UTF-8, and no second spelling."""
    if not name:
        raise _Refused(MALFORMED)
    if _UNPRINTABLE.search(name):
        raise _Refused("Invalid character in filename")
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused("Filename not valid UTF-8") from None
    if not flags & _FLAG_UTF8 and not name.isascii():
        # zipfile would read these bytes as cp437, other tools as UTF-8.
        raise _Refused("Filename not valid UTF-8")
    unicode_path = extras.get(_EXTRA_UNICODE_PATH)
    if unicode_path is not None:
        # Info-ZIP Unicode Path: version (1), CRC-32 of the name (4), the name again. Tools
        # that honour it would use this name instead: it must be the same one.
        if len(unicode_path) < 5:
            raise _Refused(MALFORMED)
        alternative = unicode_path[5:]
        if _UNPRINTABLE.search(alternative):
            raise _Refused("Invalid character in filename")
        try:
            alternative.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused("Filename not valid UTF-8") from None
        if alternative != name:
            raise _Refused(MISMATCHED)


def _match(local: dict[int, _Entry], central: list[_Entry]) -> None:
    """One central entry for each local header, agreeing on everything a reader uses."""
    if len(central) != len(local):
        raise _Refused("Filename not in central directory")
    central_names: set[bytes] = set()
    for entry in central:
        if entry.name in central_names:
            raise _Refused("Duplicate filename in central directory")
        central_names.add(entry.name)
    for entry in central:
        header = local.get(entry.offset)
        if header is None:
            raise _Refused("Missing filename in local headers")
        if header.name != entry.name:
            if header.name not in central_names:
                raise _Refused("Filename not in central directory")
            raise _Refused(MISMATCHED)
        if header.compressed != entry.compressed:
            raise _Refused("Mis-matched data size")
        if header.size != entry.size:
            raise _Refused("Mis-matched file size")
        if (header.flags, header.method, header.crc) != (entry.flags, entry.method, entry.crc):
            raise _Refused(MISMATCHED)


def _match_zipfile(central: list[_Entry], view: Sequence[tuple[str, int]]) -> None:
    """zipfile must have found this central directory, not another one."""
    if len(view) != len(central):
        raise _Refused("Mismatched central directory records")
    for entry, (name, offset) in zip(central, view, strict=True):
        if offset != entry.offset or name.encode("utf-8", "surrogateescape") != entry.name:
            raise _Refused(MISMATCHED)
