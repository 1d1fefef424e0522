"""Compare a release with the project's previous one: what it newly does, and where.

A compromised release of a trusted project (a stolen token, a poisoned build) is an ordinary
archive with a few lines added: a ``.pth`` file that runs code at every start, a download in
a module body, a new dependency on a name registered last week. Each of those lines may look
ordinary on its own; against the previous release, they are what changed. This module reduces
an archive to its *surface* (install hooks, start-up files, what code runs on install and on
import, obfuscated data, declared dependencies) from the evidence the scan gathered already
(:class:`~bastion.scanning.engine.ArchiveEvidence`: nothing is read or fully parsed twice),
and :func:`compare` lists what the new surface has that the previous one had not.

Surfaces are compared by behaviour kind and by when code runs, never line by line: a new
module, or a new function that calls ``requests`` in a package whose modules did network
before, is what every release does and adds nothing. What counts is a *kind* of behaviour a
role did not have: the first process started at install time, the first network call in a
module body, the first ``.pth`` file.

This module imports no Django: what the index knows about a dependency comes in through a
:class:`DependencyInfo` callable.
"""

from __future__ import annotations

import ast
import re
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import HeaderParser
from typing import BinaryIO, Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bastion.scanning.config import DEFAULT_CONFIG, ScanConfig
from bastion.scanning.engine import ArchiveEvidence, examine
from bastion.scanning.result import Finding, ScanResult, Severity, decide
from bastion.scanning.rules.evidence import FileEvidence
from bastion.scanning.rules.pyfacts import (
    COMPILE_CALLS,
    DECODE_CALLS,
    EXEC_CALLS,
    NET_CALLS,
    PROC_CALLS,
    analyse,
    role_of,
    shannon_entropy,
)

H, M, L, INFO = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

# --- behaviour kinds ----------------------------------------------------------------------

NETWORK = "network"
PROCESS = "process"
EXEC = "exec"
DECODE = "decode"
SECRETS = "secrets"
DESTINATION = "destination"

#: The scan's facts behind each kind. ``exec-file`` (a setup.py reading its version file
#: with ``exec(open(...).read())``) is what builds have always done, and is left out.
KIND_FACTS: dict[str, tuple[str, ...]] = {
    NETWORK: ("net", "exec-remote"),
    PROCESS: ("proc", "install-hook-proc", "proc-decoded", "proc-shell"),
    EXEC: ("exec", "exec-decoded", "exec-remote"),
    DECODE: ("decode", "exec-decoded", "proc-decoded"),
    SECRETS: ("env-secret", "env-dump", "creds", "browser", "wallet", "discord-token", "clipper"),
    DESTINATION: ("webhook", "url-oob", "url-paste", "url-tunnel", "url-ip"),
}
#: For code the scan did not parse (library modules of larger packages without the hints that
#: make it worth parsing), the byte hints stand in for the parsed facts.
HINT_FACTS: dict[str, tuple[str, ...]] = {
    NETWORK: ("hint-net",),
    PROCESS: ("hint-proc",),
    EXEC: ("hint-exec",),
}
#: Network objects that connect only when asked: made in a module body, they reach nothing.
NET_CONSTRUCTORS = frozenset(
    {
        "requests.Session",
        "requests.session",
        "httpx.Client",
        "httpx.AsyncClient",
        "aiohttp.ClientSession",
        "urllib3.PoolManager",
        "urllib.request.Request",
        "urllib.request.build_opener",
        "urllib.request.install_opener",
        "urllib2.Request",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "httplib.HTTPConnection",
        "httplib.HTTPSConnection",
        "socket.socket",
        "paramiko.SSHClient",
        "websocket.WebSocketApp",
    }
)
#: Kinds that act on the machine or reach out of it: new ones in code that runs by itself.
ACTING = (NETWORK, PROCESS, EXEC)
OBFUSCATION_FACTS = ("blob", "obf-names", "pyarmor", "embedded-exe")
ACTIVE_ROLES = ("setup", "pth", "init")
WHEN = {
    "setup": "at install time (setup.py)",
    "pth": "every time Python starts (.pth file)",
    "init": "on import",
    "module": "in a library module",
}
# what wheels put under <name>-<version>.data/: installed into site-packages as if at the root
WHEEL_DATA = re.compile(r"^[^/]+\.data/(?:purelib|platlib)/")
WHEEL_META = re.compile(r"^[^/]+\.dist-info/")


def _dangerous(kinds: set[str]) -> bool:
    """Kinds that together do what malware does and a library's start-up code has no reason to:
    fetch and run, decode and run, collect and send."""
    return bool(
        (NETWORK in kinds and kinds & {PROCESS, EXEC, DECODE, SECRETS, DESTINATION})
        or (EXEC in kinds and DECODE in kinds)
        or (PROCESS in kinds and DECODE in kinds)
    )


# --- the surface ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """Where a behaviour was seen: the member (as in the archive), line and a short excerpt."""

    file: str
    line: int | None = None
    excerpt: str | None = None


@dataclass
class FileSurface:
    """One code file: when its code runs (``role``), what it does and what of that runs in its
    module body (``import_time``: known only for code the scan parsed)."""

    key: str  # the member's place once installed: stable across versions
    path: str  # as in the archive
    role: str  # setup | pth | init | module
    kinds: dict[str, Place] = field(default_factory=dict)
    import_time: dict[str, Place] = field(default_factory=dict)
    obfuscated: Place | None = None
    pth_code: bool = False  # a .pth with lines Python runs (``import ...``)
    install_overrides: tuple[str, ...] = ()


@dataclass
class Surface:
    """What an archive does by itself, reduced to what :func:`compare` weighs."""

    is_wheel: bool
    files: dict[str, FileSurface] = field(default_factory=dict)
    build_backend: str | None = None
    in_tree_backend: bool = False
    requires: dict[str, str] = field(default_factory=dict)  # canonical name -> as declared
    name: str = ""  # the project's canonical name, from its metadata
    metadata_path: str = ""  # where the dependencies were read (without an sdist's top folder)
    complete: bool = True  # False when the scan that gathered it left parts unexamined
    parse_left: int = 0  # bytes the import-time analysis may still parse

    def of_role(self, role: str) -> list[FileSurface]:
        return [f for f in self.files.values() if f.role == role]


def _key(relpath: str, is_wheel: bool) -> str:
    if is_wheel:
        return WHEEL_DATA.sub("", relpath)
    return relpath.removeprefix("src/")


def _place(ev: FileEvidence, line: int | None, detail: str = "") -> Place:
    excerpt = ev.excerpt(line) if line else None
    return Place(ev.path, line or None, excerpt or (detail[:160] if detail else None))


def surface_of(
    kept: ArchiveEvidence, complete: bool = True, config: ScanConfig | None = None
) -> Surface:
    """An archive's surface from the evidence its scan kept."""
    cfg = config or DEFAULT_CONFIG
    out = Surface(kept.is_wheel, complete=complete, parse_left=cfg.max_parse_bytes)
    for ev in kept.files:
        if ev.filetype not in ("python", "pth"):
            continue
        role = role_of(ev.relpath, kept.is_wheel) if ev.filetype == "python" else "pth"
        if role == "test" or WHEEL_META.match(ev.relpath):
            continue
        fs = FileSurface(_key(ev.relpath, kept.is_wheel), ev.path, role)
        for kind, facts in (KIND_FACTS if ev.py is not None else HINT_FACTS).items():
            w = ev.where(*facts)
            if w is not None:
                fs.kinds[kind] = _place(ev, w.line, w.detail)
        w = ev.where(*OBFUSCATION_FACTS)
        if w is not None:
            fs.obfuscated = _place(ev, w.line, w.detail)
        fs.pth_code = role == "pth" and ev.has("pth-import")
        if ev.py is not None:
            fs.install_overrides = tuple(sorted({name for name, _ in ev.py.install_overrides}))
        out.files[fs.key] = fs
    _read_metadata(kept, out)
    return out


# a run of base64 or hex as long as the scan's "blob" (2,000 characters), found without parsing
ENCODED_RUN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/=_-]{2000,}")


def _blob_in_text(ev: FileEvidence) -> Place | None:
    """The scan's ``blob`` fact for a library module it did not parse: a long encoded literal
    (base64-like or hex entropy), found by a byte search rather than a parse."""
    text = ev.text or ""
    for m in ENCODED_RUN.finditer(text):
        entropy = shannon_entropy(m.group()[:4096])
        if entropy >= 5.0 or 3.5 <= entropy <= 4.1:
            line = text.count("\n", 0, m.start()) + 1
            return _place(ev, line, f"{len(m.group())} characters, entropy {entropy:.1f}")
    return None


def _read_metadata(kept: ArchiveEvidence, out: Surface) -> None:
    """Declared dependencies (Requires-Dist, else an sdist's requires.txt or pyproject) and the
    build backend."""
    meta = kept.metadata
    requires: list[str] = []
    primary = next(
        (
            (rel, text)
            for rel, text in meta.items()
            if (kept.is_wheel and WHEEL_META.match(rel) and rel.endswith("/METADATA"))
            or (not kept.is_wheel and rel == "PKG-INFO")
        ),
        None,
    )
    if primary is not None:
        out.metadata_path = primary[0]
        headers = HeaderParser().parsestr(primary[1])
        requires = headers.get_all("Requires-Dist") or []
        out.name = canonicalize_name(headers.get("Name") or "")
    project: dict[str, object] = {}
    if "pyproject.toml" in meta:
        try:
            doc = tomllib.loads(meta["pyproject.toml"])
        except tomllib.TOMLDecodeError:
            doc = {}
        system = doc.get("build-system")
        if isinstance(system, dict):
            backend = system.get("build-backend")
            out.build_backend = backend if isinstance(backend, str) else None
            out.in_tree_backend = bool(system.get("backend-path"))
        if isinstance(doc.get("project"), dict):
            project = doc["project"]
    if not requires and not kept.is_wheel:
        req_txt = next(
            (
                (r, t)
                for r, t in meta.items()
                if r.endswith(".egg-info/requires.txt") and r.count("/") <= 2
            ),
            None,
        )
        if req_txt is not None:
            out.metadata_path = req_txt[0]
            requires = _requires_txt(req_txt[1])
        else:
            declared = project.get("dependencies")
            if isinstance(declared, list):
                out.metadata_path = "pyproject.toml"
                requires = [str(d) for d in declared]
    for text in requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        out.requires.setdefault(canonicalize_name(req.name), text.strip())


def _requires_txt(text: str) -> list[str]:
    """setuptools' requires.txt: the install requirements, then ``[extra]`` sections."""
    out: list[str] = []
    extra: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra = line[1:-1].split(":", 1)[0] or None
            continue
        out.append(f'{line}; extra == "{extra}"' if extra else line)
    return out


# --- import-time analysis ------------------------------------------------------------------


def _call_kind(name: str) -> str | None:
    root, _, rest = name.partition(".")
    if name in NET_CONSTRUCTORS:
        return None
    if (
        name in NET_CALLS
        or (root in ("requests", "httpx") and rest in ("get", "post", "put"))
        or (root == "socket" and name.endswith((".connect", ".send", ".sendall")))
    ):
        return NETWORK
    if name in PROC_CALLS:
        return PROCESS
    if name in EXEC_CALLS or name in COMPILE_CALLS:
        return EXEC
    if name in DECODE_CALLS or name.endswith("b64decode"):
        return DECODE
    return None


def _body_call_lines(text: str) -> set[int] | None:
    """Lines of the calls a module's body makes when it is imported: everything but function
    bodies and ``if __name__ == "__main__":`` blocks (class bodies run on import). None when
    the text does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines: set[int] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            lines.add(node.lineno)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # decorators and defaults run on import, the body when called
            stack.extend(node.decorator_list)
            stack.extend(d for d in (*node.args.defaults, *node.args.kw_defaults) if d)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.If) and _main_guard(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return lines


def _main_guard(test: ast.expr) -> bool:
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


# Names through which a module body reaches the network, processes or dynamic code; a file
# whose body names none of them (nor an alias of them) has nothing to parse for.
BODY_TOKENS = (
    r"\b(?:urlopen|urlretrieve|requests|httpx|socket|urllib2?|urllib3|aiohttp|ftplib|smtplib|"
    r"subprocess|Popen|startfile|spawn\w*|exec|exec[lv]\w*|pty|eval|__import__|"
    r"import_module|getattr|__builtins__|builtins|runpy|b64decode|decompress|marshal|codecs)\b|"
    r"http\.client|os\.system|os\.popen|(?<![.\w])compile\s*\("
)
SENSITIVE_ROOTS = frozenset(
    {
        "urllib",
        "urllib2",
        "urllib3",
        "requests",
        "httpx",
        "aiohttp",
        "http",
        "socket",
        "ftplib",
        "smtplib",
        "subprocess",
        "os",
        "pty",
        "builtins",
        "importlib",
        "runpy",
        "base64",
        "zlib",
        "marshal",
        "codecs",
        "binascii",
    }
)
IMPORT_FROM = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([^)#\n]+)", re.MULTILINE)
IMPORT_AS = re.compile(r"^\s*import\s+([^#\n]+)", re.MULTILINE)
IMPORT_LINE = re.compile(r"(?:from\s+[\w.]+\s+)?import\s+[\w., ]+$")
HEADER = re.compile(r"^(async\s+def|def|class)\b")
WORD = re.compile(r"\w+")


def _body_may_act(text: str) -> bool:
    """Whether a module's body (what runs on import: not function bodies) may name a network,
    process or dynamic-code call. A search of lines by their indentation, not a parse: it may
    say yes wrongly (the parse then says no), never no wrongly for code a parse would see in
    the body (calls through names imported under another name are searched for too)."""
    names: set[str] = set()
    for m in IMPORT_FROM.finditer(text):
        if m.group(1).split(".", 1)[0] in SENSITIVE_ROOTS:
            for part in m.group(2).split(","):
                names.update(w for w in part.split() if w.isidentifier() and w != "as")
    for m in IMPORT_AS.finditer(text):
        for part in m.group(1).split(","):
            words = part.split()
            if words and words[0].split(".", 1)[0] in SENSITIVE_ROOTS and len(words) == 3:
                names.add(words[2])
    # Imported names are looked up word by word in a set: one alternation of every name a file
    # imports costs its length times their number (seconds for a few hundred KiB).
    words = {n for n in names if all(c.isalnum() or c == "_" for c in n)}
    rest = "".join(f"|\\b{re.escape(n)}\\b" for n in sorted(names - words))
    tokens = re.compile(BODY_TOKENS + rest)

    def mentions(code: str) -> bool:
        if tokens.search(code) is not None:
            return True
        return bool(words) and any(m.group() in words for m in WORD.finditer(code))

    if not mentions(text):
        return False
    headers: list[tuple[int, bool]] = []  # enclosing blocks: indentation, a function's body
    depth = 0  # open brackets: a line inside them continues a statement
    quote: str | None = None  # the triple quote of a string still open
    for line in text.splitlines():
        code, quote = _code_of(line, quote)
        stripped = code.strip()
        if not stripped:
            continue
        continued = depth > 0
        depth = max(0, depth + sum(map(code.count, "([{")) - sum(map(code.count, ")]}")))
        indent = len(code) - len(code.lstrip())
        if not continued:
            while headers and headers[-1][0] >= indent:
                headers.pop()
        in_function = any(is_def for _, is_def in headers)
        if not in_function and not IMPORT_LINE.match(stripped) and mentions(stripped):
            return True
        if continued:
            continue
        header = HEADER.match(stripped)
        if header is not None:
            headers.append((indent, header.group(1) != "class"))
        elif stripped.endswith(":"):
            headers.append((indent, False))
    return False


STRING_OR_COMMENT = re.compile(r"\"\"\"|'''|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|#.*")
TRIPLE = ('"""', "'''")


def _code_of(line: str, quote: str | None) -> tuple[str, str | None]:
    """A line with its strings and comment blanked out (their text is no call), and the triple
    quote still open at its end."""
    if quote is None and "'" not in line and '"' not in line and "#" not in line:
        return line, None
    out: list[str] = []
    pos = 0
    if quote is not None:
        end = line.find(quote)
        if end < 0:
            return "", quote
        out.append(" " * (end + 3))
        pos = end + 3
    while pos < len(line):
        m = STRING_OR_COMMENT.search(line, pos)
        if m is None:
            out.append(line[pos:])
            break
        out.append(line[pos : m.start()])
        token = m.group()
        if token in TRIPLE:
            end = line.find(token, m.end())
            if end < 0:
                return "".join(out) + "''", token
            out.append("''" + " " * (end + 1 - m.start()))
            pos = end + 3
        elif token.startswith("#"):
            break
        else:
            out.append("''" + " " * (len(token) - 2))
            pos = m.end()
    return "".join(out), None


def _fill_import_time(
    surface: Surface, kept: ArchiveEvidence, keys: Iterable[str], deadline: float
) -> bool:
    """What the module bodies of ``keys`` do on import (parsing only those files, within the
    surface's parse budget and ``deadline``). False when one could not be examined."""
    by_path = {ev.path: ev for ev in kept.files}
    examined = True
    for key in keys:
        fs = surface.files.get(key)
        ev = by_path.get(fs.path) if fs is not None else None
        if fs is None or ev is None:
            continue
        if not ev.text:
            examined = False
            continue
        if time.perf_counter() > deadline:
            examined = False
            continue
        if not _body_may_act(ev.text):
            continue  # nothing in its body could make one of these calls
        # a library module the scan did not need parsed (its hints alone) is analysed here,
        # by the scan's own analyser, and only when the comparison needs it
        size = len(ev.text) * (1 if ev.py is not None else 2)
        if size > surface.parse_left:
            examined = False
            continue
        surface.parse_left -= size
        py = ev.py if ev.py is not None else analyse(ev.text.encode(), ev.path)
        body = _body_call_lines(ev.text)
        if body is None or py.syntax_error is not None:
            examined = False
            continue
        facts = {f.kind: f for f in reversed(py.facts)}  # the first of each kind
        has_exec = bool(facts.keys() & {"exec", "exec-decoded", "exec-remote"})
        for name, call_lines in py.calls.items():
            kind = _call_kind(name)
            if kind is None or (kind == EXEC and not has_exec) or kind in fs.import_time:
                continue
            at = sorted(n for n in call_lines if n in body)
            if at:
                fs.import_time[kind] = _place(ev, at[0], name)
        # what a payload decoded or downloaded in the body does, and secrets read there
        for kind, kinds in (
            (NETWORK, ("exec-remote",)),
            (EXEC, ("exec-decoded", "exec-remote")),
            (DECODE, ("exec-decoded",)),
            (SECRETS, ("env-secret", "env-dump")),
        ):
            fact = next((facts[k] for k in kinds if k in facts), None)
            if fact is not None and fact.line in body and kind not in fs.import_time:
                fs.import_time[kind] = _place(ev, fact.line, fact.detail)
    return examined


# --- dependencies ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DependencyFacts:
    """What the index knows about a project a release depends on.

    ``known``: a project of this index (None: the caller cannot tell, e.g. without a
    database); ``popular``: a protected name (a popular PyPI project); ``age_days``: how long
    it has existed here; ``lookalike_of``: the popular or local project its name imitates;
    ``same_owners``: it shares an owner or maintainer with the project being released (a
    project split in two is young and legitimate).
    """

    known: bool | None = None
    popular: bool = False
    age_days: float | None = None
    lookalike_of: str | None = None
    same_owners: bool = False


class DependencyInfo(Protocol):
    def __call__(self, name: str) -> DependencyFacts: ...


def no_dependency_info(name: str) -> DependencyFacts:
    """Nothing known (``bastion scan`` without a database and no name policy)."""
    return DependencyFacts()


# --- comparing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiffOptions:
    """``young_days``: a dependency on a project this index has had for fewer days is new
    enough to be a planted name (``BASTION_SCAN_YOUNG_DEPENDENCY_DAYS``)."""

    young_days: float = 30.0


def compare(
    previous: Surface,
    new: Surface,
    dependency_info: DependencyInfo = no_dependency_info,
    options: DiffOptions | None = None,
) -> list[Finding]:
    """Findings for what ``new`` does that ``previous`` did not (see the module's docstring).

    Import-time behaviour (module bodies) must have been filled in with
    :func:`_fill_import_time`; :func:`diff_archives` does it.
    """
    opts = options or DiffOptions()
    out: list[Finding] = []
    same_kind = previous.is_wheel == new.is_wheel
    if same_kind:
        out.extend(_pth_changes(previous, new))
        out.extend(_install_changes(previous, new))
        out.extend(_import_changes(previous, new))
        out.extend(_library_changes(previous, new))
        out.extend(_obfuscation_changes(previous, new))
    out.extend(_dependency_changes(previous, new, dependency_info, opts))
    if not previous.complete:
        # kinds the previous scan did not see may be reported as new: weigh code changes less
        out = [
            _capped(f)
            if f.rule != "release-diff-dependency" and f.rule != "release-diff-pth"
            else f
            for f in out
        ]
    return out


def _capped(f: Finding) -> Finding:
    if f.severity is not H:
        return f
    return Finding(
        f.rule,
        M,
        f.message + " (The previous release was not fully examined.)",
        f.file,
        f.line,
        f.excerpt,
    )


def _finding(rule: str, sev: Severity, message: str, where: Place | None, path: str) -> Finding:
    if where is None:
        return Finding(rule, sev, message, path)
    return Finding(rule, sev, message, where.file, where.line, where.excerpt)


def _names(kinds: Iterable[str]) -> str:
    return ", ".join(sorted(kinds))


def _pth_changes(previous: Surface, new: Surface) -> list[Finding]:
    out: list[Finding] = []
    before = {f.key: f for f in previous.of_role("pth")}
    had_code = any(f.pth_code for f in before.values())
    for fs in new.of_role("pth"):
        old = before.get(fs.key)
        acting = set(fs.kinds) & {*ACTING, DECODE}
        added = acting - (set(old.kinds) if old is not None else set())
        if fs.pth_code and added:
            first = next(fs.kinds[k] for k in (EXEC, NETWORK, PROCESS, DECODE) if k in fs.kinds)
            out.append(
                _finding(
                    "release-diff-pth",
                    H,
                    "New in this release: a .pth file that runs code every time Python starts "
                    f"({_names(set(fs.kinds))}); the previous release had "
                    + ("no such file." if old is None else "this file without it."),
                    first,
                    fs.path,
                )
            )
        elif old is None and fs.pth_code:
            out.append(
                _finding(
                    "release-diff-pth",
                    L if had_code else M,
                    "New in this release: a .pth file with an import line, run every time "
                    "Python starts.",
                    Place(fs.path, 1),
                    fs.path,
                )
            )
        elif old is None:
            out.append(
                _finding(
                    "release-diff-pth",
                    INFO,
                    "New in this release: a .pth file (paths only, no code).",
                    None,
                    fs.path,
                )
            )
    return out


def _install_changes(previous: Surface, new: Surface) -> list[Finding]:
    out: list[Finding] = []
    old_setup = previous.of_role("setup")
    old_kinds: set[str] = set().union(*(set(f.kinds) for f in old_setup)) if old_setup else set()
    old_overrides = {o for f in old_setup for o in f.install_overrides}
    for fs in new.of_role("setup"):
        if not old_setup:
            out.append(
                _finding(
                    "release-diff-install-hook",
                    L,
                    "New in this release: a setup.py, which pip runs when it builds the package.",
                    None,
                    fs.path,
                )
            )
        added_overrides = sorted(set(fs.install_overrides) - old_overrides)
        added = set(fs.kinds) - old_kinds
        if added_overrides:
            out.append(
                _finding(
                    "release-diff-install-hook",
                    M if added & set(ACTING) else L,
                    "New in this release: setup.py replaces the install command(s) "
                    f"{', '.join(added_overrides)} with its own code.",
                    fs.kinds.get(PROCESS) or fs.kinds.get(NETWORK),
                    fs.path,
                )
            )
        acting = added & {*ACTING, DECODE, SECRETS, DESTINATION}
        if acting:
            kinds = set(fs.kinds)
            # a build starting git, or decoding a bundled icon, is ordinary; the network or
            # secrets at install time are not, and together with running code they are malware
            if _dangerous(kinds) and acting & set(ACTING):
                sev = H
            elif acting & {NETWORK, SECRETS, DESTINATION}:
                sev = M
            else:
                sev = L
            first = next(
                fs.kinds[k]
                for k in (NETWORK, PROCESS, EXEC, DECODE, SECRETS, DESTINATION)
                if k in acting
            )
            out.append(
                _finding(
                    "release-diff-install-behaviour",
                    sev,
                    f"New in this release, {WHEN['setup']}: {_names(acting)} (the previous "
                    f"release's install code did not; now it does {_names(kinds)}).",
                    first,
                    fs.path,
                )
            )
    if new.build_backend and new.build_backend != previous.build_backend:
        out.append(
            Finding(
                "release-diff-install-hook",
                M if new.in_tree_backend and not previous.in_tree_backend else INFO,
                f"New in this release: the build backend {new.build_backend!r}"
                + (" from the archive itself (backend-path)" if new.in_tree_backend else "")
                + f", was {previous.build_backend or 'none declared'}.",
                "pyproject.toml",
            )
        )
    return out


def _import_changes(previous: Surface, new: Surface) -> list[Finding]:
    """Module bodies: code that runs when the package (or one of its modules) is imported."""
    out: list[Finding] = []
    old_kinds: set[str] = set()
    for f in previous.files.values():
        if f.role in ("init", "module"):
            old_kinds.update(f.import_time)
    for fs in new.files.values():
        if fs.role not in ("init", "module"):
            continue
        added = set(fs.import_time) - old_kinds
        if not added & set(ACTING):
            continue
        kinds = set(fs.import_time)
        sev = H if _dangerous(kinds) else M
        first = next(fs.import_time[k] for k in (NETWORK, PROCESS, EXEC) if k in added)
        out.append(
            _finding(
                "release-diff-import-behaviour",
                sev,
                f"New in this release: a module body ({'the package' if fs.role == 'init' else 'a module'}"
                f" runs it on import) does {_names(added)}"
                + (f", with {_names(kinds - added)}" if kinds - added else "")
                + "; no module body of the previous release did.",
                first,
                fs.path,
            )
        )
    return out


def _library_changes(previous: Surface, new: Surface) -> list[Finding]:
    """Library code (functions, run when called): a kind no module had before is worth a look,
    never a verdict on its own."""
    old_kinds: set[str] = set()
    for f in previous.files.values():
        if f.role in ("init", "module"):
            old_kinds.update(f.kinds)
    out: list[Finding] = []
    for fs in new.files.values():
        if fs.role not in ("init", "module"):
            continue
        added = (set(fs.kinds) - old_kinds) & {*ACTING, SECRETS, DESTINATION}
        if not added:
            continue
        kinds = set(fs.kinds)
        sev = M if _dangerous(kinds) and added & {NETWORK, SECRETS, DESTINATION} else L
        first = next(
            fs.kinds[k] for k in (NETWORK, PROCESS, EXEC, SECRETS, DESTINATION) if k in added
        )
        out.append(
            _finding(
                "release-diff-library-behaviour",
                sev,
                f"New in this release: library code does {_names(added)}, which no module of the "
                "previous release did.",
                first,
                fs.path,
            )
        )
        old_kinds.update(added)  # report each new kind once
    return out


def _obfuscation_changes(previous: Surface, new: Surface) -> list[Finding]:
    out: list[Finding] = []
    for fs in new.files.values():
        if fs.obfuscated is None:
            continue
        old = previous.files.get(fs.key)
        if old is not None and old.obfuscated is not None:
            continue
        active = fs.role in ACTIVE_ROLES or bool(fs.import_time)
        out.append(
            _finding(
                "release-diff-obfuscation",
                M if active else L,
                "New in this release: obfuscated or high-entropy data in "
                + (
                    "code that runs by itself " + WHEN.get(fs.role, "")
                    if active
                    else "a library module"
                )
                + ".",
                fs.obfuscated,
                fs.path,
            )
        )
    return out


def _dependency_changes(
    previous: Surface, new: Surface, info: DependencyInfo, opts: DiffOptions
) -> list[Finding]:
    out: list[Finding] = []
    where = _metadata_path(new)
    for name, text in sorted(new.requires.items()):
        if name in previous.requires or name == new.name:
            continue
        try:
            req = Requirement(text)
        except InvalidRequirement:  # kept only when valid
            continue
        optional = req.marker is not None and "extra" in str(req.marker)
        facts = info(name)
        sev: Severity | None = None
        why = ""
        if req.url:
            sev = M
            why = f"fetched from {req.url[:120]} instead of an index"
        elif facts.lookalike_of:
            sev = H
            why = f"its name imitates {facts.lookalike_of!r} (dependency confusion, typosquatting)"
        elif facts.known and facts.age_days is not None and facts.age_days < opts.young_days:
            sev = L if facts.same_owners else H
            why = f"a project this index has had for {facts.age_days:.0f} day(s)" + (
                " (it shares an owner with this project)" if facts.same_owners else ""
            )
        elif facts.known is False and not facts.popular:
            sev = M
            why = "not a project of this index nor a popular one"
        if sev is None:
            continue
        if optional and sev is not INFO:
            sev = {H: M, M: L, L: INFO}[sev]
            why += "; only with an extra"
        out.append(
            Finding(
                "release-diff-dependency",
                sev,
                f"New dependency in this release: {name} ({why}).",
                where,
                None,
                f"Requires-Dist: {text}"[:160],
            )
        )
    return out


def _metadata_path(surface: Surface) -> str:
    return surface.metadata_path or ("METADATA" if surface.is_wheel else "PKG-INFO")


# --- scanning with a previous release -------------------------------------------------------


@dataclass
class DiffResult:
    """A scan with the release diff folded in, and what the diff cost."""

    result: ScanResult
    diff: list[Finding]
    previous_seconds: float
    diff_seconds: float


Source = str | BinaryIO


def diff_archives(
    previous: ArchiveEvidence,
    new: ArchiveEvidence,
    *,
    previous_complete: bool = True,
    new_complete: bool = True,
    dependency_info: DependencyInfo = no_dependency_info,
    options: DiffOptions | None = None,
    config: ScanConfig | None = None,
    deadline: float | None = None,
) -> list[Finding]:
    """Compare two scans' evidence. Module bodies are analysed for the kinds the new release
    adds only (a second parse of those files alone, within ``config``'s parse budget)."""
    cfg = config or DEFAULT_CONFIG
    stop = deadline if deadline is not None else time.perf_counter() + cfg.max_seconds
    old_s = surface_of(previous, previous_complete, cfg)
    new_s = surface_of(new, new_complete, cfg)
    # Only files whose kinds could be new at import time are parsed again: the new release's
    # code files doing something, and the previous release's doing the same kinds.
    # A file unchanged since the previous release adds nothing: most of a release is such.
    before = {(_key(ev.relpath, previous.is_wheel), ev.text) for ev in previous.files if ev.text}
    texts = {ev.path: ev.text for ev in new.files}
    changed = [k for k, f in new_s.files.items() if (k, texts.get(f.path)) not in before]
    # the scan looked for blobs in the code it parsed; in the rest, changed files are searched
    old_by_path = {ev.path: ev for ev in previous.files}
    new_by_path = {ev.path: ev for ev in new.files}
    for k in changed:
        for surface, by_path in ((new_s, new_by_path), (old_s, old_by_path)):
            fs = surface.files.get(k)
            ev = by_path.get(fs.path) if fs is not None else None
            if fs is not None and ev is not None and fs.obfuscated is None and ev.py is None:
                fs.obfuscated = _blob_in_text(ev)
    suspects = [
        k
        for k in changed
        if new_s.files[k].role in ("init", "module")
        and set(new_s.files[k].kinds) & {*ACTING, DECODE}
    ]
    examined = True
    new_examined = True
    if suspects:
        new_examined = _fill_import_time(new_s, new, suspects, stop)
        wanted = set().union(*(set(new_s.files[k].import_time) for k in suspects))
        if wanted:
            baseline = [
                k
                for k, f in old_s.files.items()
                if f.role in ("init", "module") and set(f.kinds) & wanted
            ]
            examined = _fill_import_time(old_s, previous, baseline, stop)
    if not examined:
        old_s.complete = False
    findings = compare(old_s, new_s, dependency_info, options)
    if not examined:
        findings.append(
            Finding(
                "release-diff-incomplete",
                INFO,
                "Part of the previous release's import-time code could not be examined for the "
                "comparison (parse budget, time, or code the scan did not parse).",
            )
        )
    if not new_examined:
        findings.append(
            Finding(
                "release-diff-incomplete",
                INFO,
                "Part of this release's module bodies could not be examined for the comparison "
                "(parse budget, time, or code that does not parse): what they do on import was "
                "not compared.",
            )
        )
    return findings


def scan_with_previous(
    source: Source,
    filename: str,
    previous: Source,
    previous_filename: str,
    *,
    config: ScanConfig | None = None,
    dependency_info: DependencyInfo = no_dependency_info,
    options: DiffOptions | None = None,
) -> DiffResult:
    """Scan ``source`` and compare it with ``previous`` (the project's previous release of the
    same kind); the diff's findings join the scan's and the verdict is decided again.

    The previous archive is read under the same :class:`ScanConfig` (its own time budget); a
    previous archive that cannot be read leaves the scan as it was, with an info finding.
    """
    cfg = config or DEFAULT_CONFIG
    result, kept = examine(source, filename, config=cfg)
    started = time.perf_counter()
    prev_result, prev_kept = examine(previous, previous_filename, config=cfg)
    previous_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if not prev_kept.files:
        diff = [
            Finding(
                "release-diff-incomplete",
                INFO,
                f"The previous release ({previous_filename}) could not be read for comparison.",
            )
        ]
    else:
        diff = diff_archives(
            prev_kept,
            kept,
            previous_complete=prev_result.complete,
            new_complete=result.complete,
            dependency_info=dependency_info,
            options=options,
            config=cfg,
        )
    diff_seconds = time.perf_counter() - started
    merge(result, diff)
    result.seconds += previous_seconds + diff_seconds
    return DiffResult(result, diff, previous_seconds, diff_seconds)


MAX_PER_RULE = 25


def merge(result: ScanResult, diff: list[Finding]) -> None:
    """Add the diff's findings to a scan's and decide its verdict again."""
    if not diff:
        return
    order = {H: 0, M: 1, L: 2, INFO: 3}
    per_rule: dict[str, int] = {}
    for f in sorted(diff, key=lambda f: order[f.severity]):
        per_rule[f.rule] = per_rule.get(f.rule, 0) + 1
        if per_rule[f.rule] <= MAX_PER_RULE:  # keep reports readable, as the scan does
            result.findings.append(f)
    result.findings.sort(key=lambda f: (f.advisory, order[f.severity], f.file or "", f.line or 0))
    result.verdict, result.score = decide(result.findings)
