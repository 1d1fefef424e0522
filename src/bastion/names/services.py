"""The name policy as the index applies it: shipped data + operator rows + namespaces + overrides.

The one entry point for callers is :func:`check_new_project_name`, called only when a project
is about to be created (existing projects are never re-checked). The look-alike index over the
shipped names and the operator's rows is built once per process and rebuilt when those rows
change: in this process through model signals, in other processes through a cheap generation
check (row counts and newest ids) done on each call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from django.db import connection
from django.db.models.signals import post_delete, post_save

from bastion.config import current
from bastion.names.lookalike import LookalikeIndex
from bastion.names.models import (
    NameOverride,
    Namespace,
    NotProtected,
    ProhibitedName,
    ProtectedName,
)
from bastion.names.normalize import canonicalize
from bastion.names.policy import (
    LOOKALIKE,
    STDLIB,
    NamePolicy,
    Verdict,
    shipped_protected_names,
)
from bastion.names.prohibited import is_stdlib

__all__ = ["check_new_project_name", "connect_signals", "invalidate"]

NAMESPACE = "namespace"
OVERRIDE = "override"
RESERVED = "reserved"

_MODELS = (ProtectedName, ProhibitedName, NotProtected)
_lock = threading.Lock()
_cached: tuple[tuple[object, ...], NamePolicy] | None = None


def _generation() -> tuple[object, ...]:
    """Row count and highest id of each operator table, in one query: any insert or delete
    (from this process or another) changes it."""
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT {i}, COUNT(*), MAX({quote('id')}) FROM {quote(model._meta.db_table)}"  # noqa: S608 - bastion's own table names
        for i, model in enumerate(_MODELS)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = sorted(cursor.fetchall())
    return tuple(value for row in rows for value in row[1:])


def _policy() -> NamePolicy:
    """The process-wide policy, rebuilt when the operator's rows have changed."""
    global _cached
    generation = _generation()
    cached = _cached
    if cached is not None and cached[0] == generation:
        return cached[1]
    with _lock:
        if _cached is not None and _cached[0] == generation:
            return _cached[1]
        policy = NamePolicy(
            shipped_protected_names(),
            extra_protected=list(
                ProtectedName.objects.order_by("id").values_list("name", flat=True)
            ),
            not_protected=list(NotProtected.objects.values_list("name", flat=True)),
            prohibited=list(ProhibitedName.objects.values_list("name", flat=True)),
        )
        _cached = (generation, policy)
        return policy


_extra_lock = threading.Lock()
_extra_cached: LookalikeIndex | None = None


def _extra_index(extra: tuple[str, ...]) -> LookalikeIndex:
    """The index of the caller's extra protected names (the index's own projects, oldest
    first). Each new project adds one name at the end: the cached index is extended rather
    than rebuilt; any other change (a deleted or renamed project) rebuilds it."""
    global _extra_cached
    with _extra_lock:
        index = _extra_cached
        if index is not None and extra[: len(index.source)] == index.source:
            if len(extra) > len(index.source):
                index.extend(extra[len(index.source) :])
        else:
            index = LookalikeIndex(extra)
            _extra_cached = index
        return index


def invalidate(**_: object) -> None:
    """Forget the cached policy (connected to the models' save/delete signals)."""
    global _cached
    _cached = None


def connect_signals() -> None:
    for model in _MODELS:
        post_save.connect(invalidate, sender=model, dispatch_uid=f"names-{model.__name__}-save")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"names-{model.__name__}-del")


def _namespace_owner(canonical: str) -> Namespace | None:
    """The namespace covering ``canonical`` (the longest matching prefix), if any."""
    words = canonical.split("-")
    prefixes = ["-".join(words[:i]) for i in range(len(words), 0, -1)]
    found = {ns.prefix: ns for ns in Namespace.objects.filter(prefix__in=prefixes)}
    for p in prefixes:
        if p in found:
            return found[p]
    return None


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


def check_new_project_name(
    name: str,
    *,
    user_id: int | None,
    extra_protected: Sequence[str] = (),
) -> Verdict:
    """May ``user_id`` create a project called ``name``?

    ``extra_protected``: names to protect for this call, most popular first (the index's own
    popular projects, which this domain cannot look up itself). Order of the checks: validity
    and prohibited names (nobody may take them), then namespaces (PEP 752: a prefix and its
    ``prefix-*`` names belong to their owner), then moderator overrides, then standard-library
    names and look-alikes of protected names.
    """
    policy = _policy()
    verdict = policy.check(name)
    if verdict.code in ("invalid", "prohibited"):
        return verdict
    canonical = verdict.canonical
    if verdict.code == "protected" and current().reserve_protected_names:
        # The exact name of a protected project that does not exist here (the caller only asks
        # for new projects): taking it would shadow the real one for anyone who also installs
        # from PyPI. Standard-library names keep their own wording.
        verdict = _reserved_verdict(verdict)
    ns = _namespace_owner(canonical)
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
        if verdict.code != "stdlib":
            return Verdict(verdict.name, canonical, False, NAMESPACE)
    if (
        verdict.blocked
        and verdict.code in (LOOKALIKE, RESERVED)
        and user_id is not None
        and NameOverride.objects.filter(name=canonical, user_id=user_id).exists()
    ):
        return Verdict(verdict.name, canonical, False, OVERRIDE, target=verdict.target)
    if verdict.blocked or not extra_protected or verdict.code == "protected":
        # A popular project's own name is never a look-alike of a local one.
        return verdict
    extra = tuple(canonicalize(n) for n in extra_protected)
    if canonical in extra:
        return verdict
    match = _extra_index(extra).match(canonical)
    if match is None:
        return verdict
    return Verdict(
        verdict.name,
        canonical,
        True,
        LOOKALIKE,
        f"The name '{verdict.name}' is too similar to an existing project: {match.detail}.",
        match.target,
        match.kind,
    )
