"""Admin pages for the operator's name data; every change is written to the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction

from bastion.events import services as events
from bastion.names.models import (
    NameOverride,
    Namespace,
    NotProtected,
    ProhibitedName,
    ProtectedName,
)
from bastion.names.policy import shipped_protected_names
from bastion.names.prohibited import RESERVED_NAMES, stdlib_names


class _Audited(admin.ModelAdmin):  # type: ignore[type-arg]
    tag: str = ""

    def _subject(self, obj: models.Model) -> str:
        return str(getattr(obj, "name", None) or getattr(obj, "prefix", ""))

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            events.record(
                f"{self.tag}:{'change' if change else 'add'}",
                subject_kind="name",
                subject_name=self._subject(obj),
                actor=request.user,
                request=request,
            )

    def delete_model(self, request: Any, obj: Any) -> None:
        with transaction.atomic():
            subject = self._subject(obj)
            super().delete_model(request, obj)
            events.record(
                f"{self.tag}:remove",
                subject_kind="name",
                subject_name=subject,
                actor=request.user,
                request=request,
            )


class _WithPolicyNote(_Audited):
    """A list screen that says what the name policy enforces besides its rows: the screen
    alone ("0 protected names") would tell an operator that nothing is protected."""

    change_list_template = "admin/names/policy_change_list.html"

    def policy_note(self) -> str:
        raise NotImplementedError

    def changelist_view(self, request: Any, extra_context: dict[str, Any] | None = None) -> Any:
        context = {**(extra_context or {}), "policy_note": self.policy_note()}
        return super().changelist_view(request, context)


@admin.register(ProtectedName)
class ProtectedNameAdmin(_WithPolicyNote):
    tag = "name:protected"
    list_display = ("name", "added_by", "created")
    search_fields = ("name",)
    readonly_fields = ("added_by", "created")

    def policy_note(self) -> str:
        shipped = shipped_protected_names()
        released = NotProtected.objects.count()
        return (
            f"{len(shipped):,} names shipped with bastion (the most downloaded projects on"
            " PyPI) are protected against look-alikes"
            + (f", less {released:,} released from protection" if released else "")
            + ", and so is every project of this index. Listed here: the"
            f" {ProtectedName.objects.count():,} names this index protects in addition."
        )

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ProhibitedName)
class ProhibitedNameAdmin(_WithPolicyNote):
    tag = "name:prohibited"
    list_display = ("name", "reason", "created")
    search_fields = ("name",)

    def policy_note(self) -> str:
        return (
            f"{len(RESERVED_NAMES):,} reserved words and {len(stdlib_names()):,} standard-library"
            " module names are refused as well. Listed here: the"
            f" {ProhibitedName.objects.count():,} names this index prohibits in addition."
        )


@admin.register(NotProtected)
class NotProtectedAdmin(_Audited):
    tag = "name:not-protected"
    list_display = ("name", "reason", "created")
    search_fields = ("name",)


@admin.register(Namespace)
class NamespaceAdmin(_Audited):
    tag = "name:namespace"
    list_display = ("prefix", "owner", "created")
    search_fields = ("prefix",)
    raw_id_fields = ("owner",)


@admin.register(NameOverride)
class NameOverrideAdmin(_Audited):
    tag = "name:override"
    list_display = ("name", "user", "moderator", "reason", "created")
    search_fields = ("name",)
    raw_id_fields = ("user",)
    readonly_fields = ("moderator", "created")

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.moderator = request.user
        super().save_model(request, obj, form, change)
