"""How evidence becomes findings.

A single call is rarely proof: ``subprocess`` in a setup.py usually runs git, ``requests`` in a
library is its job, browser paths are what browser-cookie3 is for. What separates malware is
*where* code runs (install time, import time, every interpreter start) and *what it is combined
with* (network plus execution, secrets plus a destination, decoding plus ``exec``). Each rule
below states one such combination; severities are chosen so that only a combination a benign
package has no reason to make is *high* (which alone makes the verdict malicious).
"""

from __future__ import annotations

import dataclasses
import re

from bastion.scanning.result import Finding, Severity
from bastion.scanning.rules.evidence import FileEvidence

STEAL = ("browser", "discord-token", "wallet", "clipper")
DESTINATIONS = ("webhook", "url-oob", "url-paste", "url-tunnel", "url-ip")
ACTIVE_ROLES = ("setup", "init", "pth")
# forks on a public code host are the usual, if unwelcome, reason for a URL dependency
CODE_HOSTS = re.compile(
    r"://(?:www\.)?(?:github\.com|gitlab\.com|bitbucket\.org|codeload\.github\.com)/"
)
WHEN = {
    "setup": "at install time (setup.py)",
    "init": "on import",
    "pth": "every time Python starts (.pth file)",
    "module": "in a library module",
    "test": "in tests, docs or examples",
    "called": "in a function of an imported module (when called, not on import)",
    "body": "in the body of a library module (when the package imports it)",
    "aux": "in a file the sdist carries but installing it does not install or run",
}
# where code is not run by installing or importing the package: one level less severe
UNINSTALLED_ROLES = ("test", "aux")

H, M, L, INFO = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO


def _down(sev: Severity) -> Severity:
    return {H: M, M: L, L: INFO, INFO: INFO}[sev]


BUILD_SYSTEM_FUNCTIONS = 15
# rules that weigh what shares a file, not what flows where
CO_OCCURRENCE = frozenset(
    {
        "download-and-execute",
        "network-and-write",
        "exfiltration",
        "network-on-start",
        "runs-process",
        "credential-access",
        "setup-network",
        "dynamic-exec",
        # a console window kept hidden is what a GUI library running a tool on Windows wants
        "hidden-process",
    }
)


def _down_finding(finding: Finding) -> Finding:
    return dataclasses.replace(finding, severity=_down(finding.severity))


def _make(ev: FileEvidence, rule: str, sev: Severity, message: str, *kinds: str) -> Finding:
    where = ev.where(*kinds) if kinds else None
    line = where.line if where else None
    excerpt = ev.excerpt(line) if line else None
    if excerpt is None and where is not None and where.detail:
        excerpt = where.detail[:160]
    if ev.role in UNINSTALLED_ROLES:
        sev = _down(sev)
    return Finding(rule, sev, message, ev.path, line, excerpt, context=ev.context)


def python_findings(ev: FileEvidence) -> list[Finding]:
    """Findings for one Python (or .pth) file."""
    out: list[Finding] = []
    f = ev
    role = f.role
    when = WHEN.get(role, "")
    # A function of an imported module runs when something calls it: the package's user,
    # usually on purpose. It is weighed with the install-time rules (a payload hidden in the
    # API a victim calls is still a payload), but a rule that only says two things share a
    # file (a download and a write, a secret and a request) needs an address written in the
    # code to count in full: a library talks to whatever its caller names.
    called = role in ("called", "body")
    active = role in ACTIVE_ROLES or called
    fixed = f.has("net-fixed") or f.has(*DESTINATIONS)
    net = f.has("net")
    dest = f.has(*DESTINATIONS)
    steal = f.has(*STEAL)

    def add(rule: str, sev: Severity, message: str, *kinds: str) -> None:
        out.append(_make(f, rule, sev, message, *kinds))

    # --- code that builds code ---------------------------------------------------------------
    if f.has("exec-remote"):
        add(
            "exec-downloaded-code",
            H if role in ACTIVE_ROLES or fixed else M,
            f"Downloads code and executes it {when}.",
            "exec-remote",
        )
    if f.has("exec-decoded"):
        add(
            "exec-obfuscated-code",
            H,
            f"Decodes hidden data (base64, zlib, marshal, encryption...) and executes it {when}.",
            "exec-decoded",
        )
    elif active and f.has("exec") and f.has("decode"):
        add(
            "exec-obfuscated-code",
            H,
            f"Decodes data and executes dynamically built code {when}.",
            "exec",
            "decode",
        )
    elif role == "setup" and f.has("exec"):
        add("dynamic-exec", M, f"Executes code built at run time {when}.", "exec")
    elif active and f.has("exec"):
        add("dynamic-exec", L, f"Executes code built at run time {when}.", "exec")
    if f.has("encoded-url") and (active or net):
        add(
            "encoded-url",
            H if active and f.has("net", "proc", "exec") else M,
            f"Hides a web address in encoded data {when}.",
            "encoded-url",
        )
    if f.has("hidden-code"):
        add(
            "code-hidden-by-whitespace",
            H,
            "Hides code far to the right of a line, past what an editor shows.",
            "hidden-code",
        )
    if f.has("embedded-exe"):
        add(
            "embedded-executable",
            H,
            "Carries a Windows or Linux executable encoded as text inside Python code.",
            "embedded-exe",
        )

    # --- obfuscation ---------------------------------------------------------------------------
    runs_code = f.has("exec", "exec-decoded", "exec-remote")
    if f.has("obf-names"):
        # setup.py has nothing to hide from the person installing the package
        add(
            "obfuscated-identifiers",
            H if runs_code or role == "setup" or (active and f.has("decode")) else M,
            "Most names in this file are machine-generated look-alikes (lIlI1, _0x1f...), "
            "the mark of an obfuscator"
            + (" combined with dynamic execution." if runs_code else "."),
            "obf-names",
        )
    if f.has("blob"):
        if runs_code or (active and (f.has("decode") or f.has("proc"))):
            add(
                "encoded-payload",
                H,
                f"Carries a large high-entropy blob and decodes or executes it {when}.",
                "blob",
                "exec",
                "decode",
            )
        else:
            add("high-entropy-blob", L, "Carries a large high-entropy string literal.", "blob")
    if f.has("pyarmor"):
        add(
            "pyarmor-protected",
            H if role == "setup" else M,
            f"Code protected with PyArmor cannot be reviewed; it runs {when}.",
            "pyarmor",
        )

    # --- install time, import time, interpreter start -----------------------------------------
    if active:
        if net and f.has("proc", "exec", "exec-decoded", "write", "chmod", "decode"):
            add(
                "download-and-execute"
                if f.has("proc", "exec", "exec-decoded", "chmod")
                else "network-and-write",
                H,
                f"Talks to the network and runs or writes what it gets {when}.",
                "net",
            )
        if net and (f.has("recon", "env-secret", "env-dump", "creds") or steal):
            add(
                "exfiltration",
                H,
                f"Collects information about the machine or its secrets and sends it {when}.",
                "env-dump",
                "env-secret",
                "recon",
                "creds",
                *STEAL,
                "net",
            )
        if net and not out and role == "setup":
            add(
                "setup-network",
                H,
                "setup.py talks to the network while the package installs.",
                "net",
            )
        elif net and not out:
            add("network-on-start", M, f"Talks to the network {when}.", "net")
        if dest and (net or f.has("proc", "exec", "exec-decoded")):
            add(
                "suspicious-destination",
                H,
                f"Sends to or fetches from a throw-away destination (webhook, paste site, tunnel, "
                f"raw IP) {when}.",
                *DESTINATIONS,
            )
        elif dest:
            add("suspicious-url", M, f"Names a throw-away destination {when}.", *DESTINATIONS)
        # in code that runs when called or when a library module is imported, a download
        # command written in a string (documentation, a help text) needs a process call
        if f.has("proc-shell") or (
            f.has("shell-download", "revshell") and (not called or f.has("proc"))
        ):
            add(
                "shell-dropper",
                H,
                f"Runs a shell or PowerShell command that downloads, unpacks or opens a shell "
                f"{when}.",
                "proc-shell",
                "shell-download",
                "revshell",
            )
        if f.has("proc") and (
            f.has("embedded-exe", "script-payload", "proc-hidden")
            or (role == "setup" and f.has("decode", "recon"))
        ):
            add(
                "hidden-process",
                H,
                f"Starts a hidden or decoded program {when}.",
                "proc-hidden",
                "script-payload",
                "decode",
                "proc",
            )
        if role == "init" and f.has("proc-toplevel-shell"):
            add(
                "shell-on-import",
                H,
                "The package's module body runs a shell pipeline or redirection as soon as it "
                "is imported.",
                "proc-toplevel-shell",
            )
        if f.has("proc-decoded"):
            add(
                "decoded-command",
                H,
                f"Runs a command that is hidden in encoded or encrypted data {when}.",
                "proc-decoded",
            )
        if f.has("persistence") and f.has("proc", "write"):
            add(
                "persistence", H, f"Installs itself to start with the system {when}.", "persistence"
            )
        if f.has("anti-analysis") and f.has("proc", "net"):
            add(
                "anti-analysis",
                H,
                f"Checks for sandboxes or analysis tools {when}.",
                "anti-analysis",
            )
        if f.has("proc") and not out:
            add(
                "runs-process",
                L if role == "setup" else M,
                f"Starts another program {when}.",
                "proc",
            )
        if steal and (
            net
            or dest
            or f.has("exec-remote")
            or (role == "setup" and f.has("discord-token", "wallet"))
        ):
            # install-time code has no business with chat-app tokens or wallets at all
            add(
                "credential-theft",
                H,
                f"Reads browser, wallet or chat-app secrets and can send them {when}.",
                *STEAL,
            )
        elif steal:
            add(
                "credential-access",
                L if f.has("browser") and not f.has("discord-token", "wallet") else M,
                f"Reads browser, wallet or chat-app secrets {when}.",
                *STEAL,
            )
        elif f.has("creds") and role != "setup":
            add("credential-access", M, f"Reads credential files {when}.", "creds")
    else:
        # library modules (and, downgraded, tests/docs)
        if steal and (dest or (net and f.has("discord-token", "wallet", "clipper"))):
            add(
                "credential-theft",
                H,
                "Reads browser, wallet or chat-app secrets and has a way to send them.",
                *STEAL,
                *DESTINATIONS,
                "net",
            )
        elif steal:
            add(
                "credential-access",
                L if f.has("browser") and not f.has("discord-token", "wallet") else M,
                "Reads browser, wallet or chat-app secrets.",
                *STEAL,
            )
        if f.has("creds") and net and f.has("env-dump", "recon") and dest:
            add("exfiltration", H, "Collects credentials and sends them away.", "creds", "net")
        if net and f.has("proc", "chmod") and f.has("write"):
            if dest or f.has("shell-download", "persistence", "encoded-url"):
                # an installer has no reason to hide where it downloads from
                add(
                    "dropper",
                    H,
                    "Downloads a program to disk and starts it, hidden or from a throw-away "
                    "or encoded address.",
                    "net",
                    *DESTINATIONS,
                    "encoded-url",
                    "proc-hidden",
                )
            else:
                add(
                    "download-and-run",
                    L,
                    "Downloads files and starts programs (normal for installers of tools such as "
                    "drivers or tunnels).",
                    "net",
                    "proc",
                )
        if dest and net and f.has("recon", "env-dump", "env-secret"):
            add(
                "exfiltration",
                H,
                "Collects information about the machine and sends it to a throw-away address.",
                *DESTINATIONS,
                "recon",
                "env-dump",
            )
        if f.has("revshell") and f.has("proc", "net"):
            add("reverse-shell", H, "Opens a reverse shell.", "revshell")
        if f.has("shell-download") and f.has("proc"):
            add(
                "shell-dropper",
                M,
                "Builds a shell or PowerShell command that downloads and runs something.",
                "shell-download",
            )
        if f.has("persistence") and f.has("proc", "write") and (net or dest):
            add("persistence", H, "Installs itself to start with the system.", "persistence")
        if f.has("anti-analysis") and (net or dest) and f.has("proc"):
            add("anti-analysis", H, "Checks for sandboxes or analysis tools.", "anti-analysis")

    # --- packages fetched from outside the index ----------------------------------------------
    # pip run by the package itself, or dependencies that name a web address: what gets
    # installed is decided by whoever controls that address, not by the index
    if f.has("pip-install-url") and role not in UNINSTALLED_ROLES:
        add(
            "installs-from-url",
            H if active else M,
            f"Runs pip to install a package from a web address, a git repository or another "
            f"index {when}.",
            "pip-install-url",
        )
    elif f.has("pip-install") and active:
        add(
            "pip-install",
            M,
            f"Runs pip to install other packages {when}, outside the dependency resolver.",
            "pip-install",
        )
    if role == "setup" and f.has("direct-url-dependency"):
        w = f.where("direct-url-dependency")
        add(
            "direct-url-dependency",
            M if w and CODE_HOSTS.search(w.detail) else H,
            "Declares a dependency fetched from a web address instead of the index.",
            "direct-url-dependency",
        )
    if role == "setup" and f.has("dependency-link"):
        add(
            "dependency-links",
            M,
            "Points installers at a download location outside the index (dependency_links).",
            "dependency-link",
        )

    # --- behaviours that are theft wherever the code sits ----------------------------------
    if f.has("key-to-host"):
        # a wallet's private key or seed phrase never needs to leave the machine
        add(
            "key-exfiltration",
            H,
            "Sends a private key or seed phrase passed in by the caller to a web address "
            "written in the code.",
            "key-to-host",
        )
    if f.has("identity-beacon"):
        # not downgraded for tests: a beacon shipped inside the package is still shipped
        w = f.where("identity-beacon")
        out.append(
            Finding(
                "identity-beacon",
                H,
                "Runs a shell command that sends the user name or host name of the machine to a "
                "remote address.",
                f.path,
                w.line if w else None,
                (f.excerpt(w.line) if w else None) or (w.detail[:160] if w else None),
            )
        )

    build_system = role == "setup" and f.py is not None and f.py.functions >= BUILD_SYSTEM_FUNCTIONS
    if (called or build_system) and not fixed and not f.has("decode", "exec-decoded"):
        # A setup.py that is a build system (dozens of functions: fetch the sources of a C
        # library, configure, compile) downloads and runs compilers as its job. A payload's
        # download has its address written in the code (or hidden by decoding).
        out = [
            _down_finding(x)
            if x.rule in CO_OCCURRENCE and (called or x.rule != "setup-network")
            else x
            for x in out
        ]

    # hard-coded chat-service credentials are a destination no library needs
    if f.has("webhook"):
        add(
            "hardcoded-webhook",
            H if f.filetype in ("python", "pth") else M,
            "Contains a Discord webhook or Telegram bot token: a ready-made channel to send "
            "stolen data.",
            "webhook",
        )
    return out
