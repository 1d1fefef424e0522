from django.contrib import admin

from bastion.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("time", "tag", "subject_kind", "subject_name", "actor_name", "ip_address")
    list_filter = ("subject_kind", "tag")
    search_fields = ("subject_name", "actor_name", "tag")
    readonly_fields = [f.name for f in Event._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
