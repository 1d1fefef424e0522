"""The one decision of the names domain: may a new project take this name, and if not, why?

    >>> policy = NamePolicy(["requests", "numpy"])
    >>> policy.check("reqeusts").reason
    "The name 'reqeusts' is too similar to an existing project, 'requests' (one edit: two letters swapped)."

The shipped protected names (popular PyPI projects, ``data/protected.txt``) are used when no
list is given; the index's own popular projects and operator-added names are passed as
``extra_protected``. Only new names are checked: the caller never asks for an existing project.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bastion.names.lookalike import DEFAULT_THRESHOLDS, LookalikeIndex, Thresholds
from bastion.names.normalize import MAX_NAME_LENGTH, canonicalize, is_valid_name
from bastion.names.prohibited import is_stdlib, reserved_names

__all__ = [
    "PROTECTED_FILE",
    "NamePolicy",
    "Verdict",
    "check_name",
    "default_policy",
    "load_names",
    "shipped_protected_names",
]

PROTECTED_FILE = Path(__file__).resolve().parent / "data" / "protected.txt"

# Verdict codes (stable, for callers and the JSON output).
ALLOWED = "allowed"
PROTECTED = "protected"
INVALID = "invalid"
STDLIB = "stdlib"
PROHIBITED = "prohibited"
LOOKALIKE = "lookalike"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer for one proposed name."""

    name: str
    canonical: str
    blocked: bool
    code: str
    reason: str | None = None
    target: str | None = None
    kind: str | None = None

    @property
    def allowed(self) -> bool:
        return not self.blocked


def load_names(path: str | Path) -> list[str]:
    """A names file: one name per line, most popular first; blank lines and ``#`` comments ignored.

    A line may carry extra tab-separated columns (e.g. a rank); only the first is used.
    """
    out: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            field = line.split("#", 1)[0].split("\t", 1)[0].strip()
            if field:
                out.append(canonicalize(field))
    return out


@functools.cache
def shipped_protected_names() -> tuple[str, ...]:
    """The popular PyPI projects shipped with bastion, most popular first (empty if missing)."""
    try:
        return tuple(load_names(PROTECTED_FILE))
    except FileNotFoundError:
        return ()


class NamePolicy:
    """Decides whether new project names are allowed.

    ``protected``: names to protect, most popular first (default: the shipped list).
    ``extra_protected``: more names to protect, ranked after ``protected`` in the given order
    (the index's own popular projects, names an operator added).
    ``not_protected``: names a moderator released; they are neither protected nor imitable.
    ``prohibited``: operator-prohibited names, refused outright (besides the built-in reserved
    words and, with ``stdlib=True``, standard-library module names).
    """

    def __init__(
        self,
        protected: Sequence[str] | None = None,
        *,
        extra_protected: Iterable[str] = (),
        not_protected: Iterable[str] = (),
        prohibited: Iterable[str] = (),
        stdlib: bool = True,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
    ) -> None:
        base = shipped_protected_names() if protected is None else protected
        released = {canonicalize(n) for n in not_protected}
        names = (canonicalize(n) for n in (*base, *extra_protected))
        self.index = LookalikeIndex((n for n in names if n not in released), thresholds)
        self.prohibited = reserved_names(prohibited)
        self.stdlib = stdlib

    def check(self, name: str) -> Verdict:
        """The verdict for one proposed project name (as typed by the publisher)."""
        raw = name.strip()
        if len(raw) > MAX_NAME_LENGTH:
            # Before any other work: every later step grows with the name's length.
            shown = f"{raw[:30]}...{raw[-30:]}"
            return Verdict(
                shown,
                canonicalize(shown),
                True,
                INVALID,
                f"The name '{shown}' isn't allowed: a project name has at most "
                f"{MAX_NAME_LENGTH} characters.",
            )
        canonical = canonicalize(raw)
        if not is_valid_name(raw):
            return Verdict(
                raw,
                canonical,
                True,
                INVALID,
                f"The name '{raw}' isn't allowed: it is not a valid project name "
                "(letters, digits, and '-', '_', '.' inside).",
            )
        if canonical in self.prohibited:
            return Verdict(raw, canonical, True, PROHIBITED, f"The name '{raw}' isn't allowed.")
        if canonical in self.index:
            return Verdict(raw, canonical, False, PROTECTED)
        if self.stdlib and is_stdlib(canonical):
            return Verdict(
                raw,
                canonical,
                True,
                STDLIB,
                f"The name '{raw}' isn't allowed "
                "(conflict with Python Standard Library module name).",
            )
        match = self.index.match(canonical)
        if match is not None:
            return Verdict(
                raw,
                canonical,
                True,
                LOOKALIKE,
                match.reason(raw),
                match.target,
                match.kind,
            )
        return Verdict(raw, canonical, False, ALLOWED)


@functools.cache
def default_policy() -> NamePolicy:
    """A process-wide policy over the shipped protected names (built on first use)."""
    return NamePolicy()


def check_name(
    name: str,
    *,
    extra_protected: Sequence[str] = (),
    prohibited: Sequence[str] = (),
) -> Verdict:
    """Check one name against the shipped data plus optional extra protected/prohibited names.

    Without extras the process-wide :func:`default_policy` is reused; with extras a policy is
    built for the call (callers that check often should keep their own :class:`NamePolicy`).
    """
    if not extra_protected and not prohibited:
        return default_policy().check(name)
    return NamePolicy(extra_protected=extra_protected, prohibited=prohibited).check(name)
