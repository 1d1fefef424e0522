"""The one decision on a new project's name, for every caller: the upload, the web page's
check and ``bastion check-name`` all call :func:`check_new_project_name` and show its reason.

The decision reads its rules (the shipped and operator-protected names, prohibited names,
namespaces, moderator overrides, ``BASTION_RESERVE_PROTECTED_NAMES``) from :class:`Rules`:
the index's, from its database (:mod:`bastion.names.database`, the default), or fixed ones
for the command line without a database, which then knows no namespaces, overrides or
operator rows. This module imports no Django, so that command starts fast.

The index's own projects come from the caller (this domain sits below ``packages``): a name
one of them has is an existing project, and a look-alike of one is refused like a look-alike
of a popular PyPI project.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bastion.names.lookalike import LookalikeIndex
from bastion.names.policy import (
    INVALID,
    LOOKALIKE,
    PROHIBITED,
    PROTECTED,
    STDLIB,
    NamePolicy,
    Verdict,
)
from bastion.names.prohibited import is_stdlib

__all__ = ["EXISTING", "Rules", "check_new_project_name", "fixed_rules"]

EXISTING = "existing"
NAMESPACE = "namespace"
OVERRIDE = "override"
RESERVED = "reserved"


@dataclass(frozen=True)
class NamespaceOwner:
    """A PEP 752 namespace covering a name: its prefix and its owner's user id."""

    prefix: str
    owner_id: int


def _no_namespace(canonical: str) -> NamespaceOwner | None:
    return None


def _no_override(canonical: str, user_id: int) -> bool:
    return False


@dataclass(frozen=True)
class Rules:
    """What the decision is made against.

    ``policy``: the protected (shipped and operator) and prohibited names; ``reserve_protected``:
    ``BASTION_RESERVE_PROTECTED_NAMES`` (a protected name this index lacks is refused, not
    just guarded against look-alikes); ``namespace_owner`` and ``has_override`` read the
    moderators' rows (nothing without a database).
    """

    policy: NamePolicy
    reserve_protected: bool
    namespace_owner: Callable[[str], NamespaceOwner | None] = _no_namespace
    has_override: Callable[[str, int], bool] = _no_override


def fixed_rules(policy: NamePolicy, *, reserve_protected: bool) -> Rules:
    """Rules without a database: ``policy`` alone, no namespaces, no overrides."""
    return Rules(policy, reserve_protected)


def _existing_verdict(verdict: Verdict) -> Verdict:
    return Verdict(
        verdict.name,
        verdict.canonical,
        True,
        EXISTING,
        f"'{verdict.name}' is an existing project on this index: only its owners and "
        "maintainers can upload to it.",
        verdict.canonical,
    )


def _reserved_verdict(verdict: Verdict) -> Verdict:
    if is_stdlib(verdict.canonical):
        return Verdict(
            verdict.name,
            verdict.canonical,
            True,
            STDLIB,
            f"The name '{verdict.name}' isn't allowed "
            "(conflict with Python Standard Library module name).",
        )
    return Verdict(
        verdict.name,
        verdict.canonical,
        True,
        RESERVED,
        f"The name '{verdict.name}' isn't allowed: it is reserved for the protected project "
        f"'{verdict.canonical}'. A moderator can grant it.",
        verdict.canonical,
    )


_extra_lock = threading.Lock()
_extra_cached: LookalikeIndex | None = None
#: The tuple the cached index was last checked against: a caller checking many names against
#: one list (``bastion check-name``, the upload task) passes the same tuple each time, and
#: comparing it with the index's names would cost one step per project for every name.
_extra_last: tuple[str, ...] | None = None


def _extra_index(extra: tuple[str, ...]) -> LookalikeIndex:
    """The index of the index's own projects (oldest first). Each new project adds one name
    at the end: the cached index is extended rather than rebuilt; any other change (a deleted
    or renamed project) rebuilds it."""
    global _extra_cached, _extra_last
    with _extra_lock:
        index = _extra_cached
        if index is not None and extra is _extra_last:
            return index
        _extra_last = extra
        if index is not None and extra[: len(index.source)] == index.source:
            if len(extra) > len(index.source):
                index.extend(extra[len(index.source) :])
        else:
            index = LookalikeIndex(extra)
            _extra_cached = index
        return index


def check_new_project_name(
    name: str,
    *,
    user_id: int | None,
    projects: Sequence[str] = (),
    rules: Rules | None = None,
) -> Verdict:
    """May ``user_id`` (``None``: someone not logged in) create a project called ``name``?

    ``projects``: the index's own projects, oldest first. ``rules``: default the index's,
    from its database. Order of the checks: validity; an existing project (its name is
    taken, whatever the rules say now); prohibited names (nobody may take them); then
    namespaces (PEP 752: a prefix and its ``prefix-*`` names belong to their owner), then
    moderator overrides, then reserved protected names, standard-library names and
    look-alikes of protected names and of the index's projects.
    """
    if rules is None:
        from bastion.names import database

        rules = database.rules()
    verdict = rules.policy.check(name)
    if verdict.code == INVALID:
        return verdict
    canonical = verdict.canonical
    local = _extra_index(tuple(projects)) if projects else None
    if local is not None and canonical in local:
        return _existing_verdict(verdict)
    if verdict.code == PROHIBITED:
        return verdict
    if verdict.code == PROTECTED and rules.reserve_protected:
        # The exact name of a protected project that does not exist here: taking it would
        # shadow the real one for anyone who also installs from PyPI. Standard-library names
        # keep their own wording.
        verdict = _reserved_verdict(verdict)
    ns = rules.namespace_owner(canonical)
    if ns is not None:
        if user_id is None or ns.owner_id != user_id:
            return Verdict(
                verdict.name,
                canonical,
                True,
                NAMESPACE,
                f"The name '{verdict.name}' isn't allowed: the namespace '{ns.prefix}' "
                "belongs to another owner.",
            )
        if verdict.code != STDLIB:
            return Verdict(verdict.name, canonical, False, NAMESPACE)
    if (
        verdict.blocked
        and verdict.code in (LOOKALIKE, RESERVED)
        and user_id is not None
        and rules.has_override(canonical, user_id)
    ):
        return Verdict(verdict.name, canonical, False, OVERRIDE, target=verdict.target)
    if verdict.blocked or local is None or verdict.code == PROTECTED:
        # A popular project's own name is never a look-alike of a local one.
        return verdict
    match = local.match(canonical)
    if match is None:
        return verdict
    return Verdict(
        verdict.name,
        canonical,
        True,
        LOOKALIKE,
        match.reason(verdict.name),
        match.target,
        match.kind,
    )
