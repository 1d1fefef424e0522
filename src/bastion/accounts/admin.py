from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from bastion.accounts.models import User


@admin.register(User)
class BastionUserAdmin(UserAdmin):
    list_display = ("username", "email", "email_verified", "is_staff", "is_frozen", "date_joined")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("bastion", {"fields": ("email_verified", "is_frozen")}),
    )
