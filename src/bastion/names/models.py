"""Operator and moderator data for the name policy (the shipped list lives in data/)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from bastion.names.normalize import canonicalize


class _CanonicalName(models.Model):
    """A row keyed by a PEP 503 canonical name (canonicalised on save)."""

    name = models.CharField(max_length=255, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = canonicalize(self.name)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.name


class ProtectedName(_CanonicalName):
    """A name an operator protects in addition to the shipped popular names."""

    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class ProhibitedName(_CanonicalName):
    """A name nobody may register (besides the built-in reserved words and the stdlib)."""

    reason = models.TextField(blank=True, default="")


class NotProtected(_CanonicalName):
    """A protected name a moderator released: it no longer guards against look-alikes."""

    reason = models.TextField(blank=True, default="")


class Namespace(models.Model):
    """A PEP 752 namespace: ``prefix`` and every ``prefix-*`` name belong to ``owner``."""

    prefix = models.CharField(max_length=255, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prefix"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.prefix = canonicalize(self.prefix).strip("-")
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.prefix}-*"


class NameOverride(models.Model):
    """A moderator's decision that ``user`` may register ``name`` despite a look-alike match."""

    name = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(fields=["name", "user"], name="names_override_unique")
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = canonicalize(self.name)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.name} for {self.user}"
