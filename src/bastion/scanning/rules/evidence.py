"""Per-file evidence gathered by the engine and read by the rules."""

from __future__ import annotations

import bisect
import math
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
    _lines: list[str] | None = field(default=None, repr=False, compare=False)

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
        is none. This evidence keeps all its facts. ``ranges`` are sorted and disjoint."""
        outside = [f for f in self.log if f[1] > 1 and _range_of(f[1], ranges) is None]
        return self._child(role, outside) if outside else None

    def split_each(self, ranges: list[tuple[int, int, str]], role: str) -> list[FileEvidence]:
        """Move the facts found inside each of ``ranges`` (sorted and disjoint) to a new
        evidence of the same file with ``role``, one per range that holds any. Facts without
        a line (1 or 0: file-wide observations) stay."""
        inside: dict[int, list[tuple[str, int, str]]] = {}
        kept = []
        for fact in self.log:
            at = _range_of(fact[1], ranges) if fact[1] > 1 else None
            if at is None:
                kept.append(fact)
            else:
                inside.setdefault(at, []).append(fact)
        if not inside:
            return []
        self.log, self.facts = [], {}
        for kind, line, detail in kept:
            self.add(kind, line, detail)
        return [self._child(role, facts) for _, facts in sorted(inside.items())]

    def _child(self, role: str, facts: list[tuple[str, int, str]]) -> FileEvidence:
        other = FileEvidence(self.path, self.relpath, role, self.filetype, self.text, self.py)
        other._lines = self._text_lines()  # one split of a large file, shared
        for kind, line, detail in facts:
            other.add(kind, line, detail)
        return other

    def has(self, *kinds: str) -> bool:
        return any(k in self.facts for k in kinds)

    def where(self, *kinds: str) -> Where | None:
        for k in kinds:
            if k in self.facts:
                return self.facts[k]
        return None

    def _text_lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines() if self.text is not None else []
        return self._lines

    def excerpt(self, line: int) -> str | None:
        if self.text is None or line <= 0:
            return None
        lines = self._text_lines()
        if line > len(lines):
            return None
        text = " ".join(lines[line - 1].split())
        return text[:160] + ("..." if len(text) > 160 else "")


def _range_of(line: int, ranges: list[tuple[int, int, str]]) -> int | None:
    """The index of the range of sorted, disjoint ``ranges`` that holds ``line``."""
    at = bisect.bisect_right(ranges, (line, math.inf)) - 1
    return at if at >= 0 and ranges[at][0] <= line <= ranges[at][1] else None
