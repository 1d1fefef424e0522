"""Facts about one Python file, read with :mod:`ast` (parsed only, never compiled or run).

A *fact* is a neutral observation ("calls the network", "decodes base64", "runs a process",
"executes code built at run time"). Facts carry no verdict: :mod:`bastion.scanning.rules.combine`
weighs them together with where the file sits in the archive.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bastion.scanning.rules.reach import deferred_ranges, defined_ranges

# --- call classification -------------------------------------------------------------------

NET_CALLS = frozenset(
    {
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "urllib.request.Request",
        "urllib.request.build_opener",
        "urllib.urlopen",
        "urllib.urlretrieve",
        "urllib2.urlopen",
        "urllib2.Request",
        "urllib.request.install_opener",
        "requests.get",
        "requests.post",
        "requests.put",
        "requests.patch",
        "requests.request",
        "requests.head",
        "requests.Session",
        "requests.session",
        "requests.delete",
        "httpx.get",
        "httpx.post",
        "httpx.Client",
        "httpx.AsyncClient",
        "httpx.stream",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "httplib.HTTPConnection",
        "httplib.HTTPSConnection",
        "socket.socket",
        "socket.create_connection",
        "socket.gethostbyname",
        "socket.getaddrinfo",
        "aiohttp.ClientSession",
        "aiohttp.request",
        "urllib3.PoolManager",
        "urllib3.request",
        "ftplib.FTP",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "telnetlib.Telnet",
        "pycurl.Curl",
        "websocket.create_connection",
        "websocket.WebSocketApp",
        "websockets.connect",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "telebot.TeleBot",
        "discord_webhook.DiscordWebhook",
        "dhooks.Webhook",
        "paramiko.SSHClient",
        "wget.download",
    }
)
PROC_CALLS = frozenset(
    {
        "subprocess.Popen",
        "subprocess.call",
        "subprocess.run",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.startfile",
        "os.execv",
        "os.execve",
        "os.execl",
        "os.execle",
        "os.execlp",
        "os.execvp",
        "os.execvpe",
        "os.spawnl",
        "os.spawnv",
        "os.spawnve",
        "os.spawnlp",
        "os.posix_spawn",
        "os.posix_spawnp",
        "pty.spawn",
        "commands.getoutput",
        "commands.getstatusoutput",
        "asyncio.create_subprocess_shell",
        "asyncio.create_subprocess_exec",
        "win32api.ShellExecute",
        "win32process.CreateProcess",
        "ctypes.windll.shell32.ShellExecuteW",
        "webbrowser.open",
        "multiprocessing.Process",
    }
)
EXEC_CALLS = frozenset(
    {
        "exec",
        "eval",
        "execfile",
        "builtins.exec",
        "builtins.eval",
        "__builtin__.exec",
        "runpy.run_path",
        "runpy.run_module",
    }
)
DECODE_CALLS = frozenset(
    {
        "base64.b64decode",
        "base64.b32decode",
        "base64.b16decode",
        "base64.b85decode",
        "base64.a85decode",
        "base64.decodebytes",
        "base64.decodestring",
        "base64.urlsafe_b64decode",
        "base64.standard_b64decode",
        "zlib.decompress",
        "gzip.decompress",
        "bz2.decompress",
        "lzma.decompress",
        "marshal.loads",
        "codecs.decode",
        "binascii.unhexlify",
        "binascii.a2b_base64",
        "binascii.a2b_hex",
        "bytes.fromhex",
        "bytearray.fromhex",
        "pickle.loads",
        "cloudpickle.loads",
        "dill.loads",
        "zlib.decompressobj",
        "lzma.LZMADecompressor",
        "cryptography.fernet.Fernet",
        "Crypto.Cipher.AES.new",
        "pyaes.AESModeOfOperationCTR",
    }
)
COMPILE_CALLS = frozenset({"compile", "builtins.compile"})
RECON_CALLS = frozenset(
    {
        "socket.gethostname",
        "platform.node",
        "platform.uname",
        "getpass.getuser",
        "os.getlogin",
        "uuid.getnode",
        "socket.getfqdn",
        "pwd.getpwuid",
    }
)
WRITE_MODES = re.compile(r"[wax]")
CHMOD_CALLS = frozenset({"os.chmod", "os.fchmod"})
SECRET_ENV = re.compile(
    # names of secrets, not of settings: GITHUB_ACTIONS or PYPI_URL say where code runs
    r"(TOKEN|SECRET|PASSW|API_?KEY|ACCESS_?KEY|AWS_|CREDENTIAL|PRIVATE|SSH|"
    r"GOOGLE_APPLICATION|DISCORD|WEBHOOK)",
    re.IGNORECASE,
)
TEST_DIRS = frozenset(
    {"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks"}
)
# Parameters that hold wallet key material: nothing legitimate sends them to a remote host.
KEY_PARAM = re.compile(
    r"^_*(private_?key|priv_?key|privkey|pk_hex|mnemonic(_?phrase|_?words)?|seed_?(phrase|words)|"
    r"recovery_?phrase|secret_?phrase|wallet_?(key|secret))s?$",
    re.IGNORECASE,
)
# A shell command that reports who and where it runs: $(whoami), `hostname`, %USERNAME%...
SHELL_IDENTITY = re.compile(
    r"\$\((whoami|hostname|id)\)|`(whoami|hostname|id)`|%(USERNAME|COMPUTERNAME|USERDOMAIN)%",
)
SHELL_SENDER = re.compile(r"\b(curl|wget|nslookup|dig|ping|nc|ncat|Invoke-WebRequest|iwr)\b")
# pip driven from code, and where it installs from when that is not PyPI
PIP_CALLS = frozenset({"pip.main", "pip._internal.main", "pip._internal.cli.main.main"})
SETUP_CALLS = frozenset({"setup", "setuptools.setup", "distutils.core.setup"})
OFF_INDEX = re.compile(
    r"(?:^|\s)(?:-i|--index-url|--extra-index-url|-f|--find-links|--trusted-host)(?:\s|=)|"
    r"git\+|(?:https?|ftp)://"
)
# PEP 508 direct reference: "name @ https://host/file.whl", or a bare URL / VCS link
DIRECT_REFERENCE = re.compile(r"^[\w.\-\[\], ]+@\s*\S+://|^(?:git\+)?(?:https?|ftp|file)://")
# Calls that turn a file into a module (its code runs when it is loaded).
MODULE_LOADERS = frozenset(
    {
        "zipimport.zipimporter",
        "importlib.machinery.SourcelessFileLoader",
        "importlib.machinery.SourceFileLoader",
        "importlib.machinery.ExtensionFileLoader",
        "importlib.util.spec_from_file_location",
        "imp.load_source",
        "imp.load_compiled",
        "imp.load_module",
        "imp.load_dynamic",
        "runpy.run_path",
    }
)
# What a module legitimately loads from: source, archives of modules, extensions.
MODULE_FILE_EXTS = frozenset({"py", "pyw", "zip", "egg", "whl", "pyz", "so", "pyd", "dll"})
MODULE_FILE = re.compile(r"([\w.-]+)\.([A-Za-z0-9]{1,8})$")
OBF_NAME = re.compile(
    r"^(?:[lI1]{8,}|[Oo0]{8,}|[aA]{12,}|_0x[0-9a-fA-F]{3,}|__+[0-9a-fA-F_]{6,}|[A-Za-z]\d{15,})$"
)
CASE_FLIP = re.compile(r"[a-z][A-Z]|[A-Z][a-z]")


def is_obfuscated_name(name: str) -> bool:
    """Names an obfuscator makes: lIlI1..., _0x1f..., or long runs of random-case letters."""
    if OBF_NAME.match(name):
        return True
    # 40+ letters with the case flipping all the time (CamelCase flips once per word)
    return len(name) >= 40 and name.isalpha() and len(CASE_FLIP.findall(name)) >= len(name) // 3


@dataclass(frozen=True, slots=True)
class Fact:
    kind: str
    line: int
    detail: str


@dataclass
class PyFacts:
    """Everything :func:`analyse` noticed in one file."""

    facts: list[Fact] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)
    calls: dict[str, list[int]] = field(default_factory=dict)  # qualified name -> lines
    install_overrides: list[tuple[str, int]] = field(default_factory=list)
    syntax_error: str | None = None
    identifiers: int = 0
    functions: int = 0  # function and method definitions
    obfuscated_identifiers: int = 0
    # long literals that look like encoded data: line, length, entropy
    long_strings: list[tuple[int, int, float]] = field(default_factory=list)
    # data the analyser decoded statically (base64, hex, zlib...; never executed): line, bytes
    payloads: list[tuple[int, bytes]] = field(default_factory=list)
    # code an import of this module does not run: (first line, last line, function name)
    deferred: list[tuple[int, int, str]] = field(default_factory=list)
    # every function and method at the module's top level or in its classes: same shape
    defined: list[tuple[int, int, str]] = field(default_factory=list)

    def kinds(self) -> set[str]:
        return {f.kind for f in self.facts}

    def first(self, kind: str) -> Fact | None:
        return next((f for f in self.facts if f.kind == kind), None)


def shannon_entropy(text: str | bytes) -> float:
    import math
    from collections import Counter

    if not text:
        return 0.0
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_blobby(value: str | bytes) -> bool:
    """True for literals that look like encoded data rather than text or code."""
    sample = value[:4096]
    if isinstance(sample, str):
        sample = sample.encode("utf-8", "replace")
    if not sample:
        return False
    spaces = sum(sample.count(c) for c in (b" ", b"\n", b"\t"))
    return spaces / len(sample) < 0.02


MAX_DECODED = 2 * 1024 * 1024
EMBEDDED_CODE = re.compile(r"exec\(|eval\(|__import__\(|urlopen|subprocess|system\(|b64decode")


def _bounded_decompress(fn: str, data: bytes) -> bytes | None:
    import bz2
    import lzma
    import zlib

    try:
        if fn.startswith("zlib"):
            return zlib.decompressobj().decompress(data, MAX_DECODED)
        if fn.startswith("gzip"):
            return zlib.decompressobj(47).decompress(data, MAX_DECODED)
        if fn.startswith("bz2"):
            return bz2.BZ2Decompressor().decompress(data, MAX_DECODED)
        if fn.startswith("lzma"):
            return lzma.LZMADecompressor().decompress(data, MAX_DECODED)
    except (zlib.error, OSError, ValueError, EOFError, lzma.LZMAError):
        return None
    return None


class _Analyser(ast.NodeVisitor):
    def __init__(self, out: PyFacts, depth: int = 0) -> None:
        self.out = out
        self.depth = depth
        self.consts: dict[str, str | bytes] = {}
        self.strings: dict[str, str] = {}  # constant text found in what a name was built from
        self.alias: dict[str, str] = {}
        self.tainted: set[str] = set()  # names assigned from decoded or downloaded data
        self.remote: set[str] = set()  # names assigned from network responses
        self.local: set[str] = set()  # names assigned from local file reads
        self.install_classes: set[str] = set()
        self.in_install_class = 0  # inside a setup command override (its code runs on install)
        self.key_names: list[set[str]] = []  # per function: parameters holding key material

    def _secret_names(self) -> set[str]:
        return self.key_names[-1] if self.key_names else set()

    # --- helpers ---------------------------------------------------------------------------
    def add(self, kind: str, node: ast.AST, detail: str) -> None:
        self.out.facts.append(Fact(kind, getattr(node, "lineno", 0) or 0, detail))

    def qualname(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.alias.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Call):
                inner = self.qualname(node.value)
                if inner is None:
                    fn = self.qualname(node.value.func)
                    return f"{fn}().{node.attr}" if fn else None
                return f"{inner}.{node.attr}"
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            # __import__('os').system, importlib.import_module('os').system
            fn = self.qualname(node.func)
            if fn in ("__import__", "importlib.import_module", "builtins.__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    self.out.imports.add(arg.value)
                    return arg.value
            if fn == "getattr" and len(node.args) >= 2:
                base = self.qualname(node.args[0])
                attr = node.args[1]
                if base and isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                    return f"{base}.{attr.value}"
            return None
        if isinstance(node, ast.Subscript):
            # __builtins__['exec'], globals()['__builtins__'].exec, vars(builtins)['eval']
            sl = node.slice
            if isinstance(sl, ast.Constant) and isinstance(sl.value, str):
                return sl.value if sl.value in ("exec", "eval", "compile") else None
        return None

    def subtree_calls(self, node: ast.AST) -> Iterable[tuple[str, ast.Call]]:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                q = self.qualname(sub.func)
                if q:
                    yield q, sub

    def is_decoding(self, node: ast.AST) -> str | None:
        """Return a description when ``node`` computes data by decoding something."""
        for call in ast.walk(node):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr == "join"
                and call.args
            ):
                continue
            arg = call.args[0]
            if (
                isinstance(arg, ast.Call)
                and self.qualname(arg.func) == "map"
                and arg.args
                and (self.qualname(arg.args[0]) in ("chr", "ord"))
            ):
                return "chr-map-join"
            if isinstance(arg, (ast.ListComp, ast.GeneratorExp)) and any(
                isinstance(g.iter, ast.Constant)
                and isinstance(g.iter.value, str)
                and len(g.iter.value) >= 40
                for g in arg.generators
            ):
                # code rebuilt character by character from a literal (substitution cipher)
                return "char-substitution"
        for q, call in self.subtree_calls(node):
            if q in DECODE_CALLS or q.endswith((".decrypt", "b64decode", ".decompress")):
                return q
            if q in ("chr", "bytes", "bytearray") and any(
                isinstance(a, (ast.ListComp, ast.GeneratorExp, ast.List)) for a in call.args
            ):
                return q
            if q == "chr" and any(
                isinstance(b, ast.BinOp) and isinstance(b.op, ast.BitXor)
                for a in call.args
                for b in ast.walk(a)
            ):
                return "xor"
            if (
                q.endswith(".join")
                and call.args
                and isinstance(call.args[0], (ast.ListComp, ast.GeneratorExp))
            ):
                gen = call.args[0]
                if any(
                    isinstance(s, ast.Call) and self.qualname(s.func) in ("chr", "ord")
                    for s in ast.walk(gen)
                ):
                    return "chr-join"
            if (
                q.endswith(".decode")
                and call.args
                and isinstance(call.args[0], ast.Constant)
                and str(call.args[0].value).lower().replace("_", "").replace("-", "")
                in ("rot13", "hex", "base64", "zlib", "bz2")
            ):
                return q
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in self.tainted:
                return f"decoded value {sub.id}"
            if (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, (str, bytes))
                and len(sub.value) > 300
                and is_blobby(sub.value)
            ):
                return "long encoded literal"
            if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Slice):
                step = sub.slice.step
                if isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub):
                    return "reversed string"
        return None

    def is_remote(self, node: ast.AST) -> str | None:
        for q, _call in self.subtree_calls(node):
            if q in NET_CALLS or (
                q.endswith((".urlopen", ".read", ".text", ".content"))
                and (q.split(".")[0] in ("requests", "urllib", "urllib2", "httpx", "urllib3"))
            ):
                return q
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id in self.remote:
                return f"downloaded value {sub.id}"
            if isinstance(sub, ast.Attribute) and sub.attr in ("text", "content"):
                base = sub.value
                if isinstance(base, ast.Call) and self.qualname(base.func) in NET_CALLS:
                    return "response body"
        return None

    def static_value(self, node: ast.AST, budget: int = 12) -> str | bytes | None:
        """Evaluate decoding chains over literals (base64, hex, zlib, rot13, reversal).

        Only pure data transformations are evaluated; nothing from the file is run.
        """
        import base64
        import binascii
        import codecs

        if budget <= 0:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
            return node.value
        if isinstance(node, ast.Name):
            return self.consts.get(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.static_value(node.left, budget - 1)
            right = self.static_value(node.right, budget - 1)
            if type(left) is type(right) and left is not None and right is not None:
                joined = left + right  # type: ignore[operator]
                return joined if len(joined) <= MAX_DECODED else None
            return None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            inner = self.static_value(node.value, budget - 1)
            sl = node.slice
            if (
                inner is not None
                and sl.lower is None
                and sl.upper is None
                and isinstance(sl.step, ast.UnaryOp)
                and isinstance(sl.step.op, ast.USub)
            ):
                return inner[::-1]
            return None
        if not isinstance(node, ast.Call):
            return None
        q = self.qualname(node.func) or ""
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("decode", "encode"):
            inner = self.static_value(node.func.value, budget - 1)
            if inner is None:
                return None
            enc = "utf-8"
            if node.args and isinstance(node.args[0], ast.Constant):
                enc = str(node.args[0].value).lower()
            try:
                if isinstance(inner, bytes) and node.func.attr == "decode":
                    if enc in ("rot13", "rot_13"):
                        return None
                    return inner.decode(
                        enc if enc in ("utf-8", "utf8", "ascii", "latin-1", "latin1") else "utf-8",
                        "replace",
                    )
                if isinstance(inner, str) and node.func.attr == "encode":
                    return inner.encode("utf-8", "replace")
                if isinstance(inner, str) and node.func.attr == "decode":
                    return inner
            except (LookupError, ValueError):
                return None
            return None
        if not node.args:
            return None
        arg = self.static_value(node.args[0], budget - 1)
        if arg is None:
            return None
        raw = arg.encode("latin-1", "replace") if isinstance(arg, str) else arg
        last = q.rsplit(".", 1)[-1]
        try:
            if last in (
                "b64decode",
                "standard_b64decode",
                "decodebytes",
                "decodestring",
                "a2b_base64",
            ):
                return base64.b64decode(raw + b"=" * (-len(raw.strip()) % 4))
            if last == "urlsafe_b64decode":
                return base64.urlsafe_b64decode(raw + b"=" * (-len(raw.strip()) % 4))
            if last == "b32decode":
                return base64.b32decode(raw)
            if last == "b16decode":
                return base64.b16decode(raw, casefold=True)
            if last == "b85decode":
                return base64.b85decode(raw)
            if last == "a85decode":
                return base64.a85decode(raw)
            if last in ("unhexlify", "a2b_hex", "fromhex"):
                return binascii.unhexlify(b"".join(raw.split()))
            if last in ("decompress",):
                return _bounded_decompress(q, raw)
            if q == "codecs.decode" and len(node.args) > 1:
                codec = node.args[1]
                if isinstance(codec, ast.Constant) and str(codec.value).lower() in (
                    "rot13",
                    "rot_13",
                ):
                    text = arg if isinstance(arg, str) else arg.decode("latin-1")
                    return codecs.decode(text, "rot13")
                if isinstance(codec, ast.Constant) and str(codec.value).lower() in ("hex",):
                    return binascii.unhexlify(raw)
        except (ValueError, binascii.Error, TypeError):
            return None
        return None

    def embedded(self, payload: str | bytes, node: ast.AST, how: str) -> bool:
        """Analyse decoded data or code kept in a string as if it were a file of its own."""
        data = payload.encode("utf-8", "replace") if isinstance(payload, str) else payload
        if not data:
            return False
        line = getattr(node, "lineno", 0) or 0
        if len(self.out.payloads) < 20:
            self.out.payloads.append((line, data[:MAX_DECODED]))
        if self.depth >= 4 or len(data) > MAX_DECODED:
            return False
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
        sub = PyFacts()
        inner = _Analyser(sub, self.depth + 1)
        try:
            inner.visit(tree)
        except RecursionError:
            return False
        for fact in sub.facts:
            self.out.facts.append(Fact(fact.kind, line, f"{how}: {fact.detail}"))
        self.out.payloads.extend((line, p) for _l, p in sub.payloads[:10])
        self.out.long_strings.extend((line, n, e) for _l, n, e in sub.long_strings)
        self.out.identifiers += sub.identifiers
        self.out.obfuscated_identifiers += sub.obfuscated_identifiers
        self.add("embedded-code", node, how)
        return True

    # --- visitors --------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.out.imports.add(a.name)
            if a.asname:
                self.alias[a.asname] = a.name
            else:
                self.alias.setdefault(a.name.split(".")[0], a.name.split(".")[0])
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        mod = node.module or ""
        if node.level == 0 and mod:
            self.out.imports.add(mod)
        for a in node.names:
            if a.name == "*":
                continue
            full = f"{mod}.{a.name}" if mod and node.level == 0 else a.name
            self.alias[a.asname or a.name] = full
            if node.level == 0 and mod:
                self.out.imports.add(full)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for base in node.bases:
            q = self.qualname(base) or ""
            last = q.rsplit(".", 1)[-1]
            if last in (
                "install",
                "develop",
                "egg_info",
                "build_py",
                "bdist_egg",
                "sdist",
                "build",
                "install_lib",
                "install_scripts",
                "bdist_wheel",
                "easy_install",
            ):
                self.install_classes.add(node.name)
                self.out.install_overrides.append((node.name, node.lineno))
        if node.name in self.install_classes:
            self.in_install_class += 1
            try:
                self.generic_visit(node)
            finally:
                self.in_install_class -= 1
            return
        self.generic_visit(node)

    def text_parts(self, node: ast.AST) -> str:
        """All constant text an expression is built from (names resolved one level)."""
        parts: list[str] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, (str, bytes)):
                v = sub.value
                parts.append(v if isinstance(v, str) else v.decode("utf-8", "replace"))
            elif isinstance(sub, ast.Name) and sub.id in self.strings:
                parts.append(self.strings[sub.id])
            if sum(len(p) for p in parts) > 20_000:
                break
        return " ".join(parts)

    def visit_Assign(self, node: ast.Assign) -> None:
        if (
            len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(
                node.value, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.Tuple, ast.List)
            )
        ):
            text = self.text_parts(node.value)
            if text:
                self.strings[node.targets[0].id] = text[:20_000]
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = self.static_value(node.value)
            if value is not None and len(value) <= MAX_DECODED:
                self.consts[node.targets[0].id] = value
        secret = self._secret_names()
        if secret and any(isinstance(n, ast.Name) and n.id in secret for n in ast.walk(node.value)):
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        secret.add(n.id)
        if not self._may_carry_data(node.value):
            self.generic_visit(node)
            return
        if self.is_decoding(node.value):
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        self.tainted.add(n.id)
        if self._is_local_file_read(node.value):
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        self.local.add(n.id)
        if self.is_remote(node.value):
            for t in node.targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name):
                        self.remote.add(n.id)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        # text built piece by piece in a loop: out += chr(ord(c) ^ ord(k))
        if (
            isinstance(node.target, ast.Name)
            and self._may_carry_data(node.value)
            and (self.is_decoding(node.value))
        ):
            self.tainted.add(node.target.id)
        self.generic_visit(node)

    def _may_carry_data(self, value: ast.AST) -> bool:
        """Cheap pre-check before the taint helpers walk ``value`` several times."""
        # three lookups, not a union: building ``tainted | remote | local`` at every assignment
        # made a module of many decoded names quadratic (40,000 such lines: 32 s)
        known = (self.tainted, self.remote, self.local)
        for sub in ast.walk(value):
            if isinstance(sub, ast.Call):
                return True
            if isinstance(sub, ast.Name) and any(sub.id in names for names in known):
                return True
            if (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, (str, bytes))
                and len(sub.value) > 300
            ):
                return True
        return False

    def visit_Name(self, node: ast.Name) -> None:
        self.out.identifiers += 1
        if is_obfuscated_name(node.id):
            self.out.obfuscated_identifiers += 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.out.identifiers += 1
        self.out.functions += 1
        if is_obfuscated_name(node.name):
            self.out.obfuscated_identifiers += 1
        a = node.args
        params = [*a.posonlyargs, *a.args, *a.kwonlyargs]
        self.key_names.append({p.arg for p in params if KEY_PARAM.match(p.arg)})
        try:
            self.generic_visit(node)
        finally:
            self.key_names.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, (str, bytes)) and len(v) >= 512 and is_blobby(v):
            self.out.long_strings.append((node.lineno, len(v), shannon_entropy(v[:4096])))
        if isinstance(v, (str, bytes)) and 12 < len(v) < 200_000 and self.depth < 3:
            text = v if isinstance(v, str) else v.decode("utf-8", "replace")
            if EMBEDDED_CODE.search(text) and ("import" in text or "(" in text):
                self.embedded(text, node, "code kept in a string")

    def visit_Call(self, node: ast.Call) -> None:
        q = self.qualname(node.func)
        if q:
            self.out.calls.setdefault(q, []).append(node.lineno)
            self.classify_call(q, node)
        self.generic_visit(node)

    def classify_call(self, q: str, node: ast.Call) -> None:
        root = q.split(".", 1)[0]
        if (
            q in NET_CALLS
            or (
                root in ("requests", "httpx")
                and q.count(".") == 1
                and q.split(".")[1] in ("get", "post", "put")
            )
            or (root in ("socket",) and q.endswith((".connect", ".send", ".sendall")))
        ):
            self.add("net", node, q)
            address = self._written_address(node)
            if address:
                self.add("net-fixed", node, f"{q}({address[:100]})")
            self._key_to_host(q, node)
        if q in PROC_CALLS or q in PIP_CALLS:
            self._pip_install(q, node)
        if q in SETUP_CALLS:
            self._dependency_sources(node)
        if q in PROC_CALLS:
            self.add("proc", node, q)
            if self.in_install_class:
                self.add("install-hook-proc", node, q)
            cmd = (
                node.args[0]
                if node.args
                else next(
                    (k.value for k in node.keywords if k.arg in ("args", "command", "cmd")), None
                )
            )
            how = (
                self.is_decoding(cmd)
                if cmd is not None and not (isinstance(cmd, ast.Constant))
                else None
            )
            if how:
                self.add("proc-decoded", node, f"{q}({how})")
            if (
                not self.key_names
                and isinstance(cmd, ast.Constant)
                and isinstance(cmd.value, str)
                and re.search(r"[>|;`]|&&|\$\(", cmd.value)
            ):
                # a shell pipeline run by the module body itself, not by a function
                self.add("proc-toplevel-shell", node, cmd.value[:120])
            for kw in node.keywords:
                if kw.arg in ("creationflags", "startupinfo") or (kw.arg == "start_new_session"):
                    self.add("proc-hidden", node, q)
            for _node in [node]:
                text = self.text_parts(node)
                if text:
                    low = text.lower()
                    if "socket" in low and ("dup2" in low or "subprocess" in low or "pty" in low):
                        self.add("revshell", node, text[:120])
                    if any(
                        k in low
                        for k in (
                            "curl ",
                            "wget ",
                            "-w hidden",
                            "-windowstyle",
                            "-ep bypass",
                            "-executionpolicy bypass",
                            "-encodedcommand",
                            " -enc ",
                            "downloadstring",
                            "downloadfile",
                            "frombase64string",
                            "iwr ",
                            "invoke-",
                            "certutil",
                            "bitsadmin",
                            "mshta",
                            "/dev/tcp",
                            "| sh",
                            "|sh",
                            "| bash",
                            "|bash",
                            "chmod +x",
                            "base64 -d",
                            "nohup ",
                            "start /b",
                            "-windowstyle",
                            "python -c",
                            "python3 -c",
                            "rundll32",
                            "regsvr32",
                            "schtasks",
                            "crontab",
                        )
                    ):
                        self.add("proc-shell", node, text[:120])
                    if (
                        SHELL_IDENTITY.search(text)
                        and SHELL_SENDER.search(text)
                        and re.search(r"https?://|\b\d{1,3}(\.\d{1,3}){3}\b|\.[a-z]{2,}\b", text)
                    ):
                        self.add("identity-beacon", node, text[:120])
        loader = q.split("()", 1)[0]
        if loader in MODULE_LOADERS or (q.endswith(".load_module") and "()" in q):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    m = MODULE_FILE.search(sub.value.strip())
                    if m and m.group(2).lower() not in MODULE_FILE_EXTS:
                        self.add(
                            "load-disguised-module",
                            node,
                            sub.value.strip().rsplit("/", 1)[-1][:120],
                        )
                        break
        if q in CHMOD_CALLS:
            self.add("chmod", node, q)
        if q in RECON_CALLS:
            self.add("recon", node, q)
        if q in ("os.getenv", "os.environ.get", "os.environ.__getitem__", "os.getenvb"):
            arg = node.args[0] if node.args else None
            if (
                isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and SECRET_ENV.search(arg.value)
            ):
                self.add("env-secret", node, arg.value)
        if q in ("os.environ.items", "os.environ.copy") or (
            q in ("dict", "json.dumps", "str")
            and any(self.qualname(a) == "os.environ" for a in node.args)
        ):
            self.add("env-dump", node, q)
        if q in DECODE_CALLS or q.endswith("b64decode"):
            self.add("decode", node, q)
            decoded = self.static_value(node)
            if decoded is not None and len(decoded) >= 8:
                text = decoded if isinstance(decoded, str) else decoded.decode("utf-8", "replace")
                if re.search(r"https?://|ftp://", text):
                    self.add("encoded-url", node, text[:120])
                self.embedded(decoded, node, f"decoded by {q}")
        if q in ("open", "io.open", "builtins.open", "codecs.open"):
            mode = node.args[1] if len(node.args) > 1 else None
            for kw in node.keywords:
                if kw.arg == "mode":
                    mode = kw.value
            if (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and WRITE_MODES.search(mode.value)
            ):
                self.add("write", node, f"open(mode={mode.value!r})")
        if q.endswith((".write_bytes", ".write_text")) or q in (
            "shutil.copy",
            "shutil.copyfile",
            "shutil.copy2",
            "shutil.move",
            "urllib.request.urlretrieve",
            "urllib.urlretrieve",
            "wget.download",
        ):
            self.add("write", node, q)
        if q in EXEC_CALLS or q in COMPILE_CALLS:
            arg = node.args[0] if node.args else None
            if arg is None or (isinstance(arg, ast.Constant) and len(str(arg.value)) < 300):
                return
            how = self.is_decoding(arg)
            remote = self.is_remote(arg)
            if remote:
                self.add("exec-remote", node, f"{q}({remote})")
            elif how:
                self.add("exec-decoded", node, f"{q}({how})")
            elif self._is_local_file_read(arg):
                self.add("exec-file", node, q)
            else:
                self.add("exec", node, q)

    def _written_address(self, node: ast.Call) -> str | None:
        """The web address a network call goes to when the code itself fixes it (a literal, a
        constant, or constants joined), not when a caller, a setting or a response supplies it.
        A library talks to whatever its user names; a payload talks to its author's server."""
        args = [*node.args[:1], *(k.value for k in node.keywords if k.arg in ("url", "uri"))]
        for arg in args:
            value = self.static_value(arg)
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if isinstance(value, str) and re.match(r"\s*(?:https?|ftp)://[^/\s]", value):
                return value.strip()
        return None

    def _key_to_host(self, q: str, node: ast.Call) -> None:
        """A parameter holding wallet key material, sent to an address written in the code."""
        secret = self._secret_names()
        if not secret:
            return
        url = (
            node.args[0]
            if node.args
            else next((k.value for k in node.keywords if k.arg in ("url", "host", "address")), None)
        )
        if not (
            isinstance(url, ast.Constant)
            and isinstance(url.value, str)
            and re.match(r"(https?|wss?)://[^/]*[a-zA-Z]", url.value)
        ):
            return
        rest = [*node.args[1:], *(k.value for k in node.keywords)]
        for arg in rest:
            for n in ast.walk(arg):
                if isinstance(n, ast.Name) and n.id in secret:
                    self.add("key-to-host", node, f"{q}({url.value[:80]}, ... {n.id} ...)")
                    return

    def _pip_install(self, q: str, node: ast.Call) -> None:
        """pip run by the code itself: another package installed outside the resolver."""
        words = [w for p in self.text_parts(node).split() for w in p.split()]
        if "install" not in words or not (
            q in PIP_CALLS
            or any(w in ("pip", "pip3") or w.endswith(("/pip", "/pip3")) for w in words)
            or ("-m" in words and "pip" in " ".join(words))
        ):
            return
        text = " ".join(words)
        source = OFF_INDEX.search(text)
        if source:
            self.add("pip-install-url", node, text[:160])
        else:
            self.add("pip-install", node, text[:160])

    def _dependency_sources(self, node: ast.Call) -> None:
        """setup(install_requires=[... @ https://...], dependency_links=[...])."""
        for kw in node.keywords:
            if kw.arg not in (
                "install_requires",
                "setup_requires",
                "dependency_links",
                "extras_require",
                "tests_require",
            ):
                continue
            for sub in ast.walk(kw.value):
                if not (isinstance(sub, ast.Constant) and isinstance(sub.value, str)):
                    continue
                v = sub.value.strip()
                if kw.arg == "dependency_links" and re.match(r"(git\+)?(https?|ftp|file)://", v):
                    self.add("dependency-link", sub, v[:160])
                elif DIRECT_REFERENCE.search(v):
                    self.add("direct-url-dependency", sub, v[:160])

    def _is_local_file_read(self, arg: ast.AST) -> bool:
        for q, _ in self.subtree_calls(arg):
            if q in ("open", "io.open", "codecs.open") or q.endswith(
                (".read_text", ".read", ".read_bytes", ".readlines")
            ):
                return True
        return any(isinstance(n, ast.Name) and n.id in self.local for n in ast.walk(arg))


def role_of(relpath: str, is_wheel: bool = False) -> str:
    """Where a file sits decides when its code runs.

    ``setup``: setup.py, run by pip at install time; ``pth``: run at every interpreter start;
    ``init``: a top-level package's ``__init__.py`` (or a wheel's top-level module), run on
    import; ``test``: tests, docs and examples (not run on install or import); ``module``: the
    rest of the library.
    """
    parts = relpath.split("/")
    base = parts[-1]
    if base.endswith(".pth"):
        return "pth"
    if base == "setup.py" and len(parts) <= 2:
        return "setup"
    lowered = [p.lower() for p in parts[:-1]]
    if (
        any(p in TEST_DIRS for p in lowered)
        or base.startswith("test_")
        or base.endswith(("_test.py", "conftest.py"))
    ):
        return "test"
    depth = len(parts) - (1 if parts[0] in ("src", "lib") else 0)
    if base == "__init__.py" and depth <= 2:
        return "init"
    if depth == 1 and is_wheel and base.endswith(".py"):
        return "init"
    return "module"


def analyse(source: bytes, filename: str = "<archive>", *, reach: bool = False) -> PyFacts:
    """Parse ``source`` and collect facts. Never executes or compiles it to run.

    Which functions an import reaches (:attr:`PyFacts.deferred`) is worked out only when
    ``reach`` asks for it (the caller knows the module runs on import): it costs about half
    the analysis again."""
    import warnings

    out = PyFacts()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        out.syntax_error = str(exc)[:200]
        return out
    analyser = _Analyser(out)
    try:
        analyser.visit(tree)
    except RecursionError:
        out.syntax_error = "too deeply nested to analyse"
        return out
    if isinstance(tree, ast.Module):
        if reach:
            out.deferred = deferred_ranges(tree)
        out.defined = defined_ranges(tree)
        blocker = install_blocker(tree, analyser.install_classes)
        if blocker is not None:
            out.facts.append(Fact("blocks-install", blocker.lineno, ast.unparse(blocker)[:120]))
    return out


# Conditions under which refusing to install is ordinary: an unsupported interpreter or
# platform, or an opt-in environment variable (renamed packages' tombstones use one).
LEGIT_GUARD = re.compile(
    r"version_info|python_version|hexversion|implementation|platform|os\.name|maxsize|"
    r"environ|getenv"
)
EXIT_CALLS = frozenset({"sys.exit", "exit", "quit", "os._exit"})


def _aborts(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Raise):
        return stmt.exc is not None
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        fn = ast.unparse(stmt.value.func)
        args = stmt.value.args
        return (
            fn in EXIT_CALLS
            and bool(args)
            and not (isinstance(args[0], ast.Constant) and args[0].value in (0, None))
        )
    return False


def _find_abort(
    body: list[ast.stmt], guards: list[tuple[ast.expr, bool]], in_hook: bool
) -> ast.stmt | None:
    """An abort in ``body`` (following ``if`` branches) reached under ``guards``."""
    for stmt in body:
        if _aborts(stmt):
            texts = [(ast.unparse(test), negated) for test, negated in guards]
            if any(LEGIT_GUARD.search(t) for t, _ in texts):
                continue
            if in_hook or not texts:
                return stmt  # an install hook that fails, or setup.py failing outright
            # setup.py failing unless it is asked to build (sdist, egg_info): the archive can
            # be made and published, every installation fails
            if any("argv" in t and (("not " in t) != negated) for t, negated in texts):
                return stmt
        elif isinstance(stmt, ast.If):
            found = _find_abort(stmt.body, [*guards, (stmt.test, False)], in_hook) or (
                _find_abort(stmt.orelse, [*guards, (stmt.test, True)], in_hook)
            )
            if found is not None:
                return found
    return None


def install_blocker(tree: ast.Module, install_classes: set[str]) -> ast.stmt | None:
    """A statement of setup.py that makes every installation fail, or None.

    Dependency-confusion placeholders hold a name this way: the archive builds, but installing
    it raises. Failing on an unsupported Python, platform or without an opt-in environment
    variable is ordinary and not reported.
    """
    found = _find_abort(tree.body, [], False)
    if found is not None:
        return found
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in install_classes:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "run":
                    found = _find_abort(item.body, [], True)
                    if found is not None:
                        return found
    return None
