"""Forms of the project management page: collaborators and deletion.

They check shape only. Whether the user may ask, and whether the change is possible (the last
owner, a duplicate invitation), is decided by the policy and by :mod:`bastion.packages.roles`.
"""

from __future__ import annotations

from django import forms

from bastion.packages.models import Role

CONFIRM_REQUIRED = "Confirm the request"


class InviteForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        strip=True,
        label="Username",
        help_text="An existing user of this index. They must accept before they get the role.",
    )
    role = forms.ChoiceField(
        choices=Role.CHOICES,
        initial=Role.MAINTAINER,
        label="Role",
        help_text="Maintainers can upload. Owners can also yank, delete and manage collaborators.",
    )


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.CHOICES, label="Role")


class ConfirmForm(forms.Form):
    """Typing the name of what is deleted, as PyPI asks: a click alone must not be enough to
    destroy a project or a release."""

    confirm = forms.CharField(
        max_length=255,
        strip=True,
        label="Type the name to confirm",
        error_messages={"required": CONFIRM_REQUIRED},
    )


def first_error(form: forms.Form) -> str:
    """The form's first error, one line for the page."""
    for field, errors in form.errors.items():
        if errors:
            label = form.fields[field].label if field in form.fields else ""
            message = str(errors[0])
            return f"{label}: {message}" if label and message != CONFIRM_REQUIRED else message
    return "The form is not valid."
