"""Why each rule counts and what would make it clean: the one catalogue of the scanner's rules.

A verdict a publisher cannot read is a verdict they cannot fix, and one a moderator cannot
read is one they release or remove on faith. Every rule id the scanner can emit has an entry
here: a sentence on why the rule counts (when the code runs, where the data goes) and one on
what would make the file clean. ``tests/scanning/test_explain.py`` reads the scanner's sources
for rule ids and fails on one without an entry, so a new rule cannot skip it.

``bastion scan --explain``, the upload's answer for a held file, the stored findings and the
pages owners and moderators read all take their wording from here. Like the rest of
:mod:`bastion.scanning`, this module does not import Django.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bastion.scanning.result import (
    SEVERITY_POINTS,
    SUSPICIOUS_SCORE,
    Finding,
    Severity,
    Verdict,
    deciding,
)


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a reader needs besides the finding's own sentence.

    ``why``: why the evidence counts against a package (when it runs, what it combines).
    ``clean_if``: the change to the package that would make the rule stop firing for a good
    reason (never "rename the variable": a change that hides the behaviour is not clean).
    """

    why: str
    clean_if: str


_R = RuleInfo

#: Every rule id the scanner emits, by id.
RULES: Final[Mapping[str, RuleInfo]] = {
    # --- code that builds code ------------------------------------------------------------
    "exec-downloaded-code": _R(
        "Code fetched from the network and executed is whatever the server sends that day, "
        "never what the index reviewed.",
        "Ship the code in the package instead of downloading it, and import it normally.",
    ),
    "exec-obfuscated-code": _R(
        "Decoding data and executing it hides the code that really runs from every reviewer; "
        "packed payloads are the most common shape of malware on package indexes.",
        "Ship the code as readable source and import it; do not decode and exec strings.",
    ),
    "dynamic-exec": _R(
        "exec/eval/compile of a string built at run time, in code that runs on install or "
        "import, runs code nobody can read in the archive.",
        "Call the code directly (a version number: declare it in pyproject.toml or read it "
        "with a regular expression), or move the evaluation into a function the user calls.",
    ),
    "encoded-url": _R(
        "A web address kept encoded (base64, hex, reversed...) has no reason to hide from a "
        "reader except to hide where data goes or comes from.",
        "Write the address in plain text, or drop the network call from install/import code.",
    ),
    "code-hidden-by-whitespace": _R(
        "Code pushed hundreds of columns to the right is invisible in editors and diffs: it is "
        "written to escape review.",
        "Put every statement on its own visible line.",
    ),
    "embedded-executable": _R(
        "A Windows or Linux program encoded as text inside Python code is a binary smuggled "
        "past the archive's file list, to be written out and run.",
        "Remove the embedded program; ship binaries as ordinary files of a platform wheel built "
        "from published sources.",
    ),
    # --- obfuscation ------------------------------------------------------------------------
    "obfuscated-identifiers": _R(
        "Machine-generated look-alike names (lIlI1, _0x1f...) are the mark of an obfuscator; "
        "combined with execution or in setup.py they hide what the code does.",
        "Publish the readable source, not the obfuscator's output.",
    ),
    "encoded-payload": _R(
        "A large high-entropy blob that is decoded or executed where code runs on install or "
        "import is the usual container of a packed payload.",
        "Ship the data as a package data file read by a function the user calls, or ship the "
        "code itself as source.",
    ),
    "high-entropy-blob": _R(
        "A large random-looking string literal may be a packed payload; alone it is weak "
        "evidence (keys, test vectors and images look the same).",
        "Nothing on its own (low does not change a verdict); a package data file read by a "
        "function the user calls keeps it out of the code.",
    ),
    "pyarmor-protected": _R(
        "PyArmor-protected code is encrypted bytecode that no reviewer (or scanner) can read; "
        "malware uses it to hide, and in setup.py it runs unreadable code at install time.",
        "Publish readable source; keep protected builds off a public index.",
    ),
    # --- install time, import time, interpreter start ---------------------------------------
    "download-and-execute": _R(
        "Code that runs on install, import or interpreter start talks to the network and runs, "
        "unpacks or marks executable what it gets: the shape of a dropper.",
        "Move the download into a function the user calls, or ship the data in the package.",
    ),
    "network-and-write": _R(
        "Code that runs on install, import or interpreter start downloads and writes to disk "
        "before anyone called the package.",
        "Move the download into a function the user calls, or ship the data in the package.",
    ),
    "exfiltration": _R(
        "Machine details, environment variables or credentials are collected and sent over "
        "the network: data flows from the user's machine to a destination the package chose.",
        "Remove the collection, or make sending it an explicit, documented call the user makes.",
    ),
    "setup-network": _R(
        "setup.py talking to the network runs on every install, on every machine, before the "
        "user has run anything; what it fetches is not what the index reviewed.",
        "Declare what you need as dependencies or ship the data in the sdist; build steps "
        "belong in a build backend's declared requirements.",
    ),
    "network-on-start": _R(
        "A network call in code that runs on import or at interpreter start runs for everyone "
        "who imports the package, without being asked.",
        "Move the download into a function the user calls, or ship the data in the package.",
    ),
    "suspicious-destination": _R(
        "Webhooks, paste sites, tunnels and raw IP addresses are throw-away destinations no "
        "library needs; talking to one on install or import is how stolen data leaves.",
        "Use your project's own documented host, or remove the call from install/import code.",
    ),
    "suspicious-url": _R(
        "A throw-away destination (webhook, paste site, tunnel, raw IP) named in code that "
        "runs on install or import.",
        "Use your project's own documented host, or remove the address.",
    ),
    "shell-dropper": _R(
        "A shell or PowerShell command that downloads, unpacks or opens a shell hands the "
        "machine to whatever that command fetches.",
        "Do the work in Python with files shipped in the package; do not pipe downloads into a "
        "shell.",
    ),
    "hidden-process": _R(
        "A program started with its window hidden, or built from decoded data, on install or "
        "import is meant not to be noticed.",
        "Start only programs the package documents, visibly, from a function the user calls.",
    ),
    "shell-on-import": _R(
        "The module body runs a shell pipeline as soon as the package is imported: every "
        "import runs it.",
        "Move the command into a function the user calls.",
    ),
    "decoded-command": _R(
        "The command line of a started program is decoded from hidden data, so the archive "
        "never shows what runs.",
        "Write the command in plain text, in a function the user calls.",
    ),
    "persistence": _R(
        "Writing to autostart locations (registry Run keys, cron, systemd, startup folders) "
        "makes code survive the package and run at every login or boot.",
        "Remove the autostart entry; leave service installation to the user's own tools.",
    ),
    "anti-analysis": _R(
        "Checking for sandboxes, virtual machines or debuggers before acting is how malware "
        "hides from analysis; a library has no reason to care.",
        "Remove the environment checks.",
    ),
    "runs-process": _R(
        "Starting another program on install or import runs code outside the package's "
        "source; git and compilers in setup.py are common (low), on import less so.",
        "Move the call into a function the user calls, or into the build backend's "
        "declared build steps.",
    ),
    "credential-theft": _R(
        "Browser, wallet or chat-app secrets are read and a way to send them is there: data "
        "flows from the user's accounts to someone else.",
        "Remove the access to other applications' secrets.",
    ),
    "credential-access": _R(
        "Reading browser, wallet, chat-app or credential files is what stealers do; legitimate "
        "tools that do it document it and never on install.",
        "Remove access to other applications' secret stores; if reading them is the package's "
        "purpose, say so in its description so that a moderator can review and release it.",
    ),
    "dropper": _R(
        "A program is downloaded to disk and started, from a hidden, encoded or throw-away "
        "address: nobody can review what runs.",
        "Ship the program in a platform wheel, or download from your documented host with a "
        "checked digest, from a function the user calls.",
    ),
    "download-and-run": _R(
        "Downloading programs and starting them is normal for installers of drivers or tunnels "
        "but is also a dropper's job (low on its own).",
        "Nothing on its own (low does not change a verdict); download from your documented "
        "host and check a pinned digest, so that other rules have nothing to add.",
    ),
    "reverse-shell": _R(
        "A socket wired to a shell gives a remote party control of the machine.",
        "Remove it; remote-control features belong in an explicit, documented tool.",
    ),
    "installs-from-url": _R(
        "pip run by the package against a URL, a git repository or another index installs "
        "what that address serves, outside the index and the user's resolver.",
        "Declare the dependency in the metadata, as a name from the index.",
    ),
    "pip-install": _R(
        "Running pip from setup.py, an __init__ or a .pth file installs packages behind the "
        "resolver's back, on every install or import.",
        "Declare the packages as dependencies in the metadata.",
    ),
    "direct-url-dependency": _R(
        "A dependency fetched from a web address is decided by whoever controls that address, "
        "not by the index (a fork on a public code host is medium, anything else high).",
        "Depend on a released name from the index.",
    ),
    "dependency-links": _R(
        "dependency_links points installers at a download location outside the index.",
        "Remove dependency_links and depend on released names from the index.",
    ),
    "key-exfiltration": _R(
        "A private key or seed phrase passed in by the caller is sent to an address in the "
        "code: the data flow is the theft, wherever the code sits.",
        "Never send keys anywhere; sign locally and send only signatures.",
    ),
    "identity-beacon": _R(
        "A shell command sending the user or host name to a remote address tells an attacker "
        "which machines installed the package.",
        "Remove the beacon; usage statistics need the user's consent and a documented opt-in.",
    ),
    "hardcoded-webhook": _R(
        "A Discord webhook or Telegram bot token is a ready-made channel to send data out, "
        "usable by anyone who reads the code; libraries never need one.",
        "Remove the token; let the user configure their own webhook at run time.",
    ),
    "script-dropper": _R(
        "A shell or batch script in the archive downloads and runs something, opens a shell or "
        "installs itself to start with the system.",
        "Remove the script, or make it do only what the package documents without downloads.",
    ),
    # --- packages with no code, placeholders, binaries --------------------------------------
    "install-hook-without-code": _R(
        "A package with no code of its own that starts a program from its install command "
        "exists only to act on the machine that installs it.",
        "Ship the package's code; keep setup.py to declaring metadata.",
    ),
    "name-placeholder": _R(
        "A package with no code whose setup.py makes every installation fail holds a name, "
        "the set-up of dependency confusion and typosquatting.",
        "Publish real code under the name, or ask the index's operators to reserve it.",
    ),
    "stdlib-lookalike-import": _R(
        "An import of a typo of a standard-library module that the archive does not contain "
        "pulls in whatever package squats that name.",
        "Import the standard module by its real name.",
    ),
    "pure-wheel-extension": _R(
        "A wheel tagged pure Python that imports a compiled module on import runs native code "
        "that build tools would have tagged for a platform: it was slipped in by hand.",
        "Build the wheel with your build backend so that it carries its platform tag.",
    ),
    "runs-bundled-binary": _R(
        "Install- or import-time code starts a prebuilt program shipped in the sdist: native "
        "code nobody can review, run without being asked.",
        "Build the program from source in the build backend, or ship it in a platform wheel.",
    ),
    "prebuilt-extension-on-import": _R(
        "An sdist ships a compiled extension without its source and imports it on import: "
        "unreviewable native code on every import.",
        "Ship the extension's source in the sdist and let the build compile it.",
    ),
    "disguised-module": _R(
        "Code is loaded from a file of the package named like data (.dat, .crt, a stray .pyc): "
        "the real code hides behind a harmless name.",
        "Ship the code as a .py module and import it normally.",
    ),
    "pth-import": _R(
        "A .pth file's import lines run every time Python starts, in every program of that "
        "environment (low: some tools need it).",
        "Drop the .pth hook unless the package really must run at interpreter start.",
    ),
    "pth-code-execution": _R(
        "A .pth file that executes, decodes, talks to the network or starts processes runs "
        "that code at every interpreter start: the most persistent place there is.",
        "Remove the code from the .pth file; import hooks need only a plain import line.",
    ),
    "release-diff-dependency": _R(
        "A new release that starts depending on a look-alike, very young or unknown project "
        "is how a compromised release pulls its payload in (dependency injection).",
        "Depend on the project you meant, by its exact name, or explain the new dependency "
        "in the release notes so a moderator can clear it.",
    ),
    "release-diff-incomplete": _R(
        "Part of the previous or the new release could not be examined, so the comparison "
        "between them is partial.",
        "Nothing to change in the package; a moderator reviews what was not compared.",
    ),
    "release-diff-install-hook": _R(
        "A release that newly replaces an install command or brings its own build backend "
        "gains a place to run code on every machine that installs it.",
        "Use the standard build backend and setuptools' own commands, or keep the hook the "
        "previous release already had.",
    ),
    "release-diff-pth": _R(
        "A .pth file new in this release runs at every interpreter start, in every program of "
        "the environment: a compromised release gains the most persistent place there is.",
        "Drop the new .pth file unless the package must run at interpreter start; one that "
        "lists paths only is info.",
    ),
    "release-diff-install-behaviour": _R(
        "The new release's install code does what the previous release's did not (network, "
        "processes, exec...): a compromised release acts on every machine that installs it.",
        "Keep setup.py to declaring metadata, or explain the change in the release notes so "
        "a moderator can clear it.",
    ),
    "release-diff-import-behaviour": _R(
        "A module body of the new release does on import what no module body of the previous "
        "release did: a compromised release runs its payload as soon as it is imported.",
        "Move the new behaviour into a function the user calls, or explain it in the release "
        "notes so a moderator can clear it.",
    ),
    "release-diff-library-behaviour": _R(
        "Library code of the new release does what no module of the previous release did: "
        "worth a look, rarely a verdict on its own.",
        "Nothing if the change is intended; explain it in the release notes so a moderator "
        "can clear it.",
    ),
    "release-diff-obfuscation": _R(
        "Obfuscated or high-entropy data the previous release did not have is how a "
        "compromised release hides an added payload.",
        "Ship the new code as readable source and data as package data files.",
    ),
    "pth-opt-in-hook": _R(
        "A .pth file imports the package's own module at every interpreter start when a "
        "variable named after the package is set: an opt-in start-up hook, as coverage tools "
        "use; what the module then does is weighed with the module.",
        "Nothing, if the hook is wanted; otherwise drop the .pth file.",
    ),
    "disguised-executable": _R(
        "An executable named like an image, text or data file hides a program from anyone "
        "looking at the file list.",
        "Name the binary for what it is and ship it in a platform wheel.",
    ),
    "binary-in-sdist": _R(
        "A source distribution is meant to be reviewable from source; a prebuilt program or "
        "library in it is not.",
        "Remove the prebuilt file from the sdist and build it from source.",
    ),
    "executable-in-wheel": _R(
        "A standalone program (.exe, .msi...) in a wheel is native code outside Python's "
        "import machinery (low: some tools bundle helpers).",
        "Nothing on its own (low does not change a verdict); document the helper, or remove it.",
    ),
    "nested-archive": _R(
        "An archive inside the archive is not scanned inside (info).",
        "Ship the files unpacked if the package needs them.",
    ),
    # --- archive shape ---------------------------------------------------------------------
    "archive-absolute-path": _R(
        "A member with an absolute path would be written outside the install folder.",
        "Build the archive with your build backend (relative paths only).",
    ),
    "archive-path-traversal": _R(
        "A member path with .. climbs out of the install folder and can overwrite other files.",
        "Build the archive with your build backend (no .. in member paths).",
    ),
    "archive-bad-name": _R(
        "Control characters or backslashes in a member name make tools disagree on which file "
        "is which.",
        "Use plain forward-slash paths.",
    ),
    "archive-path-too-long": _R(
        "An unusually long or deep path is a way to make tools fail or disagree.",
        "Shorten the paths.",
    ),
    "archive-duplicate-name": _R(
        "Two members with one name let an installer unpack other content than a reviewer reads.",
        "Build the archive again so each name appears once.",
    ),
    "archive-link-escape": _R(
        "A link pointing outside the archive lets an unpack write or read anywhere on disk.",
        "Replace links with copies of the files.",
    ),
    "archive-internal-link": _R(
        "A link that stays inside the archive is harmless (info).",
        "Nothing; replacing it with a copy silences it.",
    ),
    "archive-special-file": _R(
        "Devices, FIFOs and sparse files have no place in a distribution and attack unpackers.",
        "Build the archive from regular files only.",
    ),
    "archive-too-many-members": _R(
        "An archive with more members than the limit is built to exhaust tools (and was not "
        "examined whole).",
        "Ship fewer files, or ask the operators to raise the limit.",
    ),
    "archive-bomb": _R(
        "A member or archive that expands beyond the limits, or compresses far beyond normal "
        "ratios, is built to exhaust disks and scanners.",
        "Ship data at ordinary compression and size, or ask the operators for a higher limit.",
    ),
    "archive-encrypted": _R(
        "An encrypted member cannot be reviewed by anyone, and installers cannot read it.",
        "Ship members unencrypted.",
    ),
    "archive-unsupported-compression": _R(
        "A compression method installers do not support leaves content nobody reviewed.",
        "Build the archive with deflate or stored members.",
    ),
    "archive-time-limit": _R(
        "Reading the archive took longer than allowed, so part of it was not examined.",
        "Ship a smaller or simpler archive; a retry with larger budgets may complete the scan.",
    ),
    "archive-corrupt-member": _R(
        "A member that cannot be read was not examined, and installers may read it otherwise.",
        "Build the archive again.",
    ),
    "archive-prepended-data": _R(
        "Data before a zip's first member is how polyglot files hide a second content.",
        "Build the wheel with your build backend, without anything before it.",
    ),
    "archive-zip-confusion": _R(
        "Local headers and the central directory disagree, so installers could unpack other "
        "files than those scanned.",
        "Build the wheel with your build backend.",
    ),
    "archive-unreadable": _R(
        "A file that cannot be read as a wheel or sdist cannot be reviewed.",
        "Upload a wheel or sdist your build backend produced.",
    ),
    # --- the scan itself -----------------------------------------------------------------------
    "scan-time-limit": _R(
        "The scan stopped before the end of the archive; what it did not read may be exactly "
        "what would hold the file.",
        "Ship a smaller archive; the index retries with larger budgets before holding it.",
    ),
    "unparsed-code": _R(
        "A file the rules needed parsed was only searched for tokens (too large, or the parse "
        "budget was spent), so the scan is incomplete.",
        "Split very large generated modules or ship them as data; the index retries with "
        "larger budgets.",
    ),
    "scan-incomplete": _R(
        "Part of the archive was not examined; a verdict is the evidence found, so the file is "
        "held until someone has looked.",
        "Make the archive smaller or simpler, or ask a moderator to review and release it.",
    ),
    "rules-error": _R(
        "The operator's own YARA rules did not compile, so only the bundled rules ran.",
        "The operator fixes the rule files (bastion scan --rules-dir names the error).",
    ),
    # --- advisories --------------------------------------------------------------------------
    "legacy-crypto-pyopenssl": _R(
        "An advisory, never part of the verdict: the pyOpenSSL API used is deprecated or "
        "removed by pyOpenSSL itself.",
        "Use the PyCA cryptography API named in the message.",
    ),
    "legacy-crypto-m2crypto": _R(
        "An advisory, never part of the verdict: M2Crypto is a legacy OpenSSL binding.",
        "Use PyCA cryptography (and the ssl module for TLS).",
    ),
    "legacy-crypto-pycrypto": _R(
        "An advisory, never part of the verdict: PyCrypto is unmaintained since 2013 with "
        "known vulnerabilities.",
        "Use PyCA cryptography, or pycryptodome if the Crypto API is needed.",
    ),
}

#: Rule ids built at run time, by their prefix: operators' YARA rules (``yara:<name>``) and
#: archive problems the reader may report without a rule of their own (``archive-<code>``).
FAMILIES: Final[Mapping[str, RuleInfo]] = {
    "yara:": _R(
        "The index's operator wrote this YARA rule to hold files that match it; its "
        "description is the finding's message.",
        "Remove what the rule matches, or ask the index's operators about the rule.",
    ),
    "archive-": _R(
        "The archive has a property installers and reviewers may read differently.",
        "Build the archive with your build backend.",
    ),
}

_UNKNOWN = RuleInfo(
    "A rule of a newer or older scanner than this catalogue knows.",
    "Scan the file again with the current rules (bastion rescan).",
)


def lookup(rule: str) -> RuleInfo | None:
    """The catalogue's entry for ``rule`` (its family's for a built id); None if unknown."""
    info = RULES.get(rule)
    if info is not None:
        return info
    return next((v for k, v in FAMILIES.items() if rule.startswith(k)), None)


def explain(rule: str) -> RuleInfo:
    """As :func:`lookup`, with a generic entry for an id the catalogue does not know (a
    finding stored by another version of the scanner)."""
    return lookup(rule) or _UNKNOWN


#: What "when it runs" says of a finding without a context: a fact about the archive itself.
ARCHIVE_FACT: Final = "not code: a fact about the archive"
#: ... and of a finding stored before findings said when their code runs.
NOT_RECORDED: Final = "not recorded (an older scan; bastion rescan records it)"


@dataclass(frozen=True, slots=True)
class Explained:
    """A finding with what a reader needs to act on it: where, when it runs, why, the fix."""

    finding: Finding
    why: str
    clean_if: str
    recorded: bool = True  # False: stored before findings carried a context

    @property
    def when(self) -> str:
        """When the finding's code runs, as a reader is told."""
        if self.finding.context:
            return self.finding.context
        return ARCHIVE_FACT if self.recorded else NOT_RECORDED

    @property
    def where(self) -> str:
        """``file:line`` (or the file alone, or '' for the archive as a whole)."""
        place = self.finding.file or ""
        return f"{place}:{self.finding.line}" if place and self.finding.line else place

    def to_json(self) -> dict[str, Any]:
        return {**self.finding.to_json(), "why": self.why, "clean_if": self.clean_if}


def explained(finding: Finding, *, recorded: bool = True) -> Explained:
    info = explain(finding.rule)
    return Explained(finding, info.why, info.clean_if, recorded)


def explained_json(stored: Sequence[Any]) -> list[Explained]:
    """Stored findings (a file's ``scan_findings``, any version) explained; entries that are
    not findings are skipped."""
    out: list[Explained] = []
    for item in stored or []:
        finding = Finding.from_json(item) if isinstance(item, Mapping) else None
        if finding is not None:
            out.append(explained(finding, recorded="context" in item))
    return out


def annotate(finding_json: dict[str, Any]) -> dict[str, Any]:
    """A finding's JSON with ``why`` and ``clean_if`` added (as stored with a file)."""
    info = explain(str(finding_json.get("rule") or ""))
    return {**finding_json, "why": info.why, "clean_if": info.clean_if}


def verdict_reason(verdict: Verdict, score: float, findings: Sequence[Finding]) -> str:
    """How :func:`~bastion.scanning.result.decide` reached ``verdict``, in a sentence or two
    that names the deciding findings."""
    decided = deciding(findings)
    names = ", ".join(f"{f.rule} ({f.severity})" for f in decided)
    if verdict is Verdict.MALICIOUS:
        return (
            f"Any high finding makes an archive malicious; decided by {names or 'a high finding'}."
        )
    if verdict is Verdict.SUSPICIOUS:
        points = ", ".join(f"{s} {SEVERITY_POINTS[s]:g}" for s in (Severity.MEDIUM, Severity.LOW))
        return (
            f"No high finding, but a score of {score:g} (each rule once, at its highest "
            f"severity: {points}) reaches {SUSPICIOUS_SCORE:g}; decided by {names}."
        )
    return (
        f"No high finding and a score of {score:g}, under the {SUSPICIOUS_SCORE:g} that makes "
        "an archive suspicious."
    )
