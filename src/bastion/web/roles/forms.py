"""Forms of the collaborators on the project management page.

They check shape only. Whether the user may ask, and whether the change is possible (the last
owner, a duplicate invitation), is decided by the policy and by :mod:`bastion.packages.roles`.
"""

from __future__ import annotations

from django import forms

from bastion.packages.models import Role


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
