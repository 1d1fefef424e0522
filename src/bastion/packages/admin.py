"""The admin's view of projects and files: raise a project's limits, release or hold a file.

State changes go through :mod:`bastion.packages.services`, so they are audited and the
index re-rendered like any other change.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction

from bastion.packages import services
from bastion.packages.models import File, Project, Release, Role


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "normalized_name", "created", "upload_limit", "total_size")
    search_fields = ("name", "normalized_name")
    readonly_fields = ("name", "normalized_name", "created", "last_serial", "total_size")
    fields = (*readonly_fields, "upload_limit", "total_size_limit")


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("project", "version", "created", "yanked")
    search_fields = ("project__normalized_name", "version")
    readonly_fields = [f.name for f in Release._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("project", "user", "role_name", "created")
    search_fields = ("project__normalized_name", "user__username")


@admin.register(File)
class FileAdmin(admin.ModelAdmin):
    list_display = (
        "filename",
        "state",
        "scan_verdict",
        "scan_score",
        "flagged",
        "upload_time",
        "state_changed",
    )
    list_filter = ("state", "scan_verdict", "flagged")
    search_fields = ("filename", "sha256_digest")
    readonly_fields = [f.name for f in File._meta.fields]
    actions = ["release_files", "hold_files"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.action(description="Release (publish) the selected files")
    def release_files(self, request: Any, queryset: Any) -> None:
        count = 0
        for file in queryset.select_related("release__project"):
            if file.state in (File.HELD, File.PENDING):
                with transaction.atomic():
                    services.publish_file(file, actor=request.user, released_by_moderator=True)
                count += 1
        messages.success(request, f"Released {count} file(s).")

    @admin.action(description="Hold the selected files (take them out of the index)")
    def hold_files(self, request: Any, queryset: Any) -> None:
        count = 0
        for file in queryset.select_related("release__project"):
            if file.state in (File.PUBLISHED, File.PENDING):
                with transaction.atomic():
                    services.hold_file(file, reason="held by a moderator", actor=request.user)
                count += 1
        messages.success(request, f"Held {count} file(s).")
