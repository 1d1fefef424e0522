"""Per-file evidence gathered by the engine and read by the rules."""

from __future__ import annotations

from dataclasses import dataclass, field

from bastion.scanning.result import context_for_role
from bastion.scanning.rules.pyfacts import PyFacts


@dataclass(frozen=True, slots=True)
class Where:
    line: int
    detail: str


@dataclass
class FileEvidence:
    """What is known about one member: its place (``role``), type and facts."""

    path: str  # as in the archive
    relpath: str  # without the sdist's top folder
    role: str  # setup | pth | init | module | called | test | aux | data
    filetype: str  # python | pth | script | text | binary | other
    text: str | None = None  # decoded source, for excerpts (python, pth, script)
    py: PyFacts | None = None
    facts: dict[str, Where] = field(default_factory=dict)
    # every fact in the order seen (``facts`` keeps the first of each kind): a file can be
    # split by line into what runs on import and what runs only when called
    log: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def context(self) -> str | None:
        """When this file's code runs, for its findings (its role as the rules weighed it)."""
        return context_for_role(self.role)

    def add(self, kind: str, line: int, detail: str) -> None:
        self.log.append((kind, line, detail))
        if kind not in self.facts:
            self.facts[kind] = Where(line, detail)

    def copy_outside(self, ranges: list[tuple[int, int, str]], role: str) -> FileEvidence | None:
        """A new evidence of the same file with ``role`` and the facts found outside
        ``ranges`` (with a line: file-wide observations stay with this one); None when there
        is none. This evidence keeps all its facts."""
        outside = [f for f in self.log if f[1] > 1 and not _within(f[1], ranges)]
        if not outside:
            return None
        other = FileEvidence(self.path, self.relpath, role, self.filetype, self.text, self.py)
        for kind, line, detail in outside:
            other.add(kind, line, detail)
        return other

    def split_off(self, ranges: list[tuple[int, int, str]], role: str) -> FileEvidence | None:
        """Move the facts found inside ``ranges`` to a new evidence of the same file with
        ``role``; None when no fact is there. Facts without a line (1 or 0: file-wide
        observations) stay."""
        inside = [f for f in self.log if f[1] > 1 and _within(f[1], ranges)]
        if not inside:
            return None
        other = FileEvidence(self.path, self.relpath, role, self.filetype, self.text, self.py)
        for kind, line, detail in inside:
            other.add(kind, line, detail)
        kept = [f for f in self.log if not (f[1] > 1 and _within(f[1], ranges))]
        self.log = []
        self.facts = {}
        for kind, line, detail in kept:
            self.add(kind, line, detail)
        return other

    def has(self, *kinds: str) -> bool:
        return any(k in self.facts for k in kinds)

    def where(self, *kinds: str) -> Where | None:
        for k in kinds:
            if k in self.facts:
                return self.facts[k]
        return None

    def excerpt(self, line: int) -> str | None:
        if self.text is None or line <= 0:
            return None
        lines = self.text.splitlines()
        if line > len(lines):
            return None
        text = " ".join(lines[line - 1].split())
        return text[:160] + ("..." if len(text) > 160 else "")


def _within(line: int, ranges: list[tuple[int, int, str]]) -> bool:
    return any(start <= line <= end for start, end, _ in ranges)
