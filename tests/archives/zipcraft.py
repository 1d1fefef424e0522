"""Write zips record by record, so that tests can make the two descriptions of a member differ.

``RawZip.of(files)`` gives a clean zip that :mod:`zipfile` reads; a test then edits its local
headers, central directory entries or end record (each a plain dataclass) before ``build()``.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

STORED = 0
DEFLATED = 8
U16 = 0xFFFF
U32 = 0xFFFF_FFFF


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


@dataclass
class Local:
    name: bytes
    payload: bytes  # as stored (compressed when method is DEFLATED)
    crc: int
    csize: int
    size: int
    method: int = DEFLATED
    flags: int = 0
    extra: bytes = b""
    version: int = 20

    def pack(self) -> bytes:
        header = struct.pack(
            "<4sHHHHHLLLHH",
            b"PK\x03\x04",
            self.version,
            self.flags,
            self.method,
            0,
            0x5821,
            self.crc,
            self.csize,
            self.size,
            len(self.name),
            len(self.extra),
        )
        return header + self.name + self.extra + self.payload


@dataclass
class Central:
    name: bytes
    crc: int
    csize: int
    size: int
    method: int = DEFLATED
    flags: int = 0
    extra: bytes = b""
    comment: bytes = b""
    version: int = 20
    disk: int = 0
    external_attr: int = 0o100644 << 16
    offset: int | None = None  # None: where the local header of the same index was written

    def pack(self, offset: int) -> bytes:
        header = struct.pack(
            "<4sHHHHHHLLLHHHHHLL",
            b"PK\x01\x02",
            0x0314,
            self.version,
            self.flags,
            self.method,
            0,
            0x5821,
            self.crc,
            self.csize,
            self.size,
            len(self.name),
            len(self.extra),
            len(self.comment),
            self.disk,
            0,
            self.external_attr,
            offset,
        )
        return header + self.name + self.extra + self.comment


@dataclass
class RawZip:
    locals: list[Local]
    centrals: list[Central]
    comment: bytes = b""
    before: bytes = b""  # bytes in front of the first local header
    gaps: dict[int, bytes] = field(default_factory=dict)  # bytes after local header i's data
    after: bytes = b""  # bytes after the end record
    count: int | None = None  # the end record's entry count (None: the true one)
    cd_size: int | None = None
    cd_offset: int | None = None
    zip64: bool = False  # write a ZIP64 end record and locator, sentinels in the end record
    zip64_extensible: bytes = b""

    @classmethod
    def of(cls, files: dict[str, bytes], method: int = DEFLATED) -> RawZip:
        locals_: list[Local] = []
        centrals: list[Central] = []
        for name, data in files.items():
            is_dir = name.endswith("/")
            how = STORED if is_dir else method
            payload = deflate(data) if how == DEFLATED else data
            crc = zlib.crc32(data)
            raw = name.encode()
            flags = 0 if raw.isascii() else 0x800
            locals_.append(Local(raw, payload, crc, len(payload), len(data), how, flags))
            attr = (0o40755 << 16) | 0x10 if is_dir else 0o100644 << 16
            centrals.append(
                Central(raw, crc, len(payload), len(data), how, flags, external_attr=attr)
            )
        return cls(locals_, centrals)

    def build(self) -> bytes:
        out = bytearray(self.before)
        offsets: list[int] = []
        for i, local in enumerate(self.locals):
            offsets.append(len(out))
            out += local.pack()
            out += self.gaps.get(i, b"")
        cd_start = len(out)
        for i, central in enumerate(self.centrals):
            if central.offset is not None:
                offset = central.offset
            else:
                offset = offsets[i] if i < len(offsets) else 0
            out += central.pack(offset)
        cd_end = len(out)
        count = len(self.centrals) if self.count is None else self.count
        cd_size = cd_end - cd_start if self.cd_size is None else self.cd_size
        cd_offset = cd_start if self.cd_offset is None else self.cd_offset
        if self.zip64:
            eocd64_at = len(out)
            out += struct.pack(
                "<4sQHHLLQQQQ",
                b"PK\x06\x06",
                44 + len(self.zip64_extensible),
                45,
                45,
                0,
                0,
                count,
                count,
                cd_size,
                cd_offset,
            )
            out += self.zip64_extensible
            out += struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd64_at, 1)
            out += struct.pack(
                "<4sHHHHLLH", b"PK\x05\x06", 0, 0, U16, U16, U32, U32, len(self.comment)
            )
        else:
            out += struct.pack(
                "<4sHHHHLLH",
                b"PK\x05\x06",
                0,
                0,
                count,
                count,
                cd_size,
                cd_offset,
                len(self.comment),
            )
        out += self.comment
        out += self.after
        return bytes(out)


def zip64_extra(*values: int) -> bytes:
    return struct.pack(f"<HH{len(values)}Q", 0x0001, 8 * len(values), *values)


def unicode_path_extra(name: bytes) -> bytes:
    body = struct.pack("<BL", 1, zlib.crc32(name)) + name
    return struct.pack("<HH", 0x7075, len(body)) + body
