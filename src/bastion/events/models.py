from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One security-relevant happening. Never updated, never deleted by the application.

    Subjects and actors are stored by id *and* by name: the audit trail must stay readable after
    the user or project it mentions is gone, and this low domain must not depend on the tables
    of the domains above it.
    """

    time = models.DateTimeField(auto_now_add=True, db_index=True)
    tag = models.CharField(max_length=80, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_name = models.CharField(max_length=150, blank=True, default="")
    subject_kind = models.CharField(max_length=20, db_index=True)  # "user", "project", "file", ...
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_name = models.CharField(max_length=255, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True, default="")
    additional = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["subject_kind", "subject_name", "-time"])]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.tag} {self.subject_kind}:{self.subject_name}"
