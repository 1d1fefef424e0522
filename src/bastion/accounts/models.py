from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who can log in. Passwords are hashed with argon2 (``PASSWORD_HASHERS``)."""

    email_verified = models.BooleanField(default=False)
    is_frozen = models.BooleanField(
        default=False, help_text="A frozen account can neither log in nor use its tokens."
    )

    class Meta:
        db_table = "accounts_user"
