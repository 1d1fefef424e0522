"""Small distributions built in memory, valid or broken on purpose.

A valid wheel or sdist is built from a dict of members; the mutators change the members
before the archive is written (renamed, missing or extra members, a wrong RECORD, bad
METADATA, links, bombs) or the archive's bytes after (bit flips, truncation, broken headers).
"""

from __future__ import annotations

import base64
import bz2
import gzip
import hashlib
import io
import lzma
import random
import struct
import tarfile
import warnings
import zipfile
from dataclasses import dataclass, field

DATE = (2024, 1, 1, 0, 0, 0)
MTIME = 1_704_067_200  # 2024-01-01: fixed, so that the same seed builds the same bytes


@dataclass
class Meta:
    """The metadata a distribution and its upload form agree on (the form's field names)."""

    name: str
    version: str
    summary: str = "A fuzzed project"
    description: str = "Fuzz\n====\n\nA fuzzed project.\n"
    description_content_type: str = "text/x-rst"
    author_email: str = "Fuzz Author <fuzz@example.com>"
    requires_python: str = ">=3.8"
    classifiers: list[str] = field(default_factory=lambda: ["Programming Language :: Python :: 3"])
    requires_dist: list[str] = field(default_factory=list)
    project_urls: list[str] = field(default_factory=list)
    keywords: str = ""
    license: str = ""
    extra: list[tuple[str, str]] = field(default_factory=list)  # (Header-Name, value)
    metadata_version: str = "2.1"


HEADERS = {
    "summary": "Summary",
    "author_email": "Author-email",
    "requires_python": "Requires-Python",
    "keywords": "Keywords",
    "license": "License",
    "description_content_type": "Description-Content-Type",
}


def metadata_text(meta: Meta) -> str:
    lines = [
        f"Metadata-Version: {meta.metadata_version}",
        f"Name: {meta.name}",
        f"Version: {meta.version}",
    ]
    for attr, header in HEADERS.items():
        value = getattr(meta, attr)
        if value:
            lines.append(f"{header}: {value}")
    lines += [f"Classifier: {c}" for c in meta.classifiers]
    lines += [f"Requires-Dist: {r}" for r in meta.requires_dist]
    lines += [f"Project-URL: {u}" for u in meta.project_urls]
    lines += [f"{k}: {v}" for k, v in meta.extra]
    return "\n".join(lines) + "\n\n" + meta.description


def dist_name(name: str) -> str:
    return name.replace("-", "_").replace(".", "_").lower()


def record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel_members(meta: Meta) -> tuple[str, dict[str, bytes]]:
    dist = dist_name(meta.name)
    info = f"{dist}-{meta.version}.dist-info"
    members = {
        f"{dist}/__init__.py": b"VALUE = 1\n",
        f"{info}/METADATA": metadata_text(meta).encode("utf-8", "surrogatepass"),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bastion-fuzz\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    return info, members


def with_record(info: str, members: dict[str, bytes]) -> dict[str, bytes]:
    out = dict(members)
    record = "\n".join(record_line(p, d) for p, d in members.items()) + f"\n{info}/RECORD,,\n"
    out[f"{info}/RECORD"] = record.encode()
    return out


@dataclass
class ZipMember:
    name: str
    data: bytes
    compress: int = zipfile.ZIP_DEFLATED
    attr: int = 0o644 << 16
    flag_bits: int = 0


def write_zip(members: list[ZipMember], comment: bytes = b"") -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point
        with zipfile.ZipFile(buf, "w") as zf:
            for m in members:
                # A zip name field holds at most 65535 bytes.
                name = m.name.encode("utf-8", "surrogatepass")[:65000].decode("utf-8", "ignore")
                info = zipfile.ZipInfo(name, date_time=DATE)
                info.compress_type = m.compress
                info.external_attr = m.attr
                info.flag_bits |= m.flag_bits
                zf.writestr(info, m.data)
            zf.comment = comment[:65535]
    return buf.getvalue()


def sdist_members(meta: Meta, top: str | None = None) -> tuple[str, dict[str, bytes]]:
    dist = dist_name(meta.name)
    top = top or f"{dist}-{meta.version}"
    return top, {
        f"{top}/PKG-INFO": metadata_text(meta).encode("utf-8", "surrogatepass"),
        f"{top}/pyproject.toml": b'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        f"{top}/{dist}/__init__.py": b"VALUE = 1\n",
    }


@dataclass
class TarMember:
    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644
    size: int | None = None  # a declared size that differs from the data's
    pax: dict[str, str] = field(default_factory=dict)


def write_tar(members: list[TarMember], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.linkname = m.linkname
            info.mode = m.mode
            info.mtime = MTIME
            info.pax_headers = dict(m.pax)
            if m.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                info.size = len(m.data)
                tf.addfile(info, io.BytesIO(m.data))
            else:
                tf.addfile(info)
    return buf.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def compress_sdist(rng: random.Random, tar: bytes) -> bytes:
    r = rng.random()
    if r < 0.85:
        return gz(tar)
    if r < 0.9:
        return tar  # not compressed at all
    if r < 0.93:
        return bz2.compress(tar)
    if r < 0.96:
        return lzma.compress(tar)
    return gz(tar) + gz(b"second member")  # a multi-member gzip stream


# -- byte-level mutations of a finished archive --------------------------------------------


def flip_bits(rng: random.Random, data: bytes, count: int | None = None) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(count or rng.randint(1, 16)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randint(0, max(0, len(data) - 1))]


def _positions(data: bytes, sig: bytes) -> list[int]:
    out, i = [], data.find(sig)
    while i >= 0:
        out.append(i)
        i = data.find(sig, i + 1)
    return out


def poke_zip_header(rng: random.Random, data: bytes) -> bytes:
    """Overwrite one field of a local header, a central directory entry or the end record."""
    sig = rng.choice([b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"])
    found = _positions(data, sig)
    if not found:
        return flip_bits(rng, data)
    at = rng.choice(found)
    # Offsets of the little-endian fields worth lying about, per record kind.
    fields = {
        b"PK\x03\x04": [(6, "H"), (8, "H"), (14, "I"), (18, "I"), (22, "I"), (26, "H"), (28, "H")],
        b"PK\x01\x02": [
            (8, "H"),
            (10, "H"),
            (16, "I"),
            (20, "I"),
            (24, "I"),
            (28, "H"),
            (30, "H"),
            (32, "H"),
            (38, "I"),
            (42, "I"),
        ],
        b"PK\x05\x06": [(4, "H"), (6, "H"), (8, "H"), (10, "H"), (12, "I"), (16, "I"), (20, "H")],
    }[sig]
    off, fmt = rng.choice(fields)
    limit = 0xFFFF if fmt == "H" else 0xFFFFFFFF
    value = rng.choice([0, 1, limit, limit - 1, rng.randint(0, limit), len(data), 0x7FFF])
    out = bytearray(data)
    if at + off + struct.calcsize(fmt) <= len(out):
        struct.pack_into("<" + fmt, out, at + off, value)
    return bytes(out)


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    r = rng.random()
    if r < 0.3:
        return flip_bits(rng, data)
    if r < 0.45:
        return truncate(rng, data)
    if r < 0.7:
        return poke_zip_header(rng, data)
    if r < 0.8:
        return data + rng.randbytes(rng.randint(1, 4096))
    if r < 0.85:
        return rng.randbytes(rng.randint(1, 4096)) + data
    if r < 0.9:
        return rng.randbytes(rng.randint(0, 8192))
    if r < 0.95:
        return b""
    return data + data  # two archives back to back
