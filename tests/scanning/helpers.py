"""Build small, inert archives in memory for the scanner's tests."""

from __future__ import annotations

import io
import tarfile
import zipfile


def sdist(
    files: dict[str, str | bytes],
    top: str = "demo-1.0",
    links: dict[str, str] | None = None,
    hardlinks: dict[str, str] | None = None,
    devices: list[str] | None = None,
    raw_names: dict[str, str | bytes] | None = None,
) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:

        def add(name: str, content: str | bytes) -> None:
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))

        for name, content in files.items():
            add(f"{top}/{name}", content)
        for name, content in (raw_names or {}).items():
            add(name, content)
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
        for name, target in (hardlinks or {}).items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type = tarfile.LNKTYPE
            info.linkname = target
            tf.addfile(info)
        for name in devices or []:
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type = tarfile.CHRTYPE
            tf.addfile(info)
    return buf.getvalue()


def wheel(files: dict[str, str | bytes], dist: str = "demo-1.0", tag: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
        zf.writestr(
            f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\n" + (f"Tag: {tag}\n" if tag else "")
        )
        zf.writestr(f"{dist}.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\n")
    return buf.getvalue()


PLAIN_SETUP = """
from setuptools import setup, find_packages
setup(name="demo", version="1.0", packages=find_packages())
"""
