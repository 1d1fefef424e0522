"""Findings and scan results: plain data, JSON-ready."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Verdict(enum.StrEnum):
    CLEAN = "clean"
    SUSPICIOUS = "suspicious"
    MALICIOUS = "malicious"


#: Points each severity adds to an archive's score (capped at 100).
SEVERITY_POINTS: dict[Severity, float] = {
    Severity.INFO: 0.0,
    Severity.LOW: 5.0,
    Severity.MEDIUM: 20.0,
    Severity.HIGH: 60.0,
}


#: When the code of a file in each role runs (see ``rules.pyfacts.role_of``): what a finding's
#: ``context`` says, so that a reader weighs it as the rules did.
ROLE_CONTEXT: dict[str, str] = {
    "setup": "install time (setup.py)",
    "init": "on import",
    "pth": "at every interpreter start (.pth)",
    "module": "when the library module is imported or its functions are called",
    "called": "when a function is called (not on import)",
    "body": "when the library module is imported (its module body)",
    "test": "never run on install: tests, docs or examples",
    "aux": "never run on install: a file the sdist carries but does not install",
    "data": "only if something else runs it (script or data file)",
}


def context_for_role(role: str) -> str | None:
    """The ``context`` of a finding in a file of ``role`` (None for an unknown role)."""
    return ROLE_CONTEXT.get(role)


@dataclass(frozen=True, slots=True)
class Finding:
    """One piece of evidence.

    ``rule`` is a stable identifier; ``message`` is a sentence a moderator can read;
    ``excerpt`` is a short, single-line quote of the offending code (never a whole file).
    ``advisory`` findings (legacy crypto) are shown but never change the verdict.
    ``context`` says when the code it quotes runs (:data:`ROLE_CONTEXT`): the same call is
    evidence at install time and routine in a function nobody calls on install; it is None
    for facts about the archive itself (its members, its shape, the scan).
    """

    rule: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    excerpt: str | None = None
    advisory: bool = False
    context: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": str(self.severity),
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "excerpt": self.excerpt,
            "context": self.context,
        }
        if self.advisory:
            out["advisory"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding | None:
        """A finding back from :meth:`to_json`, as stored with a file; tolerant of what older
        versions stored (no ``context``) and of entries it cannot read (None)."""
        rule = data.get("rule")
        try:
            severity = Severity(str(data.get("severity")))
        except ValueError:
            return None
        if not isinstance(rule, str) or not rule:
            return None
        line = data.get("line")
        return cls(
            rule,
            severity,
            str(data.get("message") or ""),
            _text_or_none(data.get("file")),
            line if isinstance(line, int) and not isinstance(line, bool) else None,
            _text_or_none(data.get("excerpt")),
            bool(data.get("advisory")),
            _text_or_none(data.get("context")),
        )


def _text_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


class GapKind(enum.StrEnum):
    """Why part of an archive was not examined as the rules require."""

    TIME = "time"  # the scan's (or a YARA match's) time budget ran out
    SIZE = "size"  # a member or the archive is beyond the reader's size limits
    PARSE = "parse"  # code that the rules needed parsed was over the parse limits
    UNREADABLE = "unreadable"  # the archive or a member could not be read


#: Gaps that a scan with larger budgets may close (see :meth:`ScanConfig.scaled`).
RETRYABLE_GAPS = frozenset({GapKind.TIME, GapKind.PARSE})


@dataclass(frozen=True, slots=True)
class Gap:
    """Something the scan did not examine: the verdict was decided without it.

    A verdict is evidence found, not evidence of absence: a scan that ran out of time, or could
    not read or parse a file whose code runs on install or import, may have missed exactly what
    would have made it malicious. The upload pipeline therefore never publishes a file whose
    scan has a gap (:attr:`ScanResult.complete` is false), whatever its verdict.
    """

    kind: GapKind
    message: str
    file: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "message": self.message, "file": self.file}


@dataclass(slots=True)
class ScanResult:
    """A verdict, its score and evidence, and whether the scan looked at everything.

    ``gaps`` lists what was not examined (time, size, parse budget, unreadable members); the
    scan is ``complete`` only without any.
    """

    verdict: Verdict
    score: float
    findings: list[Finding] = field(default_factory=list)
    seconds: float = 0.0
    path: str | None = None
    gaps: list[Gap] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.gaps

    @property
    def retryable(self) -> bool:
        """Incomplete only for want of time or parse budget: larger budgets may complete it."""
        return bool(self.gaps) and all(g.kind in RETRYABLE_GAPS for g in self.gaps)

    def incomplete_reason(self) -> str:
        """One line for a moderator: what was not examined ('' for a complete scan)."""
        if not self.gaps:
            return ""
        first = self.gaps[0]
        where = f" ({first.file})" if first.file else ""
        more = f"; and {len(self.gaps) - 1} more" if len(self.gaps) > 1 else ""
        return f"{first.kind}: {first.message}{where}{more}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "verdict": str(self.verdict),
            "score": round(self.score, 1),
            "complete": self.complete,
            "gaps": [g.to_json() for g in self.gaps],
            "findings": [f.to_json() for f in self.findings],
            "seconds": round(self.seconds, 4),
        }


#: The score from which :func:`decide` calls an archive suspicious.
SUSPICIOUS_SCORE = 20.0


def _strongest(findings: Sequence[Finding]) -> dict[str, Finding]:
    """Each rule's first finding at its highest severity, advisories left out: what counts
    once per archive."""
    order = list(Severity)
    best: dict[str, Finding] = {}
    for f in findings:
        if f.advisory:
            continue
        cur = best.get(f.rule)
        if cur is None or order.index(f.severity) > order.index(cur.severity):
            best[f.rule] = f
    return best


def decide(findings: list[Finding]) -> tuple[Verdict, float]:
    """Turn evidence into a verdict and a 0-100 score.

    Rules already weigh context (where the code runs, what it is combined with) before they
    choose a severity, so the decision here is simple: any *high* finding makes the archive
    malicious; otherwise enough lesser evidence (one medium, or several lows) makes it
    suspicious. Advisory findings never count. Each rule id counts once per archive at its
    highest severity, so a repeated pattern in many files cannot add up to a verdict alone.
    """
    best = {rule: f.severity for rule, f in _strongest(findings).items()}
    score = min(100.0, sum(SEVERITY_POINTS[s] for s in best.values()))
    if Severity.HIGH in best.values():
        return Verdict.MALICIOUS, max(score, 60.0)
    if score >= SUSPICIOUS_SCORE:
        return Verdict.SUSPICIOUS, score
    return Verdict.CLEAN, score


def deciding(findings: Sequence[Finding]) -> list[Finding]:
    """The findings that made :func:`decide`'s verdict, most severe first.

    Malicious: the *high* findings (the first of each rule), any one of which is enough.
    Suspicious: the first finding of each rule at that rule's highest severity, those that
    added points to the score. Clean: none (what was found did not add up to a verdict).
    """
    order = list(Severity)
    verdict, _ = decide(list(findings))
    if verdict is Verdict.CLEAN:
        return []
    chosen = [f for f in _strongest(findings).values() if f.severity is not Severity.INFO]
    if verdict is Verdict.MALICIOUS:
        chosen = [f for f in chosen if f.severity is Severity.HIGH]
    return sorted(chosen, key=lambda f: -order.index(f.severity))
