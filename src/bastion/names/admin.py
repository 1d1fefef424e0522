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


@admin.register(ProtectedName)
class ProtectedNameAdmin(_Audited):
    tag = "name:protected"
    list_display = ("name", "added_by", "created")
    search_fields = ("name",)
    readonly_fields = ("added_by", "created")

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.added_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ProhibitedName)
class ProhibitedNameAdmin(_Audited):
    tag = "name:prohibited"
    list_display = ("name", "reason", "created")
    search_fields = ("name",)


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
