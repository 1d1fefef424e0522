from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from django.utils.module_loading import import_string

from bastion.config import current

#: Name prefixes of the files storage writes before renaming them into place: a received
#: upload (``.incoming-*.upload``, see ``upload.receive``), a copy being stored
#: (``.incoming-*``), a document being written (``.tmp-*``), a link being made (``.link-*``).
#: No storage key or public path starts with one (a distribution's name cannot start with a
#: dot), so such a file is always a partial one: being written now, or left by a process that
#: died while writing it.
PARTIAL_PREFIXES = (".incoming-", ".tmp-", ".link-")


@dataclass(frozen=True)
class PartialFile:
    """A file storage began to write and never renamed into place."""

    path: Path
    size: int
    #: Seconds since it was last written to.
    age: float


def file_key(blake2_256: str, filename: str) -> str:
    """The storage key of a distribution file: hash-addressed like PyPI's ``/packages/`` URLs."""
    return f"{blake2_256[:2]}/{blake2_256[2:4]}/{blake2_256[4:]}/{filename}"


class Digester:
    """The size and the three digests PyPI records (MD5, SHA-256, BLAKE2b-256) of bytes fed in
    pieces: one pass over a file, or over an upload as it arrives.

    These are content checksums, not secrets; hashlib is the only implementation of
    BLAKE2b with a 256-bit digest (PyCA offers BLAKE2b-512 only).
    """

    def __init__(self) -> None:
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self._blake2 = hashlib.blake2b(digest_size=32)

    def update(self, data: bytes) -> None:
        self.size += len(data)
        self._md5.update(data)
        self._sha256.update(data)
        self._blake2.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {
            "md5_digest": self._md5.hexdigest(),
            "sha256_digest": self._sha256.hexdigest(),
            "blake2_256_digest": self._blake2.hexdigest(),
        }


def file_digests(fh: BinaryIO) -> tuple[int, dict[str, str]]:
    """Size and the three digests PyPI records of a whole file, in one read."""
    digester = Digester()
    fh.seek(0)
    while chunk := fh.read(256 * 1024):
        digester.update(chunk)
    fh.seek(0)
    return digester.size, digester.hexdigests()


class Storage(Protocol):
    """What every caller may ask of a store: :func:`get_storage` promises no more, so a
    backend other than :class:`LocalStorage` (an object store) is a drop-in."""

    def put(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key``, atomically."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, atomically (a wheel's METADATA, a small upload)."""

    def receiving_dir(self) -> Path:
        """A local folder for files being received; :meth:`adopt` is cheapest from there."""

    def adopt(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key``, atomically, taking it over: ``source``
        is gone afterwards."""

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def publish(self, key: str) -> None:
        """Make the stored file at ``key`` downloadable under ``/packages/<key>``."""

    def unpublish(self, key: str) -> None: ...

    def is_published(self, key: str) -> bool: ...

    def write_public(self, path: str, data: bytes) -> None:
        """Write a generated public document (a simple page) atomically."""

    def delete_public(self, path: str) -> None: ...

    def iter_keys(self) -> list[str]: ...

    def partial_files(self, older_than: float) -> list[PartialFile]:
        """Files begun and not finished (see ``PARTIAL_PREFIXES``) not written to for
        ``older_than`` seconds: a live upload writes its file as the bytes arrive, so only an
        old one is surely left by a process that died."""

    def remove_partial(self, partial: PartialFile) -> None: ...


class LocalStorage:
    """Files in a local folder; publication is a hard link into the public tree."""

    def __init__(self, root: Path, public_root: Path) -> None:
        self.root = Path(root)
        self.public_root = Path(public_root)
        self.root.mkdir(parents=True, exist_ok=True)
        (self.public_root / "packages").mkdir(parents=True, exist_ok=True)
        (self.public_root / "simple").mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    def _public(self, path: str) -> Path:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"invalid public path {path!r}")
        return self.public_root / path

    def put(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def receiving_dir(self) -> Path:
        # Inside the root, so that adopting a received file is a rename on one filesystem;
        # ``iter_keys`` and ``bastion check`` skip the ``.incoming-`` names.
        return self.root

    def adopt(self, key: str, source: Path) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(source, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(source, 0o644)
        try:
            os.replace(source, target)
        except OSError:  # another filesystem
            self.put(key, source)
            source.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def publish(self, key: str) -> None:
        source = self._path(key)
        target = self._public("packages/" + key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".link-{os.getpid()}-{target.name}")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem: fall back to a copy
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    def unpublish(self, key: str) -> None:
        self._public("packages/" + key).unlink(missing_ok=True)

    def is_published(self, key: str) -> bool:
        return self._public("packages/" + key).is_file()

    def write_public(self, path: str, data: bytes) -> None:
        target = self._public(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data)

    def delete_public(self, path: str) -> None:
        self._public(path).unlink(missing_ok=True)

    def iter_keys(self) -> list[str]:
        out = []
        for p in self.root.rglob("*"):
            if p.is_file() and not p.name.startswith(PARTIAL_PREFIXES):
                out.append(p.relative_to(self.root).as_posix())
        return out

    def partial_files(self, older_than: float) -> list[PartialFile]:
        now = time.time()
        found: dict[Path, PartialFile] = {}
        for root in (self.root, self.public_root):
            for p in root.rglob(".*"):
                if not p.name.startswith(PARTIAL_PREFIXES):
                    continue
                try:
                    st = p.lstat()
                except FileNotFoundError:  # renamed into place (or removed) meanwhile
                    continue
                # The change time, not the modification time: a ``.link-`` file is a new name
                # of an old inode (its mtime is the stored file's), and linking, writing and
                # chmod all set the ctime.
                age = now - st.st_ctime
                if stat.S_ISREG(st.st_mode) and age >= older_than:
                    found[p] = PartialFile(p, st.st_size, age)
        return sorted(found.values(), key=lambda f: f.path)

    def remove_partial(self, partial: PartialFile) -> None:
        path = Path(partial.path)
        if not path.name.startswith(PARTIAL_PREFIXES) or not (
            path.is_relative_to(self.root) or path.is_relative_to(self.public_root)
        ):
            raise ValueError(f"not a partial file of this storage: {path}")
        path.unlink(missing_ok=True)


if TYPE_CHECKING:  # the local store is a whole Storage (mypy checks it here)
    _local: Storage = LocalStorage(Path(), Path())


def _atomic_write(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@functools.cache
def _storage(backend: str, root: Path, public_root: Path) -> Storage:
    cls = import_string(backend)
    store: Storage = cls(root, public_root)
    return store


def get_storage() -> Storage:
    """The configured backend (``BASTION_STORAGE_BACKEND``) on the configured folders, one per
    process and configuration."""
    bastion = current()
    return _storage(bastion.storage_backend, bastion.storage_dir, bastion.public_dir)
