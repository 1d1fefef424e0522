"""The admin's view of projects and files: raise a project's limits, release or hold a file.

State changes go through :mod:`bastion.packages.services`, so they are audited and the
index re-rendered like any other change. A file's page shows its scan findings as a list a
moderator can read, and buttons to hold or release it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from bastion.packages import services
from bastion.packages.models import File, Project, Release, Role
from bastion.scanning.explain import ARCHIVE_FACT

#: The states each moderation moves a file out of.
RELEASABLE = (File.HELD, File.PENDING)
HOLDABLE = (File.PUBLISHED, File.PENDING)


def _release(file: File, request: HttpRequest) -> None:
    moderator: Any = request.user  # an administrator: the admin site let them in
    services.publish_file(file, actor=moderator, request=request, released_by_moderator=True)


def _hold(file: File, request: HttpRequest, reason: str) -> None:
    moderator: Any = request.user
    services.hold_file(
        file, reason=reason or "held by a moderator", actor=moderator, request=request
    )


def findings_html(findings: Any) -> SafeString:
    """Scan findings as a list: rule, severity, where (path:line), what, the excerpt, and, as
    the upload's scan stores them (``bastion.scanning.explain``), when the code runs, why it
    counts and what would make it clean; every value escaped (they quote the uploaded
    archive)."""
    rows = [f for f in findings or [] if isinstance(f, Mapping)]
    if not rows:
        return format_html("<p>{}</p>", "No findings.")

    def where(finding: Mapping[str, Any]) -> str:
        place = str(finding.get("file") or "")
        line = finding.get("line")
        return f"{place}:{line}" if place and line else place

    def explanation(finding: Mapping[str, Any]) -> SafeString | str:
        if not finding.get("why"):
            return ""  # stored before findings were explained
        return format_html(
            '<dl class="explanation"><dt>When it runs</dt><dd>{}</dd><dt>Why it counts</dt>'
            "<dd>{}</dd><dt>What would make it clean</dt><dd>{}</dd></dl>",
            str(finding.get("context") or ARCHIVE_FACT),
            str(finding.get("why")),
            str(finding.get("clean_if") or ""),
        )

    items = format_html_join(
        "\n",
        "<li><strong>{}</strong>, {}{}: <code>{}</code><br>{}{}{}</li>",
        (
            (
                str(f.get("rule") or "?"),
                str(f.get("severity") or "?"),
                " (advisory)" if f.get("advisory") else "",
                where(f),
                str(f.get("message") or ""),
                format_html("<pre>{}</pre>", f["excerpt"]) if f.get("excerpt") else "",
                explanation(f),
            )
            for f in rows
        ),
    )
    return format_html('<ol class="scan-findings">{}</ol>', items)


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
class FileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
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
    # Every field, read only; the findings as a list rather than their JSON.
    _shown: tuple[str, ...] = tuple(
        "findings" if f.name == "scan_findings" else f.name
        for f in File._meta.fields
        if f.name != "id"
    )
    fields = _shown
    readonly_fields = _shown
    actions = ["release_files", "hold_files"]
    change_form_template = "admin/packages/file/moderated_change_form.html"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    @admin.display(description="Scan findings")
    def findings(self, file: File) -> SafeString:
        return findings_html(file.scan_findings)

    # -- the buttons on a file's page --------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/hold/", view(self.hold_view), name="packages_file_hold"),
            path(
                "<path:object_id>/release/", view(self.release_view), name="packages_file_release"
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        file = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if file is not None:
            context["may_hold"] = file.state in HOLDABLE
            context["may_release"] = file.state in RELEASABLE
        return super().change_view(request, object_id, form_url, context)

    def _moderate(self, request: HttpRequest, object_id: str, *, release: bool) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        with transaction.atomic():
            file = (
                File.objects.select_for_update()
                .select_related("release__project")
                .filter(pk=unquote(object_id))
                .first()
                if object_id.isdigit()
                else None
            )
            if file is None:
                raise Http404("No such file.")
            allowed = RELEASABLE if release else HOLDABLE
            if file.state not in allowed:
                messages.error(request, f"{file.filename} is {file.state}: nothing to do.")
            elif release:
                _release(file, request)
                messages.success(request, f"Released {file.filename}: it is installable again.")
            else:
                _hold(file, request, str(request.POST.get("reason", ""))[:1000].strip())
                messages.success(request, f"Held {file.filename}: installers no longer see it.")
        return HttpResponseRedirect(reverse("admin:packages_file_change", args=(file.pk,)))

    @method_decorator(require_POST)
    def hold_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._moderate(request, object_id, release=False)

    @method_decorator(require_POST)
    def release_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._moderate(request, object_id, release=True)

    # -- the list's actions ------------------------------------------------------------------

    @admin.action(description="Release (publish) the selected files")
    def release_files(self, request: Any, queryset: Any) -> None:
        count = 0
        for file in queryset.select_related("release__project"):
            if file.state in RELEASABLE:
                with transaction.atomic():
                    _release(file, request)
                count += 1
        messages.success(request, f"Released {count} file(s).")

    @admin.action(description="Hold the selected files (take them out of the index)")
    def hold_files(self, request: Any, queryset: Any) -> None:
        count = 0
        for file in queryset.select_related("release__project"):
            if file.state in HOLDABLE:
                with transaction.atomic():
                    _hold(file, request, "held by a moderator")
                count += 1
        messages.success(request, f"Held {count} file(s).")
