"""The admin's view of accounts.

Django's user admin changes passwords, addresses and flags by saving the row. Here each of
those goes through :mod:`bastion.accounts.services` instead, like the same change on
bastion's own pages: it lands in the user's security history and the user is told by email.
Password-based authentication cannot be switched off here (bastion has no other way in).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from bastion.accounts import emails, services
from bastion.accounts.models import User

_sensitive = method_decorator(sensitive_post_parameters())


class AdminPasswordForm(forms.Form):
    """A new password, typed twice, checked by the same rules as everywhere else."""

    password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, user: User, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords do not match.")
        elif first:
            try:
                validate_password(first, user=self.user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


class AdminUserAddForm(forms.ModelForm):  # type: ignore[type-arg]
    """A new account: the same checks as ``bastion user create`` and registration."""

    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )

    class Meta:
        model = User
        fields = ("username", "email")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first != second:
            self.add_error("password2", "The two passwords do not match.")
            return data
        try:
            services.check_new_user(
                str(data.get("username") or ""), str(data.get("email") or ""), str(first or "")
            )
        except services.AccountError as exc:
            raise ValidationError(str(exc)) from exc
        return data

    def _post_clean(self) -> None:
        """The model's own validation would hash nothing and compare names case-sensitively;
        :func:`services.check_new_user` and :func:`services.create_user` decide."""


class AdminUserChangeForm(UserChangeForm):  # type: ignore[type-arg]
    def clean_email(self) -> str:
        try:
            return emails.check_address(self.instance, str(self.cleaned_data.get("email") or ""))
        except services.AccountError as exc:
            raise ValidationError(str(exc)) from exc


@admin.register(User)
class BastionUserAdmin(UserAdmin):  # type: ignore[type-arg]
    list_display = ("username", "email", "email_verified", "is_staff", "is_frozen", "date_joined")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("bastion", {"fields": ("email_verified", "is_frozen")}),
    )
    add_fieldsets = ((None, {"fields": ("username", "email", "password1", "password2")}),)
    form = AdminUserChangeForm
    add_form = AdminUserAddForm
    change_user_password_template = "admin/accounts/user/set_password.html"  # noqa: S105

    # -- adding ------------------------------------------------------------------------------

    def save_form(self, request: Any, form: Any, change: bool) -> Any:
        if change:
            return super().save_form(request, form, change)
        data = form.cleaned_data
        try:
            return services.create_user(
                data["username"],
                email=data["email"],
                password=data["password1"],
                actor=request.user,
                request=request,
            )
        except services.AccountError as exc:  # taken between the form's check and now
            raise ValidationError(str(exc)) from exc

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)

    # -- changing ----------------------------------------------------------------------------

    def save_model(self, request: Any, obj: User, form: Any, change: bool) -> None:
        if not change:
            return  # created by services.create_user in save_form
        stored = User.objects.get(pk=obj.pk)
        concrete = {f.name for f in User._meta.concrete_fields}
        previous = {name: getattr(stored, name) for name in form.changed_data if name in concrete}
        many = [name for name in form.changed_data if name not in concrete]
        services.change_by_admin(
            obj, previous, actor=request.user, request=request, also_changed=many
        )

    def delete_model(self, request: Any, obj: User) -> None:
        services.delete_by_admin(obj, actor=request.user, request=request)

    def delete_queryset(self, request: Any, queryset: QuerySet[User]) -> None:
        for user in queryset:
            services.delete_by_admin(user, actor=request.user, request=request)

    # -- the password ------------------------------------------------------------------------

    @_sensitive
    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponse:
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such user.")
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        form = AdminPasswordForm(user, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            actor: Any = request.user
            services.set_password(
                user, form.cleaned_data["password1"], actor=actor, request=request
            )
            self.log_change(request, user, "Changed the password.")
            if user.pk == actor.pk:
                update_session_auth_hash(request, user)
            messages.success(
                request, f"The password of {user.get_username()} was changed; they were told."
            )
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:accounts_user_change", args=(user.pk,))
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set the password of {user.get_username()}",
            "form": form,
            "form_url": form_url,
            "opts": self.opts,
            "original": user,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.change_user_password_template or "", context)
