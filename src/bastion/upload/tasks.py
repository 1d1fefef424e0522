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
    from bastion.scanning import scan_file

    file = File.objects.select_related("release__project").filter(pk=file_id).first()
    if file is None or file.state != File.PENDING:
        return "skipped"
    storage = get_storage()
    with storage.open(file.storage_key) as fh:
        result = scan_file(fh, file.filename)
    return apply_verdict(
        file_id, result.verdict, result.score, [f.to_json() for f in result.findings]
    )


def apply_verdict(
    file_id: int, verdict: str, score: float | None, findings: list[dict[str, Any]]
) -> str:
    with transaction.atomic():
        file = File.objects.select_for_update().select_related("release__project").get(pk=file_id)
        if file.state != File.PENDING:
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


def _enqueue_scan(sender: Any, file_id: int, **kwargs: Any) -> None:
    result = scan_pending_file.enqueue(file_id)
    for error in getattr(result, "errors", []):
        log.error("scan task failed: %s", error.traceback)


packages.file_pending.connect(_enqueue_scan, dispatch_uid="bastion.upload.enqueue_scan")
