"""Archive-shape rules: the reader's problems, binaries, nested archives, .pth files."""

from __future__ import annotations

import re

from bastion.archives import Member, Problem
from bastion.scanning.result import Finding, Severity

H, M, L, INFO = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

# reader problem code -> (rule, severity, sentence prefix)
PROBLEM_RULES: dict[str, tuple[str, Severity, str]] = {
    "absolute-path": ("archive-absolute-path", H, "A member would be written to an absolute path"),
    "path-traversal": ("archive-path-traversal", H, "A member climbs out of the install folder"),
    "bad-name": ("archive-bad-name", M, "A member name holds control characters or backslashes"),
    "path-too-long": ("archive-path-too-long", M, "A member path is unusually long or deep"),
    "duplicate-name": (
        "archive-duplicate-name",
        M,
        "Two members share a name, so tools may disagree on the content",
    ),
    "symlink-escape": ("archive-link-escape", H, "A symbolic link points outside the archive"),
    "hardlink-escape": (
        "archive-link-escape",
        H,
        "A hard link points outside the archive or to no earlier member",
    ),
    "symlink": (
        "archive-internal-link",
        INFO,
        "A symbolic link stays inside the archive (harmless)",
    ),
    "hardlink": ("archive-internal-link", INFO, "A hard link stays inside the archive (harmless)"),
    "special-file": ("archive-special-file", H, "The archive holds a device, FIFO or sparse file"),
    "too-many-members": ("archive-too-many-members", H, "The archive holds too many members"),
    "member-too-large": ("archive-bomb", H, "A member expands beyond the size limit"),
    "total-too-large": ("archive-bomb", H, "The archive expands beyond the size limit"),
    "compression-ratio": ("archive-bomb", H, "The archive is compressed far beyond normal ratios"),
    "encrypted": ("archive-encrypted", H, "A member is encrypted and cannot be reviewed"),
    "unsupported-compression": (
        "archive-unsupported-compression",
        M,
        "A member uses a compression method installers do not support",
    ),
    "time-limit": ("archive-time-limit", M, "Reading the archive took longer than allowed"),
    "corrupt-member": ("archive-corrupt-member", M, "A member cannot be read"),
    "trailing-data": ("archive-prepended-data", M, "The zip has data before its first member"),
    "zip-confusion": (
        "archive-zip-confusion",
        H,
        "Installers could read other files from this zip than the ones scanned",
    ),
}

EXEC_SUFFIXES = (
    ".so",
    ".pyd",
    ".dll",
    ".dylib",
    ".exe",
    ".bin",
    ".node",
    ".a",
    ".lib",
    ".o",
    ".sys",
    ".scr",
    ".com",
    ".elf",
    ".out",
    ".msi",
    ".ocx",
    ".drv",
    ".cpl",
    ".efi",
)


def problem_findings(problems: list[Problem]) -> list[Finding]:
    out: list[Finding] = []
    for p in problems:
        rule, sev, prefix = PROBLEM_RULES.get(
            p.code, (f"archive-{p.code}", M, "The archive has an unusual property")
        )
        out.append(Finding(rule, sev, f"{prefix}: {p.message}", p.member, None, None))
    return out


def binary_kind(head: bytes) -> str | None:
    if head.startswith(b"MZ") and len(head) >= 64:
        return "Windows executable"
    if head.startswith(b"\x7fELF"):
        return "Linux executable"
    if head[:4] in (
        b"\xcf\xfa\xed\xfe",
        b"\xce\xfa\xed\xfe",
        b"\xfe\xed\xfa\xcf",
        b"\xfe\xed\xfa\xce",
    ):
        return "macOS executable"
    return None


def archive_kind(head: bytes) -> str | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"Rar!"):
        return "rar"
    if head.startswith(b"BZh"):
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    return None


# Shared libraries carry their ABI version after ".so" (libgfortran-….so.5.0.0, as auditwheel
# vendors them into "<pkg>.libs/"); that is a library's own name, not a disguise.
_VERSIONED_LIBRARY = re.compile(r"\.so(\.\d+)+$")


def member_findings(
    member: Member, head: bytes, is_wheel: bool
) -> tuple[list[Finding], str | None]:
    """Findings about one member from its name and first bytes; also its binary kind."""
    out: list[Finding] = []
    name = member.name.lower()
    kind = binary_kind(head)
    if kind:
        base = name.rsplit("/", 1)[-1]
        has_ext = "." in base
        if has_ext and not name.endswith(EXEC_SUFFIXES) and not _VERSIONED_LIBRARY.search(base):
            out.append(
                Finding(
                    "disguised-executable",
                    H,
                    f"A {kind} hides behind a file name that says otherwise.",
                    member.name,
                )
            )
        elif not is_wheel:
            sev = L if name.endswith((".so", ".pyd", ".dll", ".dylib", ".a", ".lib", ".o")) else M
            out.append(
                Finding(
                    "binary-in-sdist",
                    sev,
                    f"A source distribution carries a prebuilt {kind}, which cannot be reviewed "
                    "from source.",
                    member.name,
                )
            )
        elif name.endswith((".exe", ".scr", ".com", ".msi")):
            out.append(
                Finding(
                    "executable-in-wheel", L, f"The wheel carries a standalone {kind}.", member.name
                )
            )
    else:
        nested = archive_kind(head)
        if (nested and not name.endswith((".gz",))) or (nested and name.endswith(".tar.gz")):
            out.append(
                Finding(
                    "nested-archive",
                    INFO,
                    f"The archive contains another {nested} archive, which is not scanned inside.",
                    member.name,
                )
            )
    return out, kind
