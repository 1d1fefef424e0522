"""Names nobody may register: standard-library modules and the index's own URL words.

The standard-library list comes from the ``stdlib-list`` package (every Python version it
knows, top-level modules and their dotted submodules, as PyPI does) and is loaded on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from bastion.names.normalize import canonicalize

__all__ = ["RESERVED_NAMES", "is_stdlib", "reserved_names", "stdlib_names"]

# Path segments and words the index uses for itself, plus names whose meaning a user would
# take to be "the index" rather than a project. Canonical form.
RESERVED_NAMES: frozenset[str] = frozenset(
    canonicalize(n)
    for n in (
        "simple",
        "pypi",
        "legacy",
        "packages",
        "package",
        "integrity",
        "admin",
        "account",
        "accounts",
        "static",
        "media",
        "_",
        "api",
        "json",
        "oidc",
        "login",
        "logout",
        "register",
        "search",
        "help",
        "security",
        "user",
        "users",
        "project",
        "projects",
        "manage",
        "upload",
        "uploads",
        "files",
        "health",
        "metrics",
        "robots-txt",
        "favicon-ico",
        "well-known",
        "bastion",
    )
)


@functools.cache
def stdlib_names() -> frozenset[str]:
    """Canonical names of every standard-library module of every Python version known."""
    import stdlib_list  # deferred: ~30 ms, only needed once a name reaches this check

    found: set[str] = set()
    for version in stdlib_list.short_versions:
        for module in stdlib_list.stdlib_list(version):
            stripped = module.strip("-_.")
            if stripped:
                found.add(canonicalize(stripped))
    return frozenset(found)


def is_stdlib(canonical: str) -> bool:
    """True when ``canonical`` is the canonical form of a standard-library module name."""
    return canonical in stdlib_names()


def reserved_names(extra: Iterable[str] = ()) -> frozenset[str]:
    """The built-in reserved words together with operator-supplied names (canonicalised)."""
    return RESERVED_NAMES | frozenset(canonicalize(n) for n in extra if n.strip())
