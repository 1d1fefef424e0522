"""The upload's answer from its file's scan: the uploader learns in the response, not only by
email, that a file was held.

The scan runs in the worker (:func:`bastion.upload.tasks.scan_pending_file`), never in the web
thread. Once the upload's transaction has committed the file as *pending* with its scan
queued, the request waits at most ``BASTION_UPLOAD_VERDICT_WAIT`` seconds (not at all when no
worker holds a live lease) for the file to leave that state, reading one row at growing
intervals, and answers from what it finds:
published, the usual empty 200; held, a 400 with the reason (as PyPI refuses a file its own
scan rejects; the file stays held and its filename used), then the finding that decided it
(rule, file:line, when that code runs and why it counts) or what the scan did not examine, and
the help page's section on held files; still pending, a 200 whose body says the file is held
until its scan completes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from bastion.helppage import HelpLink
from bastion.packages.models import File
from bastion.scanning.explain import explained_json
from bastion.scanning.result import deciding
from bastion.upload.models import WorkerLease

#: The help page's section on files the scan held (an id in docs/help.md).
HELD_HELP = HelpLink("held-by-scan")

#: The first pause between two reads of the file's state, and the longest: a small file's
#: scan takes tens of milliseconds once the worker has it, and a read is one indexed row.
FIRST_PAUSE = 0.01
LONGEST_PAUSE = 0.1


@dataclass(frozen=True)
class Standing:
    """Where a file stands after the wait: its state (``None`` if it no longer exists, its
    release or project deleted meanwhile) and its scan's verdict."""

    filename: str
    state: str | None
    scan_verdict: str = ""


def await_decision(file: File, seconds: float) -> Standing:
    """Read ``file``'s state until it is no longer pending or ``seconds`` have passed (a
    single read with ``seconds`` 0). Runs outside any transaction, so each read sees the
    worker's latest commit."""
    deadline = time.monotonic() + max(seconds, 0.0)
    pause = FIRST_PAUSE
    worker_checked = False
    while True:
        row = File.objects.filter(pk=file.pk).values_list("state", "scan_verdict").first()
        if row is None:
            return Standing(file.filename, None)
        standing = Standing(file.filename, row[0], row[1])
        left = deadline - time.monotonic()
        if standing.state != File.PENDING or left <= 0:
            return standing
        if not worker_checked:
            # Without a live worker (``bastion serve --no-worker`` and none elsewhere yet)
            # nothing can decide within the wait: answer at once.
            if not WorkerLease.objects.filter(expires_at__gt=timezone.now()).exists():
                return standing
            worker_checked = True
        time.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_PAUSE)


def refusal(standing: Standing) -> str | None:
    """The one-line reason for a file that will not be installable (``None`` for one that is
    published or still pending): PyPI's sentence first, then what decided it.

    The publisher is told which rule held the file, where and why (the project's owners see
    every finding on its management page anyway): a publisher who cannot tell which line
    held a release can only guess, or ask an administrator. The full list, with what would
    make each finding clean, stays on that page."""
    name = standing.filename
    if standing.state in (File.PUBLISHED, File.PENDING):
        return None
    if standing.state is None or standing.state == File.REMOVED:
        return f"The file {name} was removed from the index while it was being scanned."
    held = "it is held for an administrator's review and cannot be installed."
    stored = _stored_findings(name)
    verdict = standing.scan_verdict
    # malicious outranks a gap; a gap outranks suspicious (it is what holds the file then)
    if verdict == "malicious" or (verdict == "suspicious" and not _incomplete(stored)):
        first = f"Invalid distribution file. The malware scan found {name} {verdict}: {held}"
        return f"{first}{deciding_sentence(stored)} See {HELD_HELP}"
    if _incomplete(stored):
        first = f"The malware scan could not examine all of {name}: {held}"
        return f"{first}{_gap_sentence(stored)} See {HELD_HELP}"
    return f"The file {name} is held: {held}"


def deciding_sentence(stored: list[Any]) -> str:
    """`` Deciding finding: RULE at FILE:LINE (runs CONTEXT): WHY`` for the first finding that
    made the verdict ('' when the stored findings do not say)."""
    items = explained_json(stored)
    decided = deciding([item.finding for item in items])
    if not decided:
        return ""
    item = next(i for i in items if i.finding is decided[0])
    place = _printable(item.where)
    place = place if len(place) <= 200 else "..." + place[-197:]
    where = f" at {place}" if place else ""  # a long path must not push the rest off the line
    when = f" (runs {item.finding.context})" if item.finding.context else ""  # code, not a fact
    more = (
        f" ({len(decided) - 1} more on the project's management page)" if len(decided) > 1 else ""
    )
    return f" Deciding finding: {item.finding.rule}{where}{when}: {item.why}{more}"


def _gap_sentence(stored: list[Any]) -> str:
    """`` Not examined: ...`` from the first ``scan-incomplete`` entry."""
    gap = next(
        (f for f in stored if isinstance(f, dict) and f.get("rule") == "scan-incomplete"), None
    )
    if gap is None:
        return ""
    where = f" ({_printable(str(gap['file']))})" if gap.get("file") else ""
    return f" {_printable(str(gap.get('message') or '')).rstrip('.')}{where}."


def _printable(text: str) -> str:
    """``text`` with what cannot travel in an HTTP answer escaped: member names come from the
    archive, and a name that is not UTF-8 reaches here as lone surrogates."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def pending_notice(standing: Standing) -> str:
    """The body of the 200 for a file whose scan has not decided yet."""
    return (
        f"{standing.filename} was received and is held until its malware scan completes: it "
        "cannot be installed before then. The project's owners are emailed if the scan holds it."
    )


def _stored_findings(filename: str) -> list[Any]:
    findings = (
        File.objects.filter(filename=filename).values_list("scan_findings", flat=True).first()
    )
    return findings if isinstance(findings, list) else []


def _incomplete(stored: list[Any]) -> bool:
    """Whether the file was held because its scan did not examine everything (its findings
    then carry a ``scan-incomplete`` entry per gap)."""
    return any(isinstance(f, dict) and f.get("rule") == "scan-incomplete" for f in stored)
