"""Forms of the project management page: yanking and deletion.

They check shape only. Whether the user may ask, and whether the change is possible, is decided
by the policy and by :mod:`bastion.packages.deletion`.
"""

from __future__ import annotations

from django import forms

from bastion.web.common import CONFIRM_REQUIRED


class ConfirmForm(forms.Form):
    """Typing the name of what is deleted, as PyPI asks: a click alone must not be enough to
    destroy a project or a release."""

    confirm = forms.CharField(
        max_length=255,
        strip=True,
        label="Type the name to confirm",
        error_messages={"required": CONFIRM_REQUIRED},
    )


class YankForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        required=False,
        strip=True,
        label="Reason",
        help_text="Shown to people and installers, e.g. \u201cbroken on Windows, use 1.2.1\u201d.",
    )
