from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who can log in. Passwords are hashed with argon2 (``PASSWORD_HASHERS``).

    The TOTP secret cannot be hashed (the server must compute codes from it), so it is stored
    encrypted with a key derived from the secret key (``bastion.accounts.mfa``); the last
    accepted time step is kept so that a code cannot be replayed.
    """

    email_verified = models.BooleanField(default=False)
    is_frozen = models.BooleanField(
        default=False, help_text="A frozen account can neither log in nor use its tokens."
    )
    totp_secret = models.TextField(blank=True, default="", help_text="Encrypted; empty = no TOTP.")
    totp_last_step = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "accounts_user"

    @property
    def has_totp(self) -> bool:
        return bool(self.totp_secret)


class RecoveryCode(models.Model):
    """A single-use recovery code, stored as an argon2 hash; ``used`` once burned."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    code_hash = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)
    used = models.DateTimeField(null=True, blank=True)


class WebAuthnCredential(models.Model):
    """A registered security key or passkey (WebAuthn public-key credential)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webauthn_credentials"
    )
    label = models.CharField(max_length=64)
    credential_id = models.CharField(max_length=1400, unique=True, help_text="base64url")
    credential_data = models.BinaryField(help_text="fido2 AttestedCredentialData bytes")
    sign_count = models.BigIntegerField(default=0)
    discoverable = models.BooleanField(default=False, help_text="A passkey (resident key).")
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "label"], name="unique_webauthn_label_per_user")
        ]


def has_two_factor(user: object) -> bool:
    """True when the user can prove a second factor: TOTP or at least one WebAuthn key.

    Recovery codes alone do not count: they exist to replace a lost factor, not to be one.
    """
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return False
    if getattr(user, "totp_secret", ""):
        return True
    return WebAuthnCredential.objects.filter(user_id=user.pk).exists()  # type: ignore[attr-defined]
