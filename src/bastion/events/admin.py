"""The audit trail in the admin: read-only, each event with its sentence beside its code."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from bastion.events.describe import sentence
from bastion.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "time",
        "what",
        "tag",
        "subject_kind",
        "subject_name",
        "actor_name",
        "ip_address",
    )
    list_filter = ("subject_kind", "tag")
    search_fields = ("subject_name", "actor_name", "tag")
    readonly_fields = [f.name for f in Event._meta.fields]

    @admin.display(description="What")
    def what(self, event: Event) -> str:
        return sentence(event)

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
