"""Refusing passwords that are already known to attackers.

Credential-stuffing lists are built from breaches, so a password that appeared in one is
tried early against every account. PyPI asks the Have I Been Pwned range API; a self-hosted
index may have no internet access, so bastion checks an offline file instead: the HIBP
"Pwned Passwords" SHA-1 export (``HASH:count`` per line, sorted by hash, uppercase hex, as
``haveibeenpwned-downloader`` writes it) or a smaller file built from a plain list of
passwords by ``scripts/build_breached_passwords.py``. The full export is tens of gigabytes,
so it is searched in place: a binary search over a memory map touches a few pages per lookup
and loads nothing.
"""

from __future__ import annotations

import logging
import mmap
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from django.core.exceptions import ValidationError

from bastion.config import current

log = logging.getLogger(__name__)

BREACHED_MESSAGE = (
    "This password has appeared in a data breach and cannot be used: attackers try such"
    " passwords first. Choose a different password."
)


def sha1_hex(password: str) -> bytes:
    """The uppercase hex SHA-1 of the UTF-8 password, the key of the HIBP export.

    SHA-1 is used because that is how the breach corpus is published, not to protect anything:
    the stored password is hashed with argon2.
    """
    digest = hashes.Hash(hashes.SHA1())  # noqa: S303 - the corpus's key, not a security hash
    digest.update(password.encode("utf-8", "surrogatepass"))
    return digest.finalize().hex().upper().encode("ascii")


def _key(line: bytes) -> bytes:
    return line.split(b":", 1)[0].strip().upper()


def contains_hash(path: str | os.PathLike[str], target: bytes) -> bool:
    """Whether the sorted hash file at ``path`` holds ``target`` (uppercase hex bytes).

    Lines are of unequal length (the counts differ), so the search bisects byte offsets and
    reads the line around each midpoint. Hex digits sort the same way in either case, so a
    lowercase file works too.
    """
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view:
            low, high = 0, size
            while low < high:
                middle = (low + high) // 2
                start = view.rfind(b"\n", 0, middle) + 1
                end = view.find(b"\n", start)
                if end == -1:
                    end = size
                key = _key(view[start:end])
                if key == target:
                    return True
                if key < target:
                    low = end + 1
                else:
                    high = start
    return False


def is_breached(password: str, path: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``password`` is in the configured breached-password file (False without one).

    A configured file that cannot be read is logged, not raised: a broken path must not turn
    every registration and password change into a server error, and ``bastion check``-style
    monitoring of the log is where the operator learns of it.
    """
    source = path if path is not None else current().breached_passwords_file
    if not source:
        return False
    try:
        return contains_hash(Path(source), sha1_hex(password))
    except OSError as exc:
        log.error("BASTION_BREACHED_PASSWORDS_FILE %s cannot be read: %s", source, exc)
        return False


class BreachedPasswordValidator:
    """A Django password validator backed by :func:`is_breached`.

    The file is named by ``BASTION_BREACHED_PASSWORDS_FILE`` and read at each validation, so
    an operator can replace it without a restart; an ``OPTIONS: {"path": ...}`` entry in
    ``AUTH_PASSWORD_VALIDATORS`` takes precedence.
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def validate(self, password: str, user: Any = None) -> None:
        if is_breached(password, self.path):
            raise ValidationError(BREACHED_MESSAGE, code="password_breached")

    def get_help_text(self) -> str:
        if not (self.path or current().breached_passwords_file):
            return ""
        return "Your password cannot be one that has appeared in a known data breach."
