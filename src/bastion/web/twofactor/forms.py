"""Forms of the two-factor pages. They check shape only; the codes are judged by
:mod:`bastion.accounts.mfa`, which alone knows the secrets."""

from __future__ import annotations

from typing import Any

from django import forms

from bastion.accounts.webauthn import MAX_LABEL


class SecondFactorForm(forms.Form):
    """One code from the authenticator app or one recovery code (the page offers both)."""

    totp_code = forms.CharField(
        required=False,
        max_length=12,
        strip=True,
        label="Code from your authenticator app",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )
    recovery_code = forms.CharField(
        required=False,
        max_length=40,
        strip=True,
        label="Or a recovery code",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, has_totp: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not has_totp:
            del self.fields["totp_code"]
            self.fields["recovery_code"].label = "Recovery code"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("totp_code") and not data.get("recovery_code"):
            raise forms.ValidationError("Enter a code.", code="empty")
        return data


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        max_length=12,
        strip=True,
        label="Code shown by your app",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        strip=False,
        label="Password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class KeyLabelForm(forms.Form):
    label = forms.CharField(
        max_length=MAX_LABEL,
        strip=True,
        label="Name of the key",
        help_text="So you can tell your keys apart, e.g. \u201cblue YubiKey\u201d or \u201claptop"
        " passkey\u201d.",
    )
