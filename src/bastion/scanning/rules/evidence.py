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
    role: str  # setup | pth | init | module | test | data
    filetype: str  # python | pth | script | text | binary | other
    text: str | None = None  # decoded source, for excerpts (python, pth, script)
    py: PyFacts | None = None
    facts: dict[str, Where] = field(default_factory=dict)

    @property
    def context(self) -> str | None:
        """When this file's code runs, for its findings (its role as the rules weighed it)."""
        return context_for_role(self.role)

    def add(self, kind: str, line: int, detail: str) -> None:
        if kind not in self.facts:
            self.facts[kind] = Where(line, detail)

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
