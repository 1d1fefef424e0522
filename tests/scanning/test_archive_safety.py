from __future__ import annotations

import io
import zipfile

from bastion.archives import Limits
from bastion.scanning import ScanConfig, scan_bytes

from .helpers import PLAIN_SETUP, sdist, wheel


def rules(result) -> dict[str, str]:
    return {f.rule: str(f.severity) for f in result.findings}


def test_plain_sdist_is_clean() -> None:
    data = sdist({"setup.py": PLAIN_SETUP, "demo/__init__.py": "VALUE = 1\n"})
    result = scan_bytes(data, "demo-1.0.tar.gz")
    assert result.verdict == "clean"
    assert result.score == 0


def test_internal_symlink_is_harmless() -> None:
    data = sdist(
        {"setup.py": PLAIN_SETUP, "docs/index.rst": "hi"}, links={"README.rst": "docs/index.rst"}
    )
    result = scan_bytes(data, "demo-1.0.tar.gz")
    assert rules(result)["archive-internal-link"] == "info"
    assert result.verdict == "clean"


def test_escaping_symlink_is_high() -> None:
    data = sdist({"setup.py": PLAIN_SETUP}, links={"evil": "../../../etc/passwd"})
    result = scan_bytes(data, "demo-1.0.tar.gz")
    assert rules(result)["archive-link-escape"] == "high"
    assert result.verdict == "malicious"


def test_hardlink_outside_archive_is_high() -> None:
    data = sdist({"setup.py": PLAIN_SETUP}, hardlinks={"x": "/etc/shadow"})
    assert rules(scan_bytes(data, "demo-1.0.tar.gz"))["archive-link-escape"] == "high"


def test_path_traversal_and_absolute_paths() -> None:
    data = sdist(
        {"setup.py": PLAIN_SETUP},
        raw_names={"demo-1.0/../../evil.py": "x = 1\n", "/tmp/abs.py": "x = 1\n"},
    )
    found = rules(scan_bytes(data, "demo-1.0.tar.gz"))
    assert found["archive-path-traversal"] == "high"
    assert found["archive-absolute-path"] == "high"


def test_device_file() -> None:
    data = sdist({"setup.py": PLAIN_SETUP}, devices=["dev0"])
    assert rules(scan_bytes(data, "demo-1.0.tar.gz"))["archive-special-file"] == "high"


def test_zip_bomb_member_is_reported_without_reading_it_all() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("demo/__init__.py", "")
        zf.writestr("demo/zeros.bin", b"\0" * (3 * 1024 * 1024))
    cfg = ScanConfig(
        limits=Limits(
            max_member_size=1024 * 1024,
            max_total_size=2 * 1024 * 1024,
            ratio_applies_above=512 * 1024,
        ),
        rules_dir=None,
    )
    result = scan_bytes(buf.getvalue(), "demo-1.0.zip", config=cfg)
    assert rules(result)["archive-bomb"] == "high"
    assert result.verdict == "malicious"


def test_gzip_bomb_in_tar_is_reported() -> None:
    data = sdist({"setup.py": PLAIN_SETUP, "big.dat": b"\0" * (3 * 1024 * 1024)})
    cfg = ScanConfig(limits=Limits(max_member_size=1024 * 1024), rules_dir=None)
    assert rules(scan_bytes(data, "demo-1.0.tar.gz", config=cfg))["archive-bomb"] == "high"


def test_too_many_members_means_unreadable_and_suspicious() -> None:
    data = sdist({f"f{i}.txt": "x" for i in range(30)})
    cfg = ScanConfig(limits=Limits(max_members=10), rules_dir=None)
    result = scan_bytes(data, "demo-1.0.tar.gz", config=cfg)
    assert "archive-unreadable" in rules(result)
    assert result.verdict in ("suspicious", "malicious")


def test_garbage_is_a_finding_not_a_crash() -> None:
    result = scan_bytes(b"this is not an archive", "demo-1.0.tar.gz")
    assert rules(result)["archive-unreadable"] == "medium"
    assert result.verdict == "suspicious"


def test_nested_archive_is_noted() -> None:
    inner = wheel({"x/__init__.py": ""})
    data = sdist({"setup.py": PLAIN_SETUP, "vendor/inner.whl": inner})
    assert rules(scan_bytes(data, "demo-1.0.tar.gz"))["nested-archive"] == "info"


def test_binary_disguised_as_image() -> None:
    elf = b"\x7fELF\x02\x01\x01" + b"\0" * 100
    data = sdist({"setup.py": PLAIN_SETUP, "demo/logo.png": elf})
    assert rules(scan_bytes(data, "demo-1.0.tar.gz"))["disguised-executable"] == "high"


def test_prebuilt_binary_in_sdist_is_suspicious_not_malicious() -> None:
    pe = b"MZ" + b"\0" * 200
    data = sdist({"setup.py": PLAIN_SETUP, "demo/tool.exe": pe})
    result = scan_bytes(data, "demo-1.0.tar.gz")
    assert rules(result)["binary-in-sdist"] == "medium"
    assert result.verdict == "suspicious"


def test_vendored_versioned_shared_library_in_wheel_is_not_disguised() -> None:
    """auditwheel puts libgfortran-<hash>.so.5.0.0 into <pkg>.libs/: a library, not a disguise."""
    import io
    import zipfile

    from bastion.scanning import scan_bytes

    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/__init__.py", "VALUE = 1\n")
        zf.writestr("pkg.libs/libgfortran-040039e1.so.5.0.0", elf)
        zf.writestr("pkg/evil.txt", elf)
    result = scan_bytes(buf.getvalue(), "pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl")
    flagged = {f.file for f in result.findings if f.rule == "disguised-executable"}
    assert flagged == {"pkg/evil.txt"}
