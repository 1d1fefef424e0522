"""Background work of the upload pipeline: scan a pending file, then publish or hold it."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from bastion.packages import services as packages
from bastion.packages.models import File
from bastion.storage import get_storage

log = logging.getLogger(__name__)


@task()
def scan_pending_file(file_id: int) -> str:
    """Scan one pending file and decide: clean -> published, malicious -> held,
    suspicious -> ``BASTION_SUSPICIOUS_ACTION`` (``publish`` and flag, or ``hold``)."""
    file = File.objects.select_related("release__project").filter(pk=file_id).first()
    if file is None or file.state != File.PENDING:
        return "skipped"
    verdict, score, findings = _scan(file)
    # The page shows the README from the moment the file is published.
    packages.render_description(file.release_id)
    return apply_verdict(file_id, verdict, score, findings)


def _scan(file: File) -> tuple[str, float, list[dict[str, Any]]]:
    """Scan a stored file with the current rules: (verdict, score, findings as JSON)."""
    from bastion.scanning import scan_file

    with get_storage().open(file.storage_key) as fh:
        result = scan_file(fh, file.filename)
    return str(result.verdict), result.score, [f.to_json() for f in result.findings]


def apply_verdict(
    file_id: int, verdict: str, score: float | None, findings: list[dict[str, Any]]
) -> str:
    with transaction.atomic():
        file = (
            File.objects.select_for_update()
            .select_related("release__project")
            .filter(pk=file_id)
            .first()
        )
        if file is None or file.state != File.PENDING:
            # Deleted (with its release or project) while waiting, or decided already.
            return "skipped"
        file.scan_verdict = verdict
        file.scan_score = score
        file.scan_findings = findings
        file.scanned_at = timezone.now()
        suspicious_holds = settings.BASTION_SUSPICIOUS_ACTION == "hold"
        if verdict == "malicious" or (verdict == "suspicious" and suspicious_holds):
            packages.hold_file(
                file, reason=f"scan verdict: {verdict}", verdict=verdict, score=score
            )
            return "held"
        file.flagged = verdict == "suspicious"
        packages.publish_file(file, verdict=verdict, score=score)
        return "published"


def rescan(file: File) -> str:
    """Scan a file again with the current rules. A published file that is now malicious is
    held; the verdict and findings are updated whatever the outcome."""
    verdict, score, findings = _scan(file)
    with transaction.atomic():
        locked = File.objects.select_for_update().select_related("release__project").get(pk=file.pk)
        locked.scan_verdict = verdict
        locked.scan_score = score
        locked.scan_findings = findings
        locked.scanned_at = timezone.now()
        if verdict == "malicious" and locked.state == File.PUBLISHED:
            packages.hold_file(locked, reason="rescan verdict: malicious", verdict="malicious")
            return "held"
        locked.save(update_fields=["scan_verdict", "scan_score", "scan_findings", "scanned_at"])
    return verdict


def _notify_held(sender: Any, file_id: int, verdict: str, **kwargs: Any) -> None:
    """Tell the project's owners and the index's administrators that a file was held."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mass_mail

    from bastion.packages.models import Role

    file = File.objects.select_related("release__project").filter(pk=file_id).first()
    if file is None:
        return
    project = file.release.project
    owners = Role.objects.filter(project=project, role_name=Role.OWNER).select_related("user")
    admins = get_user_model().objects.filter(is_superuser=True, is_active=True)
    recipients = sorted(
        {r.user.email for r in owners if r.user.email} | {a.email for a in admins if a.email}
    )
    if not recipients:
        return
    subject = f"[bastion] {file.filename} was held ({verdict or 'moderator'})"
    body = (
        f"The file {file.filename} of project {project.name} {file.release.version} was taken out "
        f"of the index and cannot be installed.\n\nScanner verdict: {verdict or '-'}\n"
        f"Findings: {len(file.scan_findings or [])}\n\n"
        "An administrator can review it (bastion files; the admin's file list) and release it "
        "with `bastion release FILENAME` if it is safe.\n"
    )
    try:
        send_mass_mail([(subject, body, None, [r]) for r in recipients], fail_silently=False)
    except OSError:
        log.exception("could not send the held-file notification for %s", file.filename)


packages.file_held.connect(_notify_held, dispatch_uid="bastion.upload.notify_held")


def _enqueue_scan(sender: Any, file_id: int, **kwargs: Any) -> None:
    result = scan_pending_file.enqueue(file_id)
    # Only a backend that runs tasks at once reports errors here; the database backend's
    # worker logs its own. A failed scan leaves the file pending, never published.
    for error in getattr(result, "errors", []):
        log.error("scan task failed: %s", error.traceback)


packages.file_pending.connect(_enqueue_scan, dispatch_uid="bastion.upload.enqueue_scan")
