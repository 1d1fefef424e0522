"""The index's name rules, from its database: the shipped protected names with the
operator's rows (protected, prohibited, released), namespaces and moderator overrides.

The look-alike index over the shipped names and the operator's rows is built once per
process and rebuilt when those rows change: in this process through model signals, in other
processes through a cheap generation check (row counts and newest ids) done on each call.
"""

from __future__ import annotations

import threading

from django.db import connection
from django.db.models.signals import post_delete, post_save

from bastion.config import current
from bastion.names.models import (
    NameOverride,
    Namespace,
    NotProtected,
    ProhibitedName,
    ProtectedName,
)
from bastion.names.policy import NamePolicy, shipped_protected_names
from bastion.names.services import NamespaceOwner, Rules

__all__ = ["connect_signals", "invalidate", "rules"]

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


def _namespace_owner(canonical: str) -> NamespaceOwner | None:
    """The namespace covering ``canonical`` (the longest matching prefix), if any."""
    words = canonical.split("-")
    prefixes = ["-".join(words[:i]) for i in range(len(words), 0, -1)]
    found = {ns.prefix: ns for ns in Namespace.objects.filter(prefix__in=prefixes)}
    for p in prefixes:
        if p in found:
            return NamespaceOwner(p, found[p].owner_id)
    return None


def _has_override(canonical: str, user_id: int) -> bool:
    return NameOverride.objects.filter(name=canonical, user_id=user_id).exists()


def rules() -> Rules:
    """The index's rules now (the policy is cached until the operator's rows change)."""
    return Rules(
        _policy(),
        current().reserve_protected_names,
        namespace_owner=_namespace_owner,
        has_override=_has_override,
    )


def invalidate(**_: object) -> None:
    """Forget the cached policy (connected to the models' save/delete signals)."""
    global _cached
    _cached = None


def connect_signals() -> None:
    for model in _MODELS:
        post_save.connect(invalidate, sender=model, dispatch_uid=f"names-{model.__name__}-save")
        post_delete.connect(invalidate, sender=model, dispatch_uid=f"names-{model.__name__}-del")
