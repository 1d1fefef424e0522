"""Archive-shape rules: the reader's problems, binaries, nested archives, .pth files."""

from __future__ import annotations

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


# Size alone is not a bomb: a CUDA or compiler library is hundreds of MB, compressed at
# ordinary ratios. Past the size limit, an archive that expands to no more than this many
# times its own bytes is only too large to read (the unread part is a gap, which keeps the
# file from being published unexamined); beyond it, it is a bomb.
SIZE_PROBLEMS = frozenset({"member-too-large", "total-too-large"})
BOMB_EXPANSION = 20.0


def problem_findings(problems: list[Problem], expansion: float | None = None) -> list[Finding]:
    """Findings for the reader's problems; ``expansion`` is what the archive's members add up
    to over its own size (None when unknown: size problems then count as a bomb)."""
    out: list[Finding] = []
    for p in problems:
        rule, sev, prefix = PROBLEM_RULES.get(
            p.code, (f"archive-{p.code}", M, "The archive has an unusual property")
        )
        if p.code in SIZE_PROBLEMS and expansion is not None and expansion <= BOMB_EXPANSION:
            rule, sev, prefix = "archive-too-large", L, "Larger than the scanner reads"
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


# A disguise is a name that claims a type the bytes are not: an executable called a picture,
# a text or a Python file. Names that claim nothing in particular (no extension, ``.bin``,
# ``.ir``, a GPU code object's ``.co``, a library's ``.so.24.0git`` or ``.debug`` file)
# are what build systems produce.
CLAIMED_TYPES = frozenset(
    {
        *("txt", "md", "rst", "csv", "tsv", "json", "yaml", "yml", "toml", "ini", "cfg", "xml"),
        *("html", "htm", "css", "js", "svg", "py", "pyw", "pyi", "pth", "sh", "bat", "ps1"),
        *("png", "jpg", "jpeg", "gif", "bmp", "ico", "webp", "tif", "tiff"),
        *("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "rtf", "odt"),
        *("mp3", "mp4", "wav", "ogg", "avi", "mov", "ttf", "otf", "woff", "woff2"),
        *("log", "dat", "db", "sqlite", "crt", "pem", "cer", "key", "lic", "license"),
        *("zip", "gz", "tgz", "tar", "bz2", "xz", "7z", "rar", "whl", "egg", "jar"),
    }
)


def member_findings(
    member: Member, head: bytes, is_wheel: bool
) -> tuple[list[Finding], str | None]:
    """Findings about one member from its name and first bytes; also its binary kind."""
    out: list[Finding] = []
    name = member.name.lower()
    kind = binary_kind(head)
    if kind:
        base = name.rsplit("/", 1)[-1]
        if base.rsplit(".", 1)[-1] in CLAIMED_TYPES:
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
