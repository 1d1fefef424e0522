"""Background work of the upload pipeline: scan a pending file, then publish or hold it."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from bastion.config import current
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Role
from bastion.storage import get_storage

if TYPE_CHECKING:
    from bastion.scanning.diff import DependencyInfo

log = logging.getLogger(__name__)


@task()
def scan_pending_file(file_id: int) -> str:
    """Scan one pending file and decide: clean -> published, malicious -> held,
    suspicious -> ``BASTION_SUSPICIOUS_ACTION`` (``publish`` and flag, or ``hold``), and an
    incomplete scan -> held whatever its verdict.

    A scan that stopped for want of time or parse budget (see :class:`ScanConfig`) is run
    once more with ``BASTION_SCAN_RETRY_FACTOR`` times those budgets before the file is
    held: a large but ordinary package then completes, while a file built to exhaust the
    budgets costs the worker a bounded amount (the retry's budget) and is held for review. A
    verdict of malicious is not retried: the file is held either way.
    """
    file = File.objects.select_related("release__project").filter(pk=file_id).first()
    if file is None or file.state != File.PENDING:
        return "skipped"
    outcome = _scan_with_retry(file)
    # The page shows the README from the moment the file is published.
    packages.render_description(file.release_id)
    return apply_verdict(
        file_id, outcome.verdict, outcome.score, outcome.findings, incomplete=outcome.incomplete
    )


@dataclass(frozen=True)
class ScanOutcome:
    """A scan's result as the pipeline stores it: the findings as JSON (each with its
    ``context``, ``why`` and ``clean_if``: :mod:`bastion.scanning.explain`), with one entry per
    gap (rule ``scan-incomplete``) so that a moderator sees what was not examined, and
    ``incomplete``, a one-line reason ('' when the scan was complete)."""

    verdict: str
    score: float
    findings: list[dict[str, Any]]
    incomplete: str = ""
    retryable: bool = False


def _scan_with_retry(file: File) -> ScanOutcome:
    """Scan; if the scan ran out of time or parse budget (and the file is not malicious,
    which holds it anyway), scan once more with ``BASTION_SCAN_RETRY_FACTOR`` times them."""
    outcome = _scan(file)
    factor = float(current().scan_retry_factor)
    if outcome.retryable and outcome.verdict != "malicious" and factor > 1:
        log.info(
            "scan of %s incomplete (%s); retrying with %gx the budgets",
            file.filename,
            outcome.incomplete,
            factor,
        )
        outcome = _scan(file, factor)
    return outcome


def _scan(file: File, budget_factor: float = 1.0) -> ScanOutcome:
    """Scan a stored file with the current rules (and ``budget_factor`` times the default time
    and parse budgets), and compare it with the project's previous release
    (:func:`bastion.scanning.diff.scan_with_previous`): what the new release newly does is
    evidence too."""
    from bastion.scanning import DEFAULT_CONFIG, scan_file
    from bastion.scanning.diff import DiffOptions, scan_with_previous
    from bastion.scanning.explain import annotate, explained

    base = dataclasses.replace(DEFAULT_CONFIG, rules_dir=current().scan_rules_dir)
    config = base if budget_factor == 1.0 else base.scaled(budget_factor)
    previous = packages.previous_file(file)
    storage = get_storage()
    with storage.open(file.storage_key) as fh:
        result = None
        if previous is not None:
            try:
                with storage.open(previous.storage_key) as before:
                    diffed = scan_with_previous(
                        fh,
                        file.filename,
                        before,
                        previous.filename,
                        config=config,
                        dependency_info=dependency_info(file.release.project, file.upload_time),
                        options=DiffOptions(young_days=current().scan_young_dependency_days),
                    )
            except OSError:  # its blob is gone (bastion check lists it): scan without it
                log.warning("cannot read %s to compare %s with", previous.filename, file.filename)
                fh.seek(0)
            else:
                result = diffed.result
                log.info(
                    "scan of %s against %s: %d diff finding(s); previous read in %.3fs, "
                    "compared in %.3fs",
                    file.filename,
                    previous.filename,
                    len(diffed.diff),
                    diffed.previous_seconds,
                    diffed.diff_seconds,
                )
        if result is None:
            result = scan_file(fh, file.filename, config=config)
    # stored with why each finding counts and what would make it clean, for the pages
    findings = [explained(f).to_json() for f in result.findings]
    findings.extend(
        annotate(
            {
                "rule": "scan-incomplete",
                "severity": "info",
                "message": f"Not examined ({g.kind}): {g.message}.",
                "file": g.file,
                "line": None,
                "excerpt": None,
                "context": None,
            }
        )
        for g in result.gaps[:25]
    )
    return ScanOutcome(
        str(result.verdict), result.score, findings, result.incomplete_reason(), result.retryable
    )


def dependency_info(project: Project, at: datetime | None = None) -> DependencyInfo:
    """What the index knows about the projects a release of ``project`` depends on: whether
    each is one of its projects, how old it was ``at`` (the release's upload: a rescan months
    later weighs the dependency as it was then), whether it shares an owner with ``project``,
    and whether its name is a popular project's or imitates one (the names domain's check, as
    an upload of a new project under that name would be checked)."""
    from bastion.names import database
    from bastion.names.policy import LOOKALIKE, PROTECTED
    from bastion.names.services import check_new_project_name
    from bastion.scanning.diff import DependencyFacts

    owners = set(Role.objects.filter(project=project).values_list("user_id", flat=True))
    now = at or timezone.now()
    rules = database.rules()
    local: tuple[str, ...] | None = None  # one tuple for every dependency: the name
    # index's cache knows it by identity and answers at once

    def info(name: str) -> DependencyFacts:
        nonlocal local
        found = packages.get_project(name)
        if found is not None:
            return DependencyFacts(
                known=True,
                # created after the release named it: claimed later, as young as can be
                age_days=max(0.0, (now - found.created).total_seconds() / 86400),
                same_owners=Role.objects.filter(project=found, user_id__in=owners).exists(),
            )
        if local is None:
            local = tuple(packages.project_names())
        verdict = check_new_project_name(name, user_id=None, projects=local, rules=rules)
        return DependencyFacts(
            known=False,
            # with BASTION_RESERVE_PROTECTED_NAMES the check calls a popular name reserved
            popular=verdict.code == PROTECTED or verdict.canonical in rules.policy.index,
            lookalike_of=verdict.target if verdict.code == LOOKALIKE else None,
        )

    return info


def apply_verdict(
    file_id: int,
    verdict: str,
    score: float | None,
    findings: list[dict[str, Any]],
    *,
    incomplete: str = "",
) -> str:
    """Publish or hold a pending file on its scan. ``incomplete`` (the reason a scan did not
    examine everything) holds the file whatever the verdict: a verdict is only the evidence
    found, and what was not examined may be exactly what would have held it."""
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
        suspicious_holds = current().suspicious_action == "hold"
        if verdict == "malicious" or (verdict == "suspicious" and suspicious_holds):
            packages.hold_file(
                file, reason=f"scan verdict: {verdict}", verdict=verdict, score=score
            )
            return "held"
        if incomplete:
            packages.hold_file(
                file, reason=f"scan incomplete: {incomplete}", verdict=verdict, score=score
            )
            return "held"
        file.flagged = verdict == "suspicious"
        packages.publish_file(file, verdict=verdict, score=score)
        return "published"


def rescan(file: File) -> str:
    """Scan a file again with the current rules. A published file that is now malicious is
    held, and so is one whose scan is incomplete even with the worker's retry budgets (it could
    not be published today); the verdict and findings are updated whatever the outcome."""
    outcome = _scan_with_retry(file)
    verdict = outcome.verdict
    with transaction.atomic():
        locked = File.objects.select_for_update().select_related("release__project").get(pk=file.pk)
        locked.scan_verdict = verdict
        locked.scan_score = outcome.score
        locked.scan_findings = outcome.findings
        locked.scanned_at = timezone.now()
        if verdict == "malicious" and locked.state == File.PUBLISHED:
            packages.hold_file(locked, reason="rescan verdict: malicious", verdict="malicious")
            return "held"
        if outcome.incomplete and locked.state == File.PUBLISHED:
            packages.hold_file(
                locked, reason=f"rescan incomplete: {outcome.incomplete}", verdict=verdict
            )
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
    from bastion.upload.verdict import deciding_sentence

    subject = f"[bastion] {file.filename} was held ({verdict or 'moderator'})"
    stored = file.scan_findings if isinstance(file.scan_findings, list) else []
    decided = deciding_sentence(stored).strip()
    body = (
        f"The file {file.filename} of project {project.name} {file.release.version} was taken out "
        f"of the index and cannot be installed.\n\nScanner verdict: {verdict or '-'}\n"
        f"Findings: {len(stored)}\n"
        + (f"{decided}\n" if decided else "")
        + "\nThe project's management page lists every finding: where it is, when that code "
        "runs, why it counts and what would make it clean. "
        "An administrator can review it (bastion files; the admin's file list) and release it "
        "with `bastion release FILENAME` if it is safe.\n"
    )
    try:
        send_mass_mail([(subject, body, None, [r]) for r in recipients], fail_silently=False)
    except OSError:
        log.exception("could not send the held-file notification for %s", file.filename)


packages.file_held.connect(_notify_held, dispatch_uid="bastion.upload.notify_held")


#: How long the worker leaves the scan of a file that its upload's request scans itself
#: (:func:`scans_in_request`): the request decides first, and the queued row still scans the
#: file if the web process dies before deciding.
IN_REQUEST_GRACE = timedelta(seconds=60)


def scans_in_request(size: int) -> bool:
    """Whether the upload of a file of ``size`` bytes is scanned in its own request
    (``BASTION_UPLOAD_SCAN_IN_REQUEST``): a small file's scan takes tens of milliseconds, so
    the uploader is answered with the verdict, as PyPI answers a file it refuses."""
    return 0 < size <= current().upload_scan_in_request


def scan_in_request(file_id: int) -> None:
    """Scan a file just recorded, in the upload's request, after its commit (the same task
    the worker runs, so the decision, the events and the notices are the worker's)."""
    scan_pending_file.call(file_id)


def enqueue_scan(file_id: int, *, in_request: bool = False) -> None:
    """Queue the scan of a file just recorded as pending, INSIDE the transaction that records
    it (:func:`bastion.upload.services.record`): the task's row (in the same database) is then
    committed with the file or not at all, so no crash can leave a pending file without its
    scan (``bastion check --repair`` queues one for a file whose scan failed)."""
    task = scan_pending_file
    if in_request and task.get_backend().supports_defer:
        task = task.using(run_after=timezone.now() + IN_REQUEST_GRACE)
    result = task.enqueue(file_id)
    # Only a backend that runs tasks at once reports errors here; the database backend's
    # worker logs its own. A failed scan leaves the file pending, never published.
    for error in getattr(result, "errors", []):
        log.error("scan task failed: %s", error.traceback)
