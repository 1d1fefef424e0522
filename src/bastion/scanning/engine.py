"""Scan one archive: read it as data, gather evidence, weigh it, return a verdict."""

from __future__ import annotations

import io
import os
import re
import sys
import time
from pathlib import Path
from typing import BinaryIO

from bastion.archives import Archive, ArchiveError, open_archive
from bastion.scanning.config import DEFAULT_CONFIG, ScanConfig
from bastion.scanning.legacy_crypto import legacy_crypto_findings
from bastion.scanning.result import Finding, ScanResult, Severity, decide
from bastion.scanning.rules import archive as archive_rules
from bastion.scanning.rules.combine import STEAL, python_findings
from bastion.scanning.rules.evidence import FileEvidence
from bastion.scanning.rules.pyfacts import analyse, role_of
from bastion.scanning.yara_rules import YaraHit, compiled_rules, match

PY_SUFFIXES = (".py", ".pyw", ".pyi")
SMALL_PACKAGE_FILES = 6
SCRIPT_SUFFIXES = (".sh", ".bash", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".hta", ".psm1")
LIBRARY_FACTS = ("browser", "discord-token", "wallet", "clipper", "revshell", "persistence",
                 "webhook", "embedded-exe", "shell-download", "creds", "anti-analysis")
MODULE_LOADER_BYTES = re.compile(rb"zipimporter|FileLoader|load_compiled|load_source|"
                                 rb"spec_from_file_location|load_dynamic")
SHELL_IDENTITY_BYTES = re.compile(rb"\$\((?:whoami|hostname|id)\)|`(?:whoami|hostname|id)`|"
                                  rb"%(?:USERNAME|COMPUTERNAME|USERDOMAIN)%")
TAIL_BYTES = 1024 * 1024
MAX_TAIL_READ = 64 * 1024 * 1024
PRIVATE_IP = re.compile(rb"://(127\.|0\.0\.0\.0|10\.|192\.168\.|169\.254\.|172\.(1[6-9]|2\d|3[01])\.)")


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
    cfg = config or DEFAULT_CONFIG
    started = time.perf_counter()
    if filename is None:
        filename = os.fspath(source) if isinstance(source, (str, os.PathLike)) else "<archive>"
    findings: list[Finding] = []
    try:
        rules = compiled_rules(cfg.rules_dir)
    except Exception as exc:  # a broken operator rule must not stop scanning
        rules = compiled_rules(None)
        findings.append(Finding("rules-error", Severity.LOW, f"Operator YARA rules ignored: {exc}"))
    try:
        archive = open_archive(source, cfg.limits)
    except ArchiveError as exc:
        findings.append(Finding(
            "archive-unreadable", Severity.MEDIUM,
            f"The file cannot be read as a wheel or sdist: {exc}", os.path.basename(filename)))
        return _result(findings, started, filename)
    except OSError as exc:
        findings.append(Finding("archive-unreadable", Severity.MEDIUM,
                                f"The file cannot be read: {exc}", os.path.basename(filename)))
        return _result(findings, started, filename)
    with archive:
        findings.extend(_scan_archive(archive, filename, rules, cfg, started))
    return _result(findings, started, filename)


def _result(findings: list[Finding], started: float, filename: str) -> ScanResult:
    findings = _dedupe(findings)
    verdict, score = decide(findings)
    order = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2, Severity.INFO: 3}
    findings.sort(key=lambda f: (f.advisory, order[f.severity], f.file or "", f.line or 0))
    return ScanResult(verdict, score, findings, time.perf_counter() - started, filename)


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


def _yara_facts(ev: FileEvidence, data: bytes, hits: list[YaraHit], out: list[Finding]) -> None:
    for hit in hits:
        fact = hit.meta.get("fact")
        if hit.rule == "yara-timeout":
            continue
        if not fact:  # an operator's rule: a finding in its own right
            sev_name = str(hit.meta.get("severity", "medium")).lower()
            sev = Severity(sev_name) if sev_name in Severity.__members__.values() else Severity.MEDIUM
            line = _line_of(data, hit.offset) if ev.filetype != "binary" else None
            out.append(Finding(
                f"yara:{hit.rule}", sev,
                str(hit.meta.get("description") or f"Matches YARA rule {hit.rule}."),
                ev.path, line, ev.excerpt(line) if line else None))
            continue
        instances = hit.instances
        if fact == "url-ip":
            instances = tuple(i for i in instances if not PRIVATE_IP.search(i[1]))
            if not instances:
                continue
        offset = instances[0][0] if instances else 0
        detail = instances[0][1].decode("utf-8", "replace") if instances else ""
        ev.add(str(fact), _line_of(data, offset), detail)


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


def _python_evidence(ev: FileEvidence, data: bytes, cfg: ScanConfig, small: bool) -> None:
    if len(data) > cfg.max_python_bytes:
        # too large to parse: code that runs at install or import time is still searched for
        # tokens, so padding a setup.py past the limit does not hide its payload
        if ev.role in ("setup", "init", "pth"):
            _token_facts(ev, data)
        return
    if not _worth_parsing(ev, small, data):
        return
    py = analyse(data, ev.path)
    ev.py = py
    if py.syntax_error is not None:
        _token_facts(ev, data)
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


def _scan_archive(
    archive: Archive, filename: str, rules: object, cfg: ScanConfig, started: float
) -> list[Finding]:
    findings = archive_rules.problem_findings(archive.problems)
    n_problems = len(archive.problems)
    is_wheel = filename.lower().endswith(".whl") or any(
        m.name.endswith(".dist-info/WHEEL") for m in archive.members
    )
    prefix = _strip_top(archive.names)
    deadline = started + cfg.max_seconds
    library_files = sum(
        1 for m in archive.members
        if m.name.endswith(PY_SUFFIXES) and role_of(
            m.name[len(prefix):] if prefix else m.name, is_wheel) in ("module", "init")
    )
    small = 0 < library_files <= SMALL_PACKAGE_FILES
    evidence: list[FileEvidence] = []
    binaries: list[str] = []
    metadata_text: list[str] = []
    wheel_text = ""
    code_bytes = 0  # what the package's own library modules hold, comments and blanks aside
    for member, data in archive.iter_files(cfg.max_file_bytes):
        if time.perf_counter() > deadline:
            findings.append(Finding("scan-time-limit", Severity.MEDIUM,
                                    "The scan stopped before the end of the archive: it took "
                                    "longer than allowed.", member.name))
            break
        rel = member.name[len(prefix):] if prefix and member.name.startswith(prefix) else member.name
        head = data[:1024]
        member_out, bkind = archive_rules.member_findings(member, head, is_wheel)
        findings.extend(member_out)
        if bkind:
            binaries.append(member.name)
        ftype = "binary" if bkind else _filetype(member.name, head)
        base = rel.rsplit("/", 1)[-1]
        if base in ("PKG-INFO", "METADATA", "requires.txt") and len(data) < 200_000:
            metadata_text.append(data.decode("utf-8", "replace"))
        if is_wheel and base == "WHEEL" and rel.count("/") == 1 and len(data) < 10_000:
            wheel_text = data.decode("utf-8", "replace")
        role = role_of(rel, is_wheel) if ftype in ("python", "pth") else (
            "test" if role_of(rel) == "test" else "data")
        ev = FileEvidence(member.name, rel, role, ftype)
        if code_bytes < NO_CODE_BYTES and role != "test" and (
            (ftype == "python" and role in ("module", "init"))
            or rel.lower().endswith(NATIVE_SOURCES)
        ):
            code_bytes += _code_size(data)
        if ftype in ("python", "pth", "script"):
            ev.text = data[: cfg.max_python_bytes].decode("utf-8", "replace")
        hits = match(rules, data) if ftype != "binary" else []
        _yara_facts(ev, data, hits, findings)
        if ftype == "python":
            _python_evidence(ev, data, cfg, small)
            if role in ("setup", "init") and member.size > len(data):
                # only the head of a huge install/import-time file was read: its end is where a
                # payload padded past the read limit sits, so search that too
                try:
                    whole = archive.read(member.name, min(member.size, MAX_TAIL_READ))
                except Exception:  # reading problems are recorded by the archive
                    whole = b""
                start = max(0, len(whole) - TAIL_BYTES)
                _token_facts(ev, whole[start:], "(end of a file too large to read whole)",
                             whole.count(b"\n", 0, start))
        elif ftype == "pth":
            _pth_evidence(ev, data, cfg)
        if ev.py is not None:
            for line, payload in ev.py.payloads:
                for hit in match(rules, payload):
                    fact = hit.meta.get("fact")
                    if fact and not (fact == "url-ip" and all(
                        PRIVATE_IP.search(i[1]) for i in hit.instances
                    )):
                        ev.add(str(fact), line, "in decoded data: " + hit.rule)
        evidence.append(ev)
    # In a package with very little code, every module is close to the surface: entry points
    # and the package's own imports reach it directly, and there is no large legitimate code
    # base to explain a behaviour. Such modules are weighed like import-time code.
    setup = next((e for e in evidence if e.role == "setup"), None)
    if small and setup is not None and setup.text and setup.has("proc", "exec", "exec-file"):
        for e in evidence:
            base = e.relpath.rsplit("/", 1)[-1]
            if (e.filetype == "python" and e.role != "setup" and base != "__init__.py"
                    and base in setup.text):
                e.role = "setup"
    if small:
        for e in evidence:
            if e.filetype == "python" and e.role == "module":
                e.role = "init"
    if len(archive.problems) > n_problems:  # time-limit or unreadable members found while reading
        findings.extend(archive_rules.problem_findings(archive.problems[n_problems:]))

    for ev in evidence:
        if ev.filetype in ("python", "pth"):
            findings.extend(python_findings(ev))
            if ev.py is not None:
                findings.extend(legacy_crypto_findings(ev.py, ev.path, metadata_text))
        elif ev.filetype == "script" and ev.has("shell-download", "revshell", "persistence"):
            w = ev.where("shell-download", "revshell", "persistence")
            findings.append(Finding(
                "script-dropper", Severity.MEDIUM if ev.role != "test" else Severity.LOW,
                "A shell or batch script downloads and runs something, opens a shell or "
                "installs itself to start with the system.",
                ev.path, w.line if w else None, ev.excerpt(w.line) if w else None))
        elif ev.has("webhook") and ev.role != "test":
            w = ev.where("webhook")
            findings.append(Finding(
                "hardcoded-webhook", Severity.MEDIUM,
                "Contains a Discord webhook or Telegram bot token.", ev.path,
                w.line if w else None, w.detail[:120] if w else None))
    findings.extend(_archive_level(evidence, binaries, is_wheel, small))
    findings.extend(_placeholder_findings(evidence, code_bytes < NO_CODE_BYTES))
    findings.extend(_stdlib_lookalike_imports(evidence))
    if is_wheel and binaries and _pure_wheel(wheel_text):
        findings.extend(_pure_wheel_extension(evidence, binaries))
    return findings


NO_CODE_BYTES = 200
# sources of compiled code: a package built from them has code even without Python modules
NATIVE_SOURCES = (".c", ".cc", ".cpp", ".cxx", ".h", ".hpp", ".pyx", ".pxd", ".rs", ".go",
                  ".f", ".f90", ".zig")
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
        out.append(Finding(
            "install-hook-without-code", Severity.HIGH,
            "A package with no code of its own starts a program from its install command: "
            "installing it is all it is for.", setup.path, w.line, setup.excerpt(w.line)))
    w = setup.where("blocks-install")
    if w is not None:
        out.append(Finding(
            "name-placeholder", Severity.HIGH,
            "A package with no code whose setup.py lets the archive be built but makes every "
            "installation fail: a placeholder that holds a name (dependency confusion).",
            setup.path, w.line, setup.excerpt(w.line) or w.detail[:160]))
    return out


# Python 2's standard library, still imported by code that supports both
PY2_STDLIB = frozenset({
    "Queue", "urllib2", "ConfigParser", "commands", "sets", "httplib", "urlparse", "cPickle",
    "StringIO", "cStringIO", "HTMLParser", "cookielib", "Tkinter", "thread", "exceptions",
    "md5", "sha", "SocketServer", "BaseHTTPServer", "SimpleHTTPServer", "xmlrpclib",
    "htmlentitydefs", "robotparser", "dummy_thread", "copy_reg", "repr", "anydbm", "whichdb",
})
STDLIB_NAMES = frozenset(sys.stdlib_module_names) | PY2_STDLIB
# what a typo of a standard module looks like: socket -> sockets, subprocesss, subporcess
LOOKALIKE_TARGETS = tuple(sorted(
    n for n in sys.stdlib_module_names
    if not n.startswith("_") and len(n) >= 4 and n not in ("test", "this", "antigravity")
))


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
        if len(low) == len(target) and low != target and any(
            low == target[:i] + target[i + 1] + target[i] + target[i + 2:]
            for i in range(len(target) - 1)
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
            return [Finding(
                "stdlib-lookalike-import", Severity.HIGH if e.role != "module" else Severity.MEDIUM,
                f"Imports {top!r}, a look-alike of the standard library's {target!r} that the "
                "package does not contain: a typosquatted package carries the code.",
                e.path, line, e.excerpt(line) if line else None)]
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
        pattern = re.compile(rf"\bfrom\s+[\w.]*\.{stem}\s+import\b|\bimport\s+[\w.]+\.{stem}\b"
                             rf"|\bfrom\s+[\w.]*\s+import\s+(?:\(\s*)?{stem}\b")
        for e in evidence:
            if e.role != "init" or not e.text:
                continue
            m = pattern.search(e.text)
            if m:
                line = e.text.count("\n", 0, m.start()) + 1
                return [Finding(
                    "pure-wheel-extension", Severity.HIGH,
                    f"The wheel is tagged as pure Python but ships a compiled module ({base}) "
                    "that the package imports as soon as it is imported.",
                    e.path, line, e.excerpt(line))]
    return []


TOKEN_FACTS: tuple[tuple[str, re.Pattern[bytes]], ...] = (
    ("net", re.compile(rb"urlopen\(|urlretrieve\(|requests\.(get|post)\(|socket\.socket\(")),
    ("proc", re.compile(rb"os\.system\(|subprocess\.\w+\(|os\.popen\(|os\.startfile\(")),
    ("exec", re.compile(rb"\bexec\s*\(|\beval\s*\(")),
    ("decode", re.compile(rb"b64decode\(|decompress\(|marshal\.loads\(")),
    ("recon", re.compile(rb"gethostname\(|getuser\(|getlogin\(")),
)


def _token_facts(
    ev: FileEvidence, data: bytes, why: str = "(file does not parse)", line_offset: int = 0
) -> None:
    """Facts for code that does not parse (Python 2, deliberate breakage): token search."""
    for kind, pattern in TOKEN_FACTS:
        m = pattern.search(data)
        if m:
            ev.add(kind, line_offset + _line_of(data, m.start()), f"{why} {m.group().decode()}")


def _pth_evidence(ev: FileEvidence, data: bytes, cfg: ScanConfig) -> None:
    text = data[: cfg.max_python_bytes].decode("utf-8", "replace")
    code = "\n".join(
        line for line in text.splitlines() if line.startswith(("import ", "import\t"))
    )
    if not code:
        return
    ev.add("pth-import", 1, code.splitlines()[0][:160])
    py = analyse(code.encode(), ev.path)
    ev.py = py
    for fact in py.facts:
        ev.add(fact.kind, fact.line, fact.detail)
    if re.search(r"exec|eval|b64decode|compile|urlopen|subprocess|system\(", code):
        ev.add("exec", 1, "executable .pth line")


def _archive_level(
    evidence: list[FileEvidence], binaries: list[str], is_wheel: bool, small: bool
) -> list[Finding]:
    """Combinations split across files (a small package's payload often is)."""
    out: list[Finding] = []
    code = [e for e in evidence if e.filetype in ("python", "pth") and e.role != "test"]
    active = [e for e in code if e.role in ("setup", "init", "pth")]

    def first(kinds: tuple[str, ...], among: list[FileEvidence]) -> FileEvidence | None:
        return next((e for e in among if e.has(*kinds)), None)

    steal_ev = first(STEAL, code)
    dest_ev = first(("webhook", "url-oob", "url-paste", "url-tunnel"), code)
    if small and steal_ev and dest_ev and steal_ev is not dest_ev:
        w = steal_ev.where(*STEAL)
        out.append(Finding(
            "credential-theft", Severity.HIGH,
            "One file reads browser, wallet or chat-app secrets and another holds a throw-away "
            f"destination ({dest_ev.path}).", steal_ev.path, w.line if w else None,
            steal_ev.excerpt(w.line) if w else None))
    if binaries and not is_wheel:
        runner = first(("proc",), active)
        if runner is not None:
            names = {b.rsplit("/", 1)[-1] for b in binaries}
            text = runner.text or ""
            if any(n and n in text for n in names):
                w = runner.where("proc")
                out.append(Finding(
                    "runs-bundled-binary", Severity.HIGH,
                    "Install- or import-time code starts a prebuilt executable shipped in the "
                    "archive.", runner.path, w.line if w else None,
                    runner.excerpt(w.line) if w else None))
    if binaries and not is_wheel:
        # an sdist carries sources; a prebuilt extension module that the package imports as
        # soon as it is imported is code nobody can review, run on every import
        for b in binaries:
            base = b.rsplit("/", 1)[-1]
            if not base.endswith((".so", ".pyd")):
                continue
            raw_stem = base.split(".", 1)[0]
            if any(e.path.rsplit("/", 1)[-1].split(".", 1)[0] == raw_stem
                   and e.path.endswith((".c", ".cpp", ".pyx", ".rs", ".cc", ".py"))
                   for e in evidence):
                continue  # its source is in the archive: a build left-over, reviewable
            stem = re.escape(raw_stem)
            pattern = re.compile(rf"\bfrom\s+[\w.]*\.{stem}\s+import\b|\bimport\s+[\w.]+\.{stem}\b"
                                 rf"|\bfrom\s+\.\s+import\s+{stem}\b")
            importer = next((e for e in active if e.role == "init" and e.text
                             and pattern.search(e.text)), None)
            if importer is not None:
                m = pattern.search(importer.text or "")
                line = (importer.text or "").count("\n", 0, m.start()) + 1 if m else None
                out.append(Finding(
                    "prebuilt-extension-on-import", Severity.HIGH,
                    f"The source distribution ships a prebuilt extension ({base}) without its "
                    "source and imports it as soon as the package is imported.",
                    importer.path, line, importer.excerpt(line) if line else None))
                break
    # code loaded as a module from a file of the package that does not look like code
    # (a .crt, .dat or stray .pyc run through zipimporter or a file loader)
    members = {e.path.rsplit("/", 1)[-1] for e in evidence} | {
        b.rsplit("/", 1)[-1] for b in binaries}
    for e in code:
        w = e.where("load-disguised-module")
        if w is not None and w.detail in members:
            out.append(Finding(
                "disguised-module", Severity.HIGH,
                f"Loads and runs code from a file of the package that is disguised as data "
                f"({w.detail}).", e.path, w.line, e.excerpt(w.line)))
    for e in active:
        if e.role == "pth" and e.has("pth-import") and not e.has("exec", "net", "proc"):
            w = e.where("pth-import")
            out.append(Finding(
                "pth-import", Severity.LOW,
                "A .pth file runs an import line every time Python starts.", e.path, 1,
                w.detail if w else None))
        elif e.role == "pth" and e.has("pth-import"):
            w = e.where("pth-import")
            out.append(Finding(
                "pth-code-execution", Severity.HIGH,
                "A .pth file runs code (exec, decoding, network or processes) every time "
                "Python starts.", e.path, 1, w.detail if w else None))
    return out


def scan_bytes(data: bytes, filename: str, *, config: ScanConfig | None = None) -> ScanResult:
    """Convenience for tests and callers holding the file in memory."""
    return scan_file(io.BytesIO(data), filename, config=config)


def read_path(path: Path) -> ScanResult:
    return scan_file(path, str(path))

