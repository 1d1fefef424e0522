"""Build small, real distributions in memory, and the upload form twine would send for them."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import time
import zipfile
from dataclasses import dataclass, field


@dataclass
class Dist:
    filename: str
    data: bytes
    fields: list[tuple[str, str]] = field(default_factory=list)

    def form(self, **overrides: str | list[str] | None) -> list[tuple[str, str]]:
        """The form fields, with ``overrides`` replacing (or, with None, removing) fields."""
        out = [(k, v) for k, v in self.fields if k not in overrides]
        for key, value in overrides.items():
            if value is None:
                continue
            if isinstance(value, list):
                out.extend((key, v) for v in value)
            else:
                out.append((key, value))
        return out


def metadata_text(
    name: str,
    version: str,
    *,
    summary: str = "A test project",
    requires_python: str | None = ">=3.8",
    requires_dist: list[str] | None = None,
    description: str = "Hello\n=====\n\nA test project.\n",
    content_type: str = "text/x-rst",
    extra: str = "",
) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        "Author-email: Test Author <author@example.com>",
        "Classifier: Programming Language :: Python :: 3",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    for req in requires_dist or []:
        lines.append(f"Requires-Dist: {req}")
    lines.append(f"Description-Content-Type: {content_type}")
    text = "\n".join(lines) + "\n" + extra + "\n" + description
    return text


def form_fields(
    name: str,
    version: str,
    filetype: str,
    pyversion: str,
    digest: str,
    *,
    summary: str = "A test project",
    requires_python: str | None = ">=3.8",
    requires_dist: list[str] | None = None,
    description: str = "Hello\n=====\n\nA test project.\n",
    content_type: str = "text/x-rst",
) -> list[tuple[str, str]]:
    fields = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("metadata_version", "2.1"),
        ("name", name),
        ("version", version),
        ("filetype", filetype),
        ("pyversion", pyversion),
        ("sha256_digest", digest),
        ("summary", summary),
        ("author_email", "Test Author <author@example.com>"),
        ("classifiers", "Programming Language :: Python :: 3"),
        ("description", description),
        ("description_content_type", content_type),
    ]
    if requires_python:
        fields.append(("requires_python", requires_python))
    for req in requires_dist or []:
        fields.append(("requires_dist", req))
    return fields


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel(
    name: str,
    version: str,
    *,
    module: str | None = None,
    code: str = "VALUE = 1\n",
    extra_members: dict[str, bytes] | None = None,
    meta: str | None = None,
    omit: tuple[str, ...] = (),
    tag: str = "py3-none-any",
    **meta_kwargs: object,
) -> Dist:
    """A pure-Python wheel with METADATA, WHEEL and RECORD."""
    dist = name.replace("-", "_").replace(".", "_").lower()
    module = module or dist
    filename = f"{dist}-{version}-{tag}.whl"
    dist_info = f"{dist}-{version}.dist-info"
    metadata = (meta if meta is not None else metadata_text(name, version, **meta_kwargs)).encode()  # type: ignore[arg-type]
    members: dict[str, bytes] = {
        f"{module}/__init__.py": code.encode(),
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bastion-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    members.update(extra_members or {})
    for key in omit:
        members.pop(key.format(dist_info=dist_info), None)
    record_path = f"{dist_info}/RECORD"
    if record_path.format() not in [o.format(dist_info=dist_info) for o in omit]:
        record = "\n".join(_record_line(p, d) for p, d in members.items()) + f"\n{record_path},,\n"
        members[record_path] = record.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    data = buf.getvalue()
    fields = form_fields(
        name,
        version,
        "bdist_wheel",
        "py3",
        hashlib.sha256(data).hexdigest(),
        **_form_kwargs(meta_kwargs),
    )
    return Dist(filename, data, fields)


def _form_kwargs(meta_kwargs: dict[str, object]) -> dict[str, object]:
    return {
        k: v
        for k, v in meta_kwargs.items()
        if k in ("summary", "requires_python", "requires_dist", "description", "content_type")
    }


def sdist(
    name: str,
    version: str,
    *,
    extra_members: dict[str, bytes] | None = None,
    meta: str | None = None,
    links: dict[str, str] | None = None,
    top: str | None = None,
    **meta_kwargs: object,
) -> Dist:
    dist = name.replace("-", "_").replace(".", "_").lower()
    top = top or f"{dist}-{version}"
    filename = f"{dist}-{version}.tar.gz"
    metadata = (meta if meta is not None else metadata_text(name, version, **meta_kwargs)).encode()  # type: ignore[arg-type]
    members = {
        f"{top}/PKG-INFO": metadata,
        f"{top}/pyproject.toml": b'[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n',
        f"{top}/{dist}/__init__.py": b"VALUE = 1\n",
    }
    members.update(extra_members or {})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            tf.addfile(info, io.BytesIO(data))
        for path, target in (links or {}).items():
            info = tarfile.TarInfo(path)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    data = buf.getvalue()
    fields = form_fields(
        name,
        version,
        "sdist",
        "source",
        hashlib.sha256(data).hexdigest(),
        **_form_kwargs(meta_kwargs),
    )
    return Dist(filename, data, fields)
