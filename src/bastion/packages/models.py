from __future__ import annotations

from django.conf import settings
from django.db import models


class Project(models.Model):
    name = models.CharField(max_length=200, help_text="The name as first published.")
    normalized_name = models.CharField(max_length=200, unique=True)
    created = models.DateTimeField(auto_now_add=True)
    last_serial = models.BigIntegerField(default=0)
    upload_limit = models.BigIntegerField(
        null=True, blank=True, help_text="Per-file size limit in bytes (admins raise it)."
    )
    total_size_limit = models.BigIntegerField(null=True, blank=True)
    total_size = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["normalized_name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    OWNER = "owner"
    MAINTAINER = "maintainer"
    CHOICES = [(OWNER, "Owner"), (MAINTAINER, "Maintainer")]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_roles"
    )
    role_name = models.CharField(max_length=20, choices=CHOICES)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_role_per_user_project")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.role_name} of {self.project}"


class Release(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=100, help_text="As uploaded.")
    canonical_version = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=512, blank=True, default="")
    description = models.TextField(blank=True, default="")
    description_content_type = models.CharField(max_length=200, blank=True, default="")
    description_html = models.TextField(blank=True, default="")
    requires_python = models.CharField(max_length=200, blank=True, default="")
    metadata_version = models.CharField(max_length=10, default="")
    metadata = models.JSONField(
        default=dict, help_text="The full core metadata of the first file, field by field."
    )
    yanked = models.BooleanField(default=False)
    yanked_reason = models.CharField(max_length=1000, blank=True, default="")
    is_prerelease = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "canonical_version"], name="unique_release_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.version}"


class File(models.Model):
    PENDING = "pending"
    PUBLISHED = "published"
    HELD = "held"
    REMOVED = "removed"
    STATES = [
        (PENDING, "Pending scan"),
        (PUBLISHED, "Published"),
        (HELD, "Held"),
        (REMOVED, "Removed"),
    ]

    SDIST = "sdist"
    WHEEL = "bdist_wheel"
    PACKAGETYPES = [(SDIST, "Source"), (WHEEL, "Wheel")]

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=255, unique=True)
    packagetype = models.CharField(max_length=20, choices=PACKAGETYPES)
    python_version = models.CharField(max_length=100)
    requires_python = models.CharField(max_length=200, blank=True, default="")
    size = models.BigIntegerField()
    md5_digest = models.CharField(max_length=32)
    sha256_digest = models.CharField(max_length=64, db_index=True)
    blake2_256_digest = models.CharField(max_length=64, unique=True)
    storage_key = models.CharField(max_length=400)
    metadata_sha256 = models.CharField(
        max_length=64, blank=True, default="", help_text="Digest of the PEP 658 metadata file."
    )
    upload_time = models.DateTimeField(auto_now_add=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=STATES, default=PENDING, db_index=True)
    state_changed = models.DateTimeField(auto_now_add=True)
    scan_verdict = models.CharField(max_length=12, blank=True, default="")
    scan_score = models.FloatField(null=True, blank=True)
    scan_findings = models.JSONField(default=list, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)
    flagged = models.BooleanField(default=False, help_text="Published but marked for review.")

    class Meta:
        ordering = ["filename"]

    def __str__(self) -> str:
        return self.filename

    @property
    def metadata_key(self) -> str:
        return self.storage_key + ".metadata"


class FilenameRegistry(models.Model):
    """Every filename ever accepted. Rows are never deleted: a filename is used once, forever."""

    filename = models.CharField(max_length=255, primary_key=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename


class Serial(models.Model):
    """A monotonic change counter: one row per change, its id is the serial."""

    project_name = models.CharField(max_length=200)
    action = models.CharField(max_length=200)
    time = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"serial {self.pk}: {self.project_name} {self.action}"


class RoleInvitation(models.Model):
    """A role offered to a user, which becomes a :class:`Role` only when they accept it.

    Nobody is made responsible for a project (or given upload rights to it) without agreeing:
    an owner's account taken over must not be able to quietly attach accomplices, and a user
    must not find their name on a project they never asked to join. Rows exist only while an
    invitation is pending (or has just expired): accepting, declining and revoking delete the
    row, and the audit trail keeps the story.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_invitations"
    )
    role_name = models.CharField(max_length=20, choices=Role.CHOICES)
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()

    class Meta:
        ordering = ["created"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "invitee"], name="one_invitation_per_user_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.role_name} of {self.project_id} for {self.invitee_id}"

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires <= timezone.now()
