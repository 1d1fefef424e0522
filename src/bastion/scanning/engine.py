"""Scan one archive: read it as data, gather evidence, weigh it, return a verdict."""

from __future__ import annotations

import ast
import dataclasses
import functools
import io
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from bastion.archives import Archive, ArchiveError, Member, Problem, open_archive
from bastion.scanning.config import DEFAULT_CONFIG, ScanConfig
from bastion.scanning.legacy_crypto import legacy_crypto_findings
from bastion.scanning.result import Finding, Gap, GapKind, ScanResult, Severity, decide
from bastion.scanning.rules import archive as archive_rules
from bastion.scanning.rules.combine import STEAL, python_findings
from bastion.scanning.rules.evidence import FileEvidence
from bastion.scanning.rules.pyfacts import analyse, role_of
from bastion.scanning.stream import (
    TOKEN_FACTS,
    Compactor,
    TokenHit,
    literal_pattern,
    pth_code_line,
    stream_archive_member,
)
from bastion.scanning.yara_rules import YaraHit, compiled_rules, match

PY_SUFFIXES = (".py", ".pyw", ".pyi")
SMALL_PACKAGE_FILES = 6
SCRIPT_SUFFIXES = (".sh", ".bash", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".hta", ".psm1")
LIBRARY_FACTS = (
    "browser",
    "discord-token",
    "wallet",
    "clipper",
    "revshell",
    "persistence",
    "webhook",
    "embedded-exe",
    "shell-download",
    "creds",
    "anti-analysis",
)
MODULE_LOADER_BYTES = literal_pattern(
    rb"zipimporter|FileLoader|load_compiled|load_source|spec_from_file_location|load_dynamic",
    b"zipimporter",
    b"FileLoader",
    b"load_compiled",
    b"load_source",
    b"spec_from_file_location",
    b"load_dynamic",
)
SHELL_IDENTITY_BYTES = literal_pattern(
    rb"\$\((?:whoami|hostname|id)\)|`(?:whoami|hostname|id)`|%(?:USERNAME|COMPUTERNAME|USERDOMAIN)%",
    b"whoami",
    b"hostname",
    b"$(id)",
    b"`id`",
    b"%USERNAME%",
    b"%COMPUTERNAME%",
    b"%USERDOMAIN%",
    prefixes=False,
)
# Python files with more code than this are parsed after all smaller ones: payloads are small,
# generated code is large, and the parse budget should reach the small files first.
DEFER_PARSE_BYTES = 256 * 1024
PRIVATE_IP = re.compile(
    rb"://(127\.|0\.0\.0\.0|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.)"
)


@dataclass
class ArchiveEvidence:
    """What a scan knew about an archive's members, kept for comparing two releases of a
    project (:mod:`bastion.scanning.diff`) without reading or parsing either a second time.

    ``files`` holds each member's evidence (its facts, and the parsed facts of the code the
    rules needed parsed); ``metadata`` the text of the members that declare dependencies and
    the build (PKG-INFO, METADATA, requires.txt, pyproject.toml) by path without the sdist's
    top folder.
    """

    is_wheel: bool = False
    files: list[FileEvidence] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


def scan_file(
    source: str | os.PathLike[str] | BinaryIO,
    filename: str | None = None,
    *,
    config: ScanConfig | None = None,
) -> ScanResult:
    """Scan one distribution file (a path or a seekable binary file object).

    Pure and thread-safe: nothing is written to disk, nothing from the archive is executed,
    and the only shared state is the per-process cache of compiled YARA rules.
    """
    return examine(source, filename, config=config)[0]


def examine(
    source: str | os.PathLike[str] | BinaryIO,
    filename: str | None = None,
    *,
    config: ScanConfig | None = None,
) -> tuple[ScanResult, ArchiveEvidence]:
    """:func:`scan_file`, with the evidence the verdict was made from (for the release diff)."""
    cfg = config or DEFAULT_CONFIG
    kept = ArchiveEvidence()
    started = time.perf_counter()
    if filename is None:
        filename = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<archive>"
    findings: list[Finding] = []
    gaps: list[Gap] = []
    try:
        rules = compiled_rules(cfg.rules_dir)
    except Exception as exc:  # a broken operator rule must not stop scanning
        rules = compiled_rules(None)
        findings.append(Finding("rules-error", Severity.LOW, f"Operator YARA rules ignored: {exc}"))
    try:
        archive = open_archive(source, cfg.limits)
    except (ArchiveError, OSError) as exc:
        # An archive bastion cannot parse, or a file it cannot open at all.
        what = "read as a wheel or sdist" if isinstance(exc, ArchiveError) else "read"
        findings.append(
            Finding(
                "archive-unreadable",
                Severity.MEDIUM,
                f"The file cannot be {what}: {exc}",
                os.path.basename(filename),
            )
        )
        subject = "archive" if isinstance(exc, ArchiveError) else "file"
        gaps.append(Gap(GapKind.UNREADABLE, f"the {subject} cannot be read: {exc}"))
        return _result(findings, started, filename, gaps), kept
    with archive:
        stored = _stored_size(source)
        expansion = sum(m.size for m in archive.members) / stored if stored else None
        findings.extend(
            _scan_archive(archive, filename, rules, cfg, started, gaps, kept, expansion)
        )
    return _result(findings, started, filename, gaps), kept


def _stored_size(source: str | os.PathLike[str] | BinaryIO) -> int | None:
    """The archive's own size in bytes, when it can be told without reading it."""
    try:
        if isinstance(source, (str, os.PathLike)):
            return os.path.getsize(source)
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
        return end
    except (OSError, ValueError, AttributeError):
        return None


def _result(findings: list[Finding], started: float, filename: str, gaps: list[Gap]) -> ScanResult:
    findings = _dedupe(findings)
    verdict, score = decide(findings)
    order = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2, Severity.INFO: 3}
    findings.sort(key=lambda f: (f.advisory, order[f.severity], f.file or "", f.line or 0))
    seen: set[tuple[GapKind, str | None]] = set()
    unique: list[Gap] = []
    for gap in gaps:
        if (gap.kind, gap.file) not in seen:
            seen.add((gap.kind, gap.file))
            unique.append(gap)
    return ScanResult(verdict, score, findings, time.perf_counter() - started, filename, unique)


# Reader problems that leave part of the archive unexamined.
PROBLEM_GAPS: dict[str, GapKind] = {
    "time-limit": GapKind.TIME,
    "member-too-large": GapKind.SIZE,
    "total-too-large": GapKind.SIZE,
    "too-many-members": GapKind.SIZE,
    "corrupt-member": GapKind.UNREADABLE,
    "encrypted": GapKind.UNREADABLE,
    "unsupported-compression": GapKind.UNREADABLE,
    # local headers and central directory disagree: what was scanned (zipfile's view) may not
    # be what an installer that reads the zip otherwise unpacks
    "zip-confusion": GapKind.UNREADABLE,
}


def _problem_gaps(problems: list[Problem]) -> list[Gap]:
    return [
        Gap(PROBLEM_GAPS[p.code], p.message, p.member) for p in problems if p.code in PROBLEM_GAPS
    ]


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, int | None]] = set()
    out: list[Finding] = []
    per_rule: dict[str, int] = {}
    for f in findings:
        key = (f.rule, f.file, f.line)
        if key in seen:
            continue
        seen.add(key)
        per_rule[f.rule] = per_rule.get(f.rule, 0) + 1
        if per_rule[f.rule] > 25:  # keep reports readable
            continue
        out.append(f)
    return out


def _strip_top(names: list[str]) -> str:
    tops = {n.split("/", 1)[0] for n in names if n}
    if len(tops) == 1:
        top = next(iter(tops))
        if any("/" in n for n in names):
            return top + "/"
    return ""


def _filetype(name: str, head: bytes) -> str:
    low = name.lower()
    if low.endswith(PY_SUFFIXES):
        return "python"
    if low.endswith(".pth"):
        return "pth"
    if low.endswith(SCRIPT_SUFFIXES):
        return "script"
    if head.startswith(b"#!") and b"python" in head[:80]:
        return "python"
    if head.startswith(b"#!"):
        return "script"
    if b"\x00" in head[:1024]:
        return "binary"
    return "text"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


ADDRESS_FACTS = frozenset({"url-oob", "url-paste", "url-tunnel", "url-ip", "webhook"})


def _on_comment_line(data: bytes, offset: int) -> bool:
    start = data.rfind(b"\n", 0, offset) + 1
    return data[start:offset].lstrip().startswith(b"#")


def _yara_facts(
    ev: FileEvidence,
    data: bytes,
    hits: list[YaraHit],
    out: list[Finding],
    line_offset: int = 0,
) -> bool:
    """Turn YARA hits into facts (and operator rules into findings); False when YARA gave up
    on these bytes (its time limit), which leaves them unexamined by the byte rules."""
    examined = True
    for hit in hits:
        fact = hit.meta.get("fact")
        if hit.rule == "yara-timeout":
            examined = False
            continue
        if not fact:  # an operator's rule: a finding in its own right
            sev_name = str(hit.meta.get("severity", "medium")).lower()
            sev = (
                Severity(sev_name) if sev_name in Severity.__members__.values() else Severity.MEDIUM
            )
            line = line_offset + _line_of(data, hit.offset) if ev.filetype != "binary" else None
            out.append(
                Finding(
                    f"yara:{hit.rule}",
                    sev,
                    str(hit.meta.get("description") or f"Matches YARA rule {hit.rule}."),
                    ev.path,
                    line,
                    ev.excerpt(line) if line else None,
                    context=ev.context,
                )
            )
            continue
        instances = hit.instances
        if fact == "url-ip":
            instances = tuple(i for i in instances if not PRIVATE_IP.search(i[1]))
        if ev.filetype in ("python", "pth") and fact not in ADDRESS_FACTS:
            # a match inside a comment line is text about code, not code that runs (an
            # address is evidence wherever it is written: it names someone's server)
            instances = tuple(i for i in instances if not _on_comment_line(data, i[0]))
        if not instances and hit.instances:
            continue
        offset = instances[0][0] if instances else 0
        detail = instances[0][1].decode("utf-8", "replace") if instances else ""
        ev.add(str(fact), line_offset + _line_of(data, offset), detail)
    return examined


def _worth_parsing(ev: FileEvidence, small: bool, data: bytes = b"") -> bool:
    """Library modules of larger packages are parsed only when their bytes could feed a rule
    that applies to library code (hints come from the YARA pass over the same bytes)."""
    if small or ev.role not in ("module", "test"):
        return True
    if ev.has(*LIBRARY_FACTS):
        return True
    if SHELL_IDENTITY_BYTES.search(data):  # a shell command naming the user or host
        return True
    if ev.role == "module" and MODULE_LOADER_BYTES.search(data):  # loads a file as code
        return True
    if ev.role == "test":  # tests, docs and examples do not run on install or import
        return False
    if ev.has("hint-exec", "hint-crypto"):
        return True
    return ev.has("hint-net") and ev.has("hint-proc")


@dataclass
class _Progress:
    """What one scan has spent and what it has not examined."""

    parse_left: int  # bytes of Python the archive may still have parsed
    deadline: float  # time.perf_counter() at which the scan stops
    gaps: list[Gap] = field(default_factory=list)
    # large files parsed after the loop over members, smallest first: (evidence, code, tokens)
    deferred: list[tuple[FileEvidence, bytes, list[TokenHit] | None]] = field(default_factory=list)
    deferred_bytes: int = 0
    out_of_time: bool = False
    small: bool = False  # a package whose modules all count as import-time code

    def time_gap(self, findings: list[Finding], where: str | None) -> None:
        if not self.out_of_time:
            self.out_of_time = True
            findings.append(
                Finding(
                    "scan-time-limit",
                    Severity.MEDIUM,
                    "The scan stopped before the end of the archive: it took longer than allowed.",
                    where,
                )
            )
        self.gaps.append(Gap(GapKind.TIME, "the scan's time budget ran out", where))


def _apply_tokens(
    ev: FileEvidence, tokens: list[TokenHit] | None, code: bytes | None, why: str
) -> None:
    """Token facts for code that is not parsed: from the whole-member stream when there was
    one, else from the bytes at hand."""
    if tokens is not None:
        for hit in tokens:
            ev.add(hit.kind, hit.line, f"{why} {hit.detail}")
    elif code is not None:
        _token_facts(ev, code, why)


def _examine_whole(
    ev: FileEvidence,
    archive: Archive,
    member: Member,
    head: bytes,
    rules: object,
    cfg: ScanConfig,
    small: bool,
    worth_parsing: Callable[[], bool],
    progress: _Progress,
    findings: list[Finding],
) -> tuple[bytes | None, list[TokenHit] | None, bool]:
    """Stream a code file larger than what was read or may be parsed, start to end.

    Returns its compacted code (comment-only and blank lines emptied; None when what remains
    is still over ``max_python_bytes``, when the member could not be read to its end, or when
    the rules do not need it parsed), the first hit of each token kind, and whether the member
    was read to its end (if not, the gap is recorded here). The YARA rules also see every
    chunk past the ``head`` the loop matched already.

    Compacting costs about as much as the rest of the pass, so a library module of a larger
    package, which is parsed only when its bytes show hints, is compacted in a second pass
    when the first one found them.
    """
    keep = pth_code_line if ev.filetype == "pth" else None
    compact_now = small or ev.role not in ("module", "test")
    compactor = Compactor(cfg.max_python_bytes, keep=keep) if compact_now else None
    yara_complete = True

    def on_chunk(offset: int, first_line: int, buffer: bytes) -> None:
        nonlocal yara_complete
        if offset + len(buffer) > len(head):
            hits = match(rules, buffer)
            yara_complete &= _yara_facts(ev, buffer, hits, findings, first_line - 1)

    if member.size <= len(head):  # read whole already: compact it without reading again
        if not (compact_now or worth_parsing()):
            return None, [], True  # neither parsed nor searched: the rules do not need it
        tokens: list[TokenHit] = []
        for kind, pattern in TOKEN_FACTS:
            m = pattern.search(head)
            if m:
                tokens.append(TokenHit(kind, _line_of(head, m.start()), m.group().decode()))
        compactor = Compactor(cfg.max_python_bytes, keep=keep)
        compactor.feed(head)
        return compactor.close(), tokens, True
    streamed = stream_archive_member(
        archive,
        member.name,
        compactor=compactor,
        deadline=progress.deadline,
        on_chunk=on_chunk,
        tokens=compact_now,  # a module not compacted now gets its tokens with its compaction
    )
    if streamed.error is not None:
        findings.append(
            Finding(
                "archive-corrupt-member",
                Severity.MEDIUM,
                f"A member cannot be read to its end: {streamed.error}",
                member.name,
            )
        )
        progress.gaps.append(
            Gap(GapKind.UNREADABLE, f"cannot be read to its end ({streamed.error})", member.name)
        )
    if streamed.out_of_time:
        progress.time_gap(findings, member.name)
    if streamed.too_large:
        progress.gaps.append(
            Gap(GapKind.SIZE, "read up to the member size limit only", member.name)
        )
    if not yara_complete:
        progress.gaps.append(Gap(GapKind.TIME, "the byte rules timed out", member.name))
    read_whole = not (streamed.error or streamed.out_of_time or streamed.too_large)
    code, tokens = streamed.code, streamed.tokens
    if read_whole and compactor is None and worth_parsing():
        again = stream_archive_member(
            archive,
            member.name,
            compactor=Compactor(cfg.max_python_bytes, keep=keep),
            deadline=progress.deadline,
        )
        if again.out_of_time:
            progress.time_gap(findings, member.name)
        elif again.error or again.too_large:  # it was read whole a moment ago
            progress.gaps.append(
                Gap(GapKind.UNREADABLE, "cannot be read a second time", member.name)
            )
        code, tokens = again.code, again.tokens
        read_whole = not (again.error or again.out_of_time or again.too_large)
    return code, tokens, read_whole


def _python_evidence(
    ev: FileEvidence,
    code: bytes | None,
    tokens: list[TokenHit] | None,
    data: bytes,
    worth_parsing: bool,
    cfg: ScanConfig,
    progress: _Progress,
    findings: list[Finding],
) -> None:
    """Parse a Python file if the rules need it, within the archive's parse budget.

    ``code`` is what to parse (the file, or its compacted code when it was streamed; None
    when even that is over ``max_python_bytes``), ``tokens`` the stream's token hits and
    ``data`` the head the byte rules saw; ``worth_parsing`` says whether the rules need it
    parsed. A file the rules need parsed that cannot be (too large, or the budget is spent)
    is searched for tokens instead, and leaves a gap.
    """
    if not worth_parsing:
        return
    if code is None:
        _apply_tokens(ev, tokens, data, "(too large to parse)")
        _parse_gap(
            ev,
            findings,
            progress,
            f"more than {cfg.max_python_bytes} bytes of code once comments and blank "
            "lines are left out",
        )
        return
    if len(code) > DEFER_PARSE_BYTES:
        if progress.deferred_bytes + len(code) <= progress.parse_left:
            progress.deferred.append((ev, code, tokens))
            progress.deferred_bytes += len(code)
            return
        _apply_tokens(ev, tokens, code, "(not parsed: parse budget spent)")
        _parse_gap(ev, findings, progress, "the archive's parse budget was spent")
        return
    _parse(ev, code, tokens, progress, findings)


def _parse_gap(ev: FileEvidence, findings: list[Finding], progress: _Progress, why: str) -> None:
    findings.append(
        Finding(
            "unparsed-code",
            Severity.INFO,
            f"Not parsed ({why}): searched for tokens and byte patterns only.",
            ev.path,
            context=ev.context,
        )
    )
    progress.gaps.append(Gap(GapKind.PARSE, f"not parsed: {why}", ev.path))


def _parse(
    ev: FileEvidence,
    code: bytes,
    tokens: list[TokenHit] | None,
    progress: _Progress,
    findings: list[Finding],
) -> None:
    if len(code) > progress.parse_left:
        _apply_tokens(ev, tokens, code, "(not parsed: parse budget spent)")
        _parse_gap(ev, findings, progress, "the archive's parse budget was spent")
        return
    progress.parse_left -= len(code)
    # only import-time modules are split into what an import runs and what it does not
    py = analyse(code, ev.path, reach=ev.role == "init" or progress.small)
    ev.py = py
    if py.syntax_error is not None:
        _apply_tokens(ev, tokens, code, "(file does not parse)")
    for fact in py.facts:
        ev.add(fact.kind, fact.line, fact.detail)
    if py.install_overrides:
        name, line = py.install_overrides[0]
        ev.add("install-override", line, name)
    if py.identifiers >= 20 and py.obfuscated_identifiers / py.identifiers > 0.3:
        ev.add("obf-names", 1, f"{py.obfuscated_identifiers} of {py.identifiers} names")
    for line, length, entropy in py.long_strings:
        if length >= 2000 and (entropy >= 5.0 or 3.5 <= entropy <= 4.1):
            ev.add("blob", line, f"{length} characters, entropy {entropy:.1f}")
            break


def _payload_facts(ev: FileEvidence, rules: object) -> None:
    """Byte rules over what the analyser decoded statically from the file's literals."""
    if ev.py is None:
        return
    for line, payload in ev.py.payloads:
        for hit in match(rules, payload):
            fact = hit.meta.get("fact")
            if fact and not (
                fact == "url-ip" and all(PRIVATE_IP.search(i[1]) for i in hit.instances)
            ):
                ev.add(str(fact), line, "in decoded data: " + hit.rule)


def _parse_deferred(
    progress: _Progress, rules: object, findings: list[Finding], held_already: bool
) -> None:
    """Parse the large files left for last, smallest first, while budget and time allow."""
    for ev, code, tokens in sorted(progress.deferred, key=lambda item: len(item[1])):
        if held_already:
            _apply_tokens(ev, tokens, code, "(not parsed: the file is held already)")
            _parse_gap(ev, findings, progress, "the evidence found already holds the file")
            continue
        if progress.out_of_time or time.perf_counter() > progress.deadline:
            _apply_tokens(ev, tokens, code, "(not parsed: out of time)")
            progress.time_gap(findings, ev.path)
            continue
        _parse(ev, code, tokens, progress, findings)
        _payload_facts(ev, rules)
    progress.deferred = []


def _scan_archive(
    archive: Archive,
    filename: str,
    rules: object,
    cfg: ScanConfig,
    started: float,
    gaps: list[Gap],
    kept: ArchiveEvidence | None = None,
    expansion: float | None = None,
) -> list[Finding]:
    findings = archive_rules.problem_findings(archive.problems, expansion)
    n_problems = len(archive.problems)
    is_wheel = filename.lower().endswith(".whl") or any(
        m.name.endswith(".dist-info/WHEEL") for m in archive.members
    )
    prefix = _strip_top(archive.names)
    progress = _Progress(parse_left=cfg.max_parse_bytes, deadline=started + cfg.max_seconds)
    library_files = sum(
        1
        for m in archive.members
        if m.name.endswith(PY_SUFFIXES)
        and role_of(m.name[len(prefix) :] if prefix else m.name, is_wheel) in ("module", "init")
    )
    small = 0 < library_files <= SMALL_PACKAGE_FILES
    progress.small = small
    evidence: list[FileEvidence] = []
    binaries: list[str] = []
    metadata_text: list[str] = []
    build_text: list[str] = []  # setup.py, pyproject.toml, setup.cfg: what the sdist installs
    wheel_text = ""
    code_bytes = 0  # what the package's own library modules hold, comments and blanks aside
    for member, data in archive.iter_files(cfg.max_file_bytes):
        if time.perf_counter() > progress.deadline:
            progress.time_gap(findings, member.name)
            break
        rel = _rel(member.name, prefix)
        head = data[:1024]
        member_out, bkind = archive_rules.member_findings(member, head, is_wheel)
        findings.extend(member_out)
        if bkind:
            binaries.append(member.name)
        ftype = "binary" if bkind else _filetype(member.name, head)
        base = rel.rsplit("/", 1)[-1]
        if base in ("PKG-INFO", "METADATA", "requires.txt") and len(data) < 200_000:
            metadata_text.append(data.decode("utf-8", "replace"))
            if kept is not None:
                kept.metadata[rel] = metadata_text[-1]
        elif kept is not None and rel == "pyproject.toml" and len(data) < 200_000:
            kept.metadata[rel] = data.decode("utf-8", "replace")
        if rel in BUILD_FILES and len(data) < 1_000_000:
            text = data.decode("utf-8", "replace")
            build_text.append(_wheel_config(text) if rel == "pyproject.toml" else text)
        if base == "entry_points.txt" and len(data) < 200_000:
            metadata_text.append(data.decode("utf-8", "replace"))
        if is_wheel and base == "WHEEL" and rel.count("/") == 1 and len(data) < 10_000:
            wheel_text = data.decode("utf-8", "replace")
        role = (
            role_of(rel, is_wheel)
            if ftype in ("python", "pth")
            else ("test" if role_of(rel) == "test" else "data")
        )
        ev = FileEvidence(member.name, rel, role, ftype)
        if (
            code_bytes < NO_CODE_BYTES
            and role != "test"
            and (
                (ftype == "python" and role in ("module", "init"))
                or rel.lower().endswith(NATIVE_SOURCES)
            )
        ):
            code_bytes += _code_size(data)
        if ftype in ("python", "pth", "script"):
            ev.text = data[: cfg.max_python_bytes].decode("utf-8", "replace")
        hits = match(rules, data) if ftype != "binary" else []
        if not _yara_facts(ev, data, hits, findings):
            progress.gaps.append(Gap(GapKind.TIME, "the byte rules timed out", member.name))
        if ftype in ("python", "pth"):
            # Code that runs on install or import is examined whatever its size: a file larger
            # than what was read, or than may be parsed, is streamed to its end.
            code: bytes | None = data
            tokens: list[TokenHit] | None = None
            read_whole = True
            # asked once the byte rules have seen the whole file (its hints decide)
            worth = functools.cache(lambda ev=ev, data=data: _worth_parsing(ev, small, data))
            if member.size > len(data) or len(data) > cfg.max_python_bytes:
                code, tokens, read_whole = _examine_whole(
                    ev, archive, member, data, rules, cfg, small, worth, progress, findings
                )
                if code is not None:  # its lines are the file's: excerpts stay right
                    ev.text = code.decode("utf-8", "replace")
            if not read_whole:  # the gap is recorded; what was read gave its tokens
                _apply_tokens(ev, tokens, None, "(not read to its end)")
                if ftype == "pth":
                    ev.add("pth-import", 1, "(not read to its end)")
            elif ftype == "python":
                _python_evidence(ev, code, tokens, data, worth(), cfg, progress, findings)
                _payload_facts(ev, rules)
            else:
                _pth_evidence(ev, code, tokens, cfg, progress, findings)
                _payload_facts(ev, rules)
        evidence.append(ev)
    if progress.deferred:
        # Parsing megabytes of deferred code costs seconds; once the evidence holds the file
        # anyway, that time buys a moderator nothing (smaller files are parsed for the record).
        costly = progress.deferred_bytes > cfg.max_python_bytes
        _parse_deferred(
            progress, rules, findings, held_already=costly and _holds(findings, evidence)
        )
    gaps.extend(progress.gaps)
    # In a package with very little code, every module is close to the surface: entry points
    # and the package's own imports reach it directly, and there is no large legitimate code
    # base to explain a behaviour. Such modules are weighed like import-time code.
    setup = next((e for e in evidence if e.role == "setup"), None)
    if small and setup is not None and setup.text and setup.has("proc", "exec", "exec-file"):
        for e in evidence:
            base = e.relpath.rsplit("/", 1)[-1]
            if (
                e.filetype == "python"
                and e.role != "setup"
                and base != "__init__.py"
                and base in setup.text
            ):
                e.role = "setup"
    if small:
        for e in evidence:
            if e.filetype == "python" and e.role == "module":
                e.role = "init"
    if not is_wheel:
        _mark_not_installed(evidence, [_rel(m.name, prefix) for m in archive.members], build_text)
    commands = _entry_point_functions([*build_text, *metadata_text])
    for e in evidence:  # what setup.py calls runs at install time, wherever it is defined
        if e.role == "setup" and e.py is not None:
            commands.update(q.rsplit(".", 1)[-1] for q in e.py.calls)
    for ev in list(evidence):
        # A library module's own statements run when the package imports the module: what
        # they do is weighed again, as import-time code (role "body"); the module as a whole
        # keeps the library weighing.
        if (
            ev.filetype == "python"
            and ev.role == "module"
            and ev.py is not None
            and ev.py.syntax_error is None  # unparsed: its lines cannot be placed
        ):
            body = ev.copy_outside(ev.py.defined, "body")
            if body is not None:
                evidence.append(body)
    for ev in list(evidence):
        # an imported module's functions run when called, not on import; a function that an
        # entry point names runs whenever its command does, so it stays with the import
        if ev.filetype == "python" and ev.role == "init" and ev.py is not None and ev.py.deferred:
            # each function on its own: what it combines is what it does when called
            ranges = [r for r in ev.py.deferred if r[2] not in commands]
            evidence.extend(ev.split_each(ranges, "called"))
    if len(archive.problems) > n_problems:  # time-limit or unreadable members found while reading
        findings.extend(archive_rules.problem_findings(archive.problems[n_problems:], expansion))
    gaps.extend(_problem_gaps(archive.problems))

    for ev in evidence:
        if ev.filetype in ("python", "pth"):
            findings.extend(_in_context(ev, python_findings(ev)))
            if ev.py is not None:
                findings.extend(
                    _in_context(ev, legacy_crypto_findings(ev.py, ev.path, metadata_text))
                )
        elif ev.filetype == "script" and ev.has("shell-download", "revshell", "persistence"):
            w = ev.where("shell-download", "revshell", "persistence")
            findings.append(
                Finding(
                    "script-dropper",
                    Severity.MEDIUM if ev.role not in ("test", "aux") else Severity.LOW,
                    "A shell or batch script downloads and runs something, opens a shell or "
                    "installs itself to start with the system.",
                    ev.path,
                    w.line if w else None,
                    ev.excerpt(w.line) if w else None,
                    context=ev.context,
                )
            )
        elif ev.has("webhook") and ev.role not in ("test", "aux"):
            w = ev.where("webhook")
            findings.append(
                Finding(
                    "hardcoded-webhook",
                    Severity.MEDIUM,
                    "Contains a Discord webhook or Telegram bot token.",
                    ev.path,
                    w.line if w else None,
                    w.detail[:120] if w else None,
                    context=ev.context,
                )
            )
    findings.extend(_archive_level(evidence, binaries, is_wheel, small))
    findings.extend(_placeholder_findings(evidence, code_bytes < NO_CODE_BYTES))
    findings.extend(_stdlib_lookalike_imports(evidence))
    if is_wheel and binaries and _pure_wheel(wheel_text):
        findings.extend(_pure_wheel_extension(evidence, binaries))
    if kept is not None:
        kept.is_wheel = is_wheel
        kept.files = evidence
    return findings


BUILD_FILES = frozenset({"setup.py", "pyproject.toml", "setup.cfg"})


ENTRY_POINT = re.compile(r"=\s*['\"]?\s*[A-Za-z_][\w.]*\s*:\s*([A-Za-z_][\w.]*)")


def _entry_point_functions(texts: list[str]) -> set[str]:
    """Function names that entry points (console scripts, plugins) name: ``module:function``."""
    return {m.rsplit(".", 1)[-1] for text in texts for m in ENTRY_POINT.findall(text)}


def _rel(name: str, prefix: str) -> str:
    return name[len(prefix) :] if prefix and name.startswith(prefix) else name


def _mark_not_installed(
    evidence: list[FileEvidence], names: list[str], build_text: list[str]
) -> None:
    """Mark the sdist's Python files that installing it does not install as ``aux``.

    An sdist carries more than its package: CI scripts, maintainers' update scripts, vendored
    test suites. Installing builds a wheel of the packages (folders with ``__init__.py``, and
    what the build files name) and runs setup.py; the rest is never imported or run, so what
    such a file does is weighed like tests and docs. A file that setup.py or the build
    configuration names (a module, a folder, an ``exec(open(...))``) is not marked: it may be
    installed or run while installing.
    """
    if not build_text:
        return  # nothing says what is installed: keep every file as installed
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    build = _build_names("\n".join(build_text))
    for ev in evidence:
        if ev.filetype != "python" or ev.role not in ("module", "init"):
            continue
        parts = ev.relpath.split("/")
        folders = parts[:-1]
        if any(p.startswith(".") for p in folders):
            ev.role = "aux"  # .github, .evergreen, .ci: never part of a package
            continue
        # the folder or one above it is a package (a set look-up per level, not a scan of
        # every package per file: an sdist may hold 20,000 members)
        if any("/".join(folders[:depth]) in packages for depth in range(1, len(folders) + 1)):
            continue
        stem = parts[-1].rsplit(".", 1)[0]
        named = [stem, *(f for f in folders if f not in ("src", "lib"))]
        if any(n in build for n in named):
            continue
        ev.role = "aux"


def _in_context(ev: FileEvidence, findings: list[Finding]) -> list[Finding]:
    """``findings`` about ``ev``'s code, each saying when that code runs (the rules that build
    a finding without their file's evidence at hand leave it to this)."""
    return [
        f if f.context is not None else dataclasses.replace(f, context=ev.context) for f in findings
    ]


# The pyproject.toml tables that say what a wheel holds; the rest is tooling (linters, test
# runners, the sdist's own extra files) and names folders that are never installed.
WHEEL_TABLES = (
    ("project",),
    ("tool", "setuptools"),
    ("tool", "hatch", "build"),
    ("tool", "flit"),
    ("tool", "poetry", "packages"),
    ("tool", "poetry", "scripts"),
    ("tool", "pdm", "build"),
    ("tool", "maturin"),
    ("tool", "scikit-build"),
)
SDIST_ONLY_KEYS = frozenset({"sdist", "source-includes", "exclude", "excludes", "readme"})


def _wheel_config(text: str) -> str:
    """The strings of pyproject.toml's packaging tables, one per line ('' if it does not
    parse): what the build installs, without what only the sdist carries."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return ""
    out: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            out.append(f'"{value}"')
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in SDIST_ONLY_KEYS:
                    if "/" in key or key.endswith(".py"):  # force-include = {"src/x" = "x"}
                        out.append(f'"{key}"')
                    walk(item)

    for path in WHEEL_TABLES:
        node: object = doc
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        walk(node)
    return "\n".join(out)


def _build_names(build: str) -> frozenset[str]:
    """The module and folder names the build files name, read in one pass: in a string
    (``py_modules=["x"]``, ``packages = ["src/x"]``, ``open("tools/x.py")``: a name after a
    quote or slash, ending at a quote, slash or dot) or an import (setup.py importing a helper
    runs it). A bare word (``[project.scripts]``) names nothing."""
    names: set[str] = set()
    for m in BUILD_STRING_PART.finditer(build):
        part, after = m.group(1), build[m.end() : m.end() + 1]
        if after and after in "\"'/":
            names.add(part)
        names.update(part[:i] for i, c in enumerate(part) if c == ".")
    for m in BUILD_IMPORT.finditer(build):
        dotted = m.group(1)
        names.update(dotted[:i] for i, c in enumerate(dotted) if c == ".")
        names.add(dotted)
    return frozenset(names)


BUILD_STRING_PART = re.compile(r"[\"'/]([^\"'/\s]*)")
BUILD_IMPORT = re.compile(r"(?:^|\s)(?:import|from)\s+([\w.]+)", re.M)


def _holds(findings: list[Finding], evidence: list[FileEvidence]) -> bool:
    """Whether the evidence gathered so far already makes the archive malicious (held)."""
    if any(f.severity is Severity.HIGH and not f.advisory for f in findings):
        return True
    return any(
        f.severity is Severity.HIGH
        for ev in evidence
        if ev.filetype in ("python", "pth")
        for f in python_findings(ev)
    )


NO_CODE_BYTES = 200
# sources of compiled code: a package built from them has code even without Python modules
NATIVE_SOURCES = (
    ".c",
    ".cc",
    ".cpp",
    ".cxx",
    ".h",
    ".hpp",
    ".pyx",
    ".pxd",
    ".rs",
    ".go",
    ".f",
    ".f90",
    ".zig",
)
COMMENT_LINE = re.compile(rb"^\s*(#.*)?$", re.MULTILINE)


def _code_size(data: bytes) -> int:
    """Bytes of a Python file that are not blank lines or comments."""
    return len(COMMENT_LINE.sub(b"", data[:64_000]).strip())


def _placeholder_findings(evidence: list[FileEvidence], no_code: bool) -> list[Finding]:
    """A package with no code of its own whose setup.py is all it does.

    Such a package gives nothing to whoever installs it: it exists to hold a name (dependency
    confusion, typosquatting) and, when its install hook runs a program or the installation is
    made to fail, to act on the machine that resolved the name.
    """
    setup = next((e for e in evidence if e.role == "setup" and e.filetype == "python"), None)
    if not no_code or setup is None:
        return []
    out: list[Finding] = []
    w = setup.where("install-hook-proc")
    if w is not None:
        out.append(
            Finding(
                "install-hook-without-code",
                Severity.HIGH,
                "A package with no code of its own starts a program from its install command: "
                "installing it is all it is for.",
                setup.path,
                w.line,
                setup.excerpt(w.line),
                context=setup.context,
            )
        )
    w = setup.where("blocks-install")
    if w is not None:
        out.append(
            Finding(
                "name-placeholder",
                Severity.HIGH,
                "A package with no code whose setup.py lets the archive be built but makes every "
                "installation fail: a placeholder that holds a name (dependency confusion).",
                setup.path,
                w.line,
                setup.excerpt(w.line) or w.detail[:160],
                context=setup.context,
            )
        )
    return out


# Python 2's standard library, still imported by code that supports both
PY2_STDLIB = frozenset(
    {
        "Queue",
        "urllib2",
        "ConfigParser",
        "commands",
        "sets",
        "httplib",
        "urlparse",
        "cPickle",
        "StringIO",
        "cStringIO",
        "HTMLParser",
        "cookielib",
        "Tkinter",
        "thread",
        "exceptions",
        "md5",
        "sha",
        "SocketServer",
        "BaseHTTPServer",
        "SimpleHTTPServer",
        "xmlrpclib",
        "htmlentitydefs",
        "robotparser",
        "dummy_thread",
        "copy_reg",
        "repr",
        "anydbm",
        "whichdb",
    }
)
STDLIB_NAMES = frozenset(sys.stdlib_module_names) | PY2_STDLIB
# what a typo of a standard module looks like: socket -> sockets, subprocesss, subporcess
LOOKALIKE_TARGETS = tuple(
    sorted(
        n
        for n in sys.stdlib_module_names
        if not n.startswith("_") and len(n) >= 4 and n not in ("test", "this", "antigravity")
    )
)


def stdlib_lookalike(name: str) -> str | None:
    """The standard-library module ``name`` imitates (one letter added, doubled or swapped)."""
    if name in STDLIB_NAMES or name.lower() in STDLIB_NAMES or not name.isalpha():
        return None
    low = name.lower()
    for target in LOOKALIKE_TARGETS:
        if len(low) == len(target) + 1 and (
            low == target + "s"
            or any(low == target[:i] + target[i] + target[i:] for i in range(len(target)))
        ):
            return target
        if (
            len(low) == len(target)
            and low != target
            and any(
                low == target[:i] + target[i + 1] + target[i] + target[i + 2 :]
                for i in range(len(target) - 1)
            )
        ):
            return target
    return None


def _stdlib_lookalike_imports(evidence: list[FileEvidence]) -> list[Finding]:
    """Code that imports a look-alike of a standard-library module the archive does not hold.

    Nothing needs to install ``sockets`` or ``subprocesss``: such a name is a typosquat whose
    package carries the payload, pulled in as a dependency or by the victim's own typo.
    """
    own: set[str] = set()
    for e in evidence:
        parts = e.relpath.split("/")
        own.update(p.split(".", 1)[0] for p in parts)
    for e in evidence:
        if e.py is None or e.role not in ("setup", "init", "pth", "module"):
            continue
        for imported in sorted(e.py.imports):
            top = imported.split(".", 1)[0]
            if top in own:
                continue
            target = stdlib_lookalike(top)
            if target is None:
                continue
            line = None
            if e.text:
                m = re.search(rf"(?m)^\s*(?:import|from)\s+{re.escape(top)}\b", e.text)
                line = e.text.count("\n", 0, m.start()) + 1 if m else None
            return [
                Finding(
                    "stdlib-lookalike-import",
                    Severity.HIGH if e.role != "module" else Severity.MEDIUM,
                    f"Imports {top!r}, a look-alike of the standard library's {target!r} that the "
                    "package does not contain: a typosquatted package carries the code.",
                    e.path,
                    line,
                    e.excerpt(line) if line else None,
                    context=e.context,
                )
            ]
    return []


def _pure_wheel(wheel_text: str) -> bool:
    """The WHEEL file declares a pure-Python wheel (no compiled code)."""
    tags = re.findall(r"(?m)^Tag:\s*(\S+)", wheel_text)
    return bool(tags) and all(t.endswith("-none-any") for t in tags)


def _pure_wheel_extension(evidence: list[FileEvidence], binaries: list[str]) -> list[Finding]:
    """A wheel tagged as pure Python that imports a compiled extension on import.

    Build tools tag a wheel with compiled modules for its platform; one slipped into a
    ``py3-none-any`` wheel was put there by hand, and importing it runs native code nobody can
    review.
    """
    for b in binaries:
        base = b.rsplit("/", 1)[-1]
        if not base.endswith((".so", ".pyd")):
            continue
        stem = re.escape(base.split(".", 1)[0])
        pattern = re.compile(
            rf"\bfrom\s+[\w.]*\.{stem}\s+import\b|\bimport\s+[\w.]+\.{stem}\b"
            rf"|\bfrom\s+[\w.]*\s+import\s+(?:\(\s*)?{stem}\b"
        )
        for e in evidence:
            if e.role != "init" or not e.text:
                continue
            m = pattern.search(e.text)
            if m:
                line = e.text.count("\n", 0, m.start()) + 1
                return [
                    Finding(
                        "pure-wheel-extension",
                        Severity.HIGH,
                        f"The wheel is tagged as pure Python but ships a compiled module ({base}) "
                        "that the package imports as soon as it is imported.",
                        e.path,
                        line,
                        e.excerpt(line),
                        context=e.context,
                    )
                ]
    return []


def _token_facts(ev: FileEvidence, data: bytes, why: str = "(file does not parse)") -> None:
    """Facts for code that is not parsed (Python 2, deliberate breakage, over the parse
    limits): a search for tokens (:data:`~bastion.scanning.stream.TOKEN_FACTS`)."""
    for kind, pattern in TOKEN_FACTS:
        m = pattern.search(data)
        if m:
            ev.add(kind, _line_of(data, m.start()), f"{why} {m.group().decode()}")


def _pth_evidence(
    ev: FileEvidence,
    code: bytes | None,
    tokens: list[TokenHit] | None,
    cfg: ScanConfig,
    progress: _Progress,
    findings: list[Finding],
) -> None:
    """A .pth file: its ``import`` lines run every time Python starts.

    ``code`` is the file (or, when it was streamed, its ``import`` lines in place); None when
    those lines are more than ``max_python_bytes``, which leaves them to the token search.
    """
    if code is None:
        ev.add("pth-import", 1, "(import lines too large to parse)")
        _apply_tokens(ev, tokens, None, "(too large to parse)")
        _parse_gap(
            ev, findings, progress, f"more than {cfg.max_python_bytes} bytes of import lines"
        )
        return
    text = code[: cfg.max_python_bytes].decode("utf-8", "replace")
    lines = [line for line in text.splitlines() if line.startswith(("import ", "import\t"))]
    code_text = "\n".join(lines)
    if not code_text:
        return
    ev.add("pth-import", 1, lines[0][:160])
    hook = _opt_in_hook(code_text)
    if hook is not None:
        ev.add("pth-opt-in", 1, hook)
        return
    py = analyse(code_text.encode(), ev.path)
    ev.py = py
    for fact in py.facts:
        ev.add(fact.kind, fact.line, fact.detail)
    if re.search(r"exec|eval|b64decode|compile|urlopen|subprocess|system\(", code_text):
        ev.add("exec", 1, "executable .pth line")


PTH_RUNNERS = frozenset({"exec", "eval"})
PTH_IMPORTERS = frozenset({"__import__", "importlib.import_module", "import_module"})


def _opt_in_hook(code: str) -> str | None:
    """The environment variable of a .pth start-up hook that only imports the package's own
    module when a variable named after that module is set (coverage measures subprocesses,
    coloredlogs installs itself, this way); None for anything else.

    What the hook runs is written in the file (strings, not decoded data), does nothing but
    import and call, and is opt-in: a variable that every machine sets (HOME, PATH) is no
    opt-in, so the variable must carry the imported module's name.
    """
    try:
        tree = ast.parse(code)
        trees = [tree]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in PTH_RUNNERS:
                arg = node.args[0] if node.args else None
                if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                    return None
                trees.append(ast.parse(arg.value))
    except (SyntaxError, ValueError, RecursionError):
        return None
    modules: set[str] = set()
    variables: set[str] = set()
    for sub_tree in trees:
        # the strings it runs are parsed here: "code kept in a string" is what is looked at
        facts = analyse(ast.unparse(sub_tree).encode()).kinds() - {"exec", "embedded-code"}
        if facts:
            return None
        for node in ast.walk(sub_tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom):
                    names.append(node.module or "")
                modules.update(n.split(".")[0] for n in names)
            elif isinstance(node, ast.Call):
                fn = ast.unparse(node.func)
                first = node.args[0] if node.args else None
                text = first.value if isinstance(first, ast.Constant) else None
                if not isinstance(text, str):
                    continue
                if fn in PTH_IMPORTERS:
                    modules.add(text.split(".")[0])
                elif fn.endswith(("environ.get", "getenv")):
                    variables.add(text)
            elif isinstance(node, ast.Subscript | ast.Compare):
                # os.environ["X"], "X" in os.environ
                key, holder = (
                    (node.slice, node.value)
                    if isinstance(node, ast.Subscript)
                    else (node.left, node.comparators[0])
                )
                if (
                    ast.unparse(holder).endswith("environ")
                    and isinstance(key, ast.Constant)
                    and isinstance(key.value, str)
                ):
                    variables.add(key.value)
    modules -= {"os", "sys", ""}
    for variable in sorted(variables):
        words = {w for w in variable.lower().split("_") if len(w) >= 4}
        if modules and any(m.lower().replace("_", "") in words for m in modules):
            return variable
    return None


def _archive_level(
    evidence: list[FileEvidence], binaries: list[str], is_wheel: bool, small: bool
) -> list[Finding]:
    """Combinations split across files (a small package's payload often is)."""
    out: list[Finding] = []
    code = [
        e for e in evidence if e.filetype in ("python", "pth") and e.role not in ("test", "aux")
    ]
    active = [e for e in code if e.role in ("setup", "init", "pth")]

    def first(kinds: tuple[str, ...], among: list[FileEvidence]) -> FileEvidence | None:
        return next((e for e in among if e.has(*kinds)), None)

    steal_ev = first(STEAL, code)
    dest_ev = first(("webhook", "url-oob", "url-paste", "url-tunnel"), code)
    if small and steal_ev and dest_ev and steal_ev is not dest_ev:
        w = steal_ev.where(*STEAL)
        out.append(
            Finding(
                "credential-theft",
                Severity.HIGH,
                "One file reads browser, wallet or chat-app secrets and another holds a throw-away "
                f"destination ({dest_ev.path}).",
                steal_ev.path,
                w.line if w else None,
                steal_ev.excerpt(w.line) if w else None,
                context=steal_ev.context,
            )
        )
    if binaries and not is_wheel:
        runner = first(("proc",), active)
        if runner is not None:
            names = {b.rsplit("/", 1)[-1] for b in binaries}
            text = runner.text or ""
            if any(n and n in text for n in names):
                w = runner.where("proc")
                out.append(
                    Finding(
                        "runs-bundled-binary",
                        Severity.HIGH,
                        "Install- or import-time code starts a prebuilt executable shipped in the "
                        "archive.",
                        runner.path,
                        w.line if w else None,
                        runner.excerpt(w.line) if w else None,
                        context=runner.context,
                    )
                )
    if binaries and not is_wheel:
        # an sdist carries sources; a prebuilt extension module that the package imports as
        # soon as it is imported is code nobody can review, run on every import
        for b in binaries:
            base = b.rsplit("/", 1)[-1]
            if not base.endswith((".so", ".pyd")):
                continue
            raw_stem = base.split(".", 1)[0]
            if any(
                e.path.rsplit("/", 1)[-1].split(".", 1)[0] == raw_stem
                and e.path.endswith((".c", ".cpp", ".pyx", ".rs", ".cc", ".py"))
                for e in evidence
            ):
                continue  # its source is in the archive: a build left-over, reviewable
            stem = re.escape(raw_stem)
            pattern = re.compile(
                rf"\bfrom\s+[\w.]*\.{stem}\s+import\b|\bimport\s+[\w.]+\.{stem}\b"
                rf"|\bfrom\s+\.\s+import\s+{stem}\b"
            )
            importer = next(
                (e for e in active if e.role == "init" and e.text and pattern.search(e.text)), None
            )
            if importer is not None:
                m = pattern.search(importer.text or "")
                line = (importer.text or "").count("\n", 0, m.start()) + 1 if m else None
                out.append(
                    Finding(
                        "prebuilt-extension-on-import",
                        Severity.HIGH,
                        f"The source distribution ships a prebuilt extension ({base}) without its "
                        "source and imports it as soon as the package is imported.",
                        importer.path,
                        line,
                        importer.excerpt(line) if line else None,
                        context=importer.context,
                    )
                )
                break
    # code loaded as a module from a file of the package that does not look like code
    # (a .crt, .dat or stray .pyc run through zipimporter or a file loader)
    members = {e.path.rsplit("/", 1)[-1] for e in evidence} | {
        b.rsplit("/", 1)[-1] for b in binaries
    }
    for e in code:
        w = e.where("load-disguised-module")
        if w is not None and w.detail in members:
            out.append(
                Finding(
                    "disguised-module",
                    Severity.HIGH,
                    f"Loads and runs code from a file of the package that is disguised as data "
                    f"({w.detail}).",
                    e.path,
                    w.line,
                    e.excerpt(w.line),
                    context=e.context,
                )
            )
    for e in active:
        if e.role == "pth" and e.has("pth-opt-in"):
            w = e.where("pth-opt-in")
            out.append(
                Finding(
                    "pth-opt-in-hook",
                    Severity.LOW,
                    f"A .pth file imports the package's own module every time Python starts, "
                    f"only when {w.detail if w else 'a variable'} is set.",
                    e.path,
                    1,
                    e.excerpt(1),
                    context=e.context,
                )
            )
        elif e.role == "pth" and e.has("pth-import") and not e.has("exec", "net", "proc"):
            w = e.where("pth-import")
            out.append(
                Finding(
                    "pth-import",
                    Severity.LOW,
                    "A .pth file runs an import line every time Python starts.",
                    e.path,
                    1,
                    w.detail if w else None,
                    context=e.context,
                )
            )
        elif e.role == "pth" and e.has("pth-import"):
            w = e.where("pth-import")
            out.append(
                Finding(
                    "pth-code-execution",
                    Severity.HIGH,
                    "A .pth file runs code (exec, decoding, network or processes) every time "
                    "Python starts.",
                    e.path,
                    1,
                    w.detail if w else None,
                    context=e.context,
                )
            )
    return out


def scan_bytes(data: bytes, filename: str, *, config: ScanConfig | None = None) -> ScanResult:
    """Convenience for tests and callers holding the file in memory."""
    return scan_file(io.BytesIO(data), filename, config=config)
