from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Token(models.Model):
    """An API token's server-side record.

    The token itself is never stored: only its identifier (the macaroon's identifier), the
    SHA-256 of the string as issued (to recognise a disclosed leak) and the caveats it was issued
    with, which are re-applied at every verification so that the server's scope always holds
    whatever the client presents.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens"
    )
    name = models.CharField(max_length=100)
    token_sha256 = models.CharField(max_length=64, unique=True)
    caveats = models.JSONField(default=list)
    projects = models.JSONField(default=list, help_text="Normalised project names, empty = all.")
    expires = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    upload_only = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="unique_token_name_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def scope_label(self) -> str:
        return ", ".join(self.projects) if self.projects else "all projects"
