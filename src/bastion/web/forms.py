"""Forms of the pages. They validate shape only; decisions stay with the domains' services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from bastion import authz
from bastion.packages.models import Project

MAX_TOKEN_DAYS = 3650


class SearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, strip=True, label="Search projects")


class LoginForm(AuthenticationForm):
    """Django's login form, refusing frozen accounts as well as inactive ones."""

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not authz.may_sign_in(user):
            raise forms.ValidationError(
                "This account is frozen. Contact the administrators of this index.",
                code="frozen",
            )


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        help_text="What the token is for, e.g. \u201cCI for my-project\u201d.",
    )
    project = forms.ChoiceField(
        required=False,
        label="Scope",
        help_text="A token scoped to one project can upload only to that project.",
    )
    expires_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_TOKEN_DAYS,
        label="Expires after (days)",
        help_text="Leave empty for a token that does not expire.",
    )
    upload_only = forms.BooleanField(
        required=False,
        label="Upload only",
        help_text="The token can upload files to existing projects but cannot create new ones.",
    )

    def __init__(self, *args: Any, projects: list[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "All my projects")]
        choices += [(p.normalized_name, p.name) for p in projects]
        self.fields["project"].choices = choices  # type: ignore[attr-defined]


class YankForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        required=False,
        strip=True,
        label="Reason",
        help_text="Shown to people and installers, e.g. \u201cbroken on Windows, use 1.2.1\u201d.",
    )
