"""Forms of the login, email, password and registration pages.

They check shape and match the two typed passwords; the rules (address uniqueness, password
validators, user names) belong to :mod:`bastion.accounts` and are only called from here, so the
command line and the pages refuse the same things with the same words.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.mail import send_mail
from django.urls import reverse

from bastion import authz
from bastion.accounts.emails import check_address
from bastion.accounts.models import User
from bastion.accounts.services import AccountError

log = logging.getLogger(__name__)

MAX_PASSWORD = 4096  # PyPI's limit; argon2 would hash more, but nobody types more
RULES_HELP = (
    "At least 10 characters, not only digits, not a common or breached password, and not like"
    " your user name or email address."
)


def _password_field(label: str, autocomplete: str, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=MAX_PASSWORD,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class EmailChangeForm(forms.Form):
    email = forms.EmailField(
        label="New email address",
        max_length=254,
        help_text="We send a link to this address; your address changes when you open it.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        if email.strip().lower() == (self.user.email or "").lower():
            raise forms.ValidationError("This is already the address of your account.")
        try:
            return check_address(self.user, email)
        except AccountError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ResetRequestForm(PasswordResetForm):
    """Django's reset form, for accounts that may log in, mailing a link on bastion's base URL.

    Django builds the link from the request's Host header; behind a lenient ``ALLOWED_HOSTS``
    an attacker could send the victim a genuine token on the attacker's host. The view passes
    ``link_base`` (``BASTION_BASE_URL`` when configured) instead.
    """

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def get_users(self, email: str) -> Iterator[Any]:
        for user in super().get_users(email):
            if authz.may_sign_in(user):
                yield user

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user = context["user"]
        path = reverse(
            "password-reset-confirm", kwargs={"uidb64": context["uid"], "token": context["token"]}
        )
        link = str(context["link_base"]).rstrip("/") + path
        site = context.get("site_label", "bastion")
        hours = int(context.get("timeout_hours", 72))
        body = (
            f"Hello {user.get_username()},\n\n"
            f"Somebody, hopefully you, asked to reset the password of the account"
            f" '{user.get_username()}' on {site}. Open this link to choose a new password:\n\n"
            f"{link}\n\nThe link works once and expires in {hours} hours. Choosing a new"
            " password logs out every session of the account. If you did not ask for this,"
            " ignore this email: your password stays as it is.\n"
        )
        try:
            send_mail(f"[{site}] Reset your password", body, from_email, [to_email])
        except Exception:  # the page must look the same whether or not a mail went out
            log.exception("could not send a password reset email")


class RegistrationForm(forms.Form):
    username = forms.CharField(
        label="User name",
        max_length=50,
        help_text="Letters, digits, '.', '-' and '_'.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We send a link to verify it; uploading needs a verified address.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = _password_field("Password", "new-password", RULES_HELP)
    password2 = _password_field("Password again", "new-password")

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"].strip()
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(f"The username '{username}' is already taken.")
        return username

    def clean_email(self) -> str:
        try:
            return check_address(None, self.cleaned_data["email"])
        except AccountError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords do not match.")
        elif first:
            candidate = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                password_validation.validate_password(first, user=candidate)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class LoginForm(AuthenticationForm):
    """Django's login form, refusing frozen accounts as well as inactive ones."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not authz.may_sign_in(user):
            raise forms.ValidationError(
                "This account is frozen. Contact the administrators of this index.",
                code="frozen",
            )
