"""ZIP parser confusion: zips that two readers would see differently are reported, clean ones
(what zipfile, setuptools/wheel and the other build backends write) are not, and no input
makes the check raise."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.archives import Limits, open_archive
from bastion.archives.zipcheck import zip_confusion
from tests import builders
from tests.archives.zipcraft import (
    STORED,
    U32,
    RawZip,
    unicode_path_extra,
    zip64_extra,
)

FILES = {
    "pkg/": b"",
    "pkg/__init__.py": b"VALUE = 1\n",
    "pkg/data.txt": b"hello " * 100,
}


def check(data: bytes) -> str | None:
    fh = io.BytesIO(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            view = [(i.orig_filename, i.header_offset) for i in zf.infolist()]
    except Exception:  # zipfile refuses some of these itself
        view = None
    result = zip_confusion(fh, max_entries=1000, zipfile_view=view)
    assert fh.tell() == 0
    return result


def problems(data: bytes) -> dict[str, str]:
    with open_archive(io.BytesIO(data)) as archive:
        return {p.code: p.message for p in archive.problems}


# -- clean zips -----------------------------------------------------------------------------


def _zipfile(files: dict[str, bytes], compresslevel: int | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_zipfile_and_builder_output_is_clean() -> None:
    assert check(_zipfile(FILES)) is None
    assert check(_zipfile({})) is None  # an empty zip is only an end record
    assert check(_zipfile(FILES, compresslevel=9)) is None
    assert check(builders.wheel("samplepkg", "1.0").data) is None
    assert "zip-confusion" not in problems(builders.wheel("samplepkg", "1.0").data)


def test_archive_comment_and_utf8_names_are_clean() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/caf\u00e9.py", b"x = 1\n")
        zf.comment = b"built by hand"
    assert check(buf.getvalue()) is None


def test_zip64_written_by_zipfile_is_clean() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        with zf.open("big.bin", "w", force_zip64=True) as fh:
            fh.write(b"x" * 1000)
        zf.writestr("small.txt", b"y")
    assert check(buf.getvalue()) is None
    raw = RawZip.of(FILES)
    raw.zip64 = True
    assert check(raw.build()) is None


def test_rawzip_itself_is_clean_and_readable() -> None:
    data = RawZip.of(FILES).build()
    assert check(data) is None
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("pkg/data.txt") == FILES["pkg/data.txt"]


def test_a_wheel_built_by_setuptools_is_clean(tmp_path: Path) -> None:
    """What `pip wheel` / `python -m build` write (setuptools + wheel, offline)."""
    project = tmp_path / "proj"
    (project / "src" / "tinypkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "tinypkg"\nversion = "0.1"\n'
        '[project.scripts]\ntinyp = "tinypkg:main"\n'
    )
    (project / "src" / "tinypkg" / "__init__.py").write_text("def main():\n    return 1\n")
    (project / "src" / "tinypkg" / "data.txt").write_text("x\n" * 100)
    out = tmp_path / "out"
    command = [
        *(sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-q"),
        *("-w", str(out), str(project)),
    ]
    subprocess.run(command, check=True, capture_output=True)
    (wheel,) = out.glob("*.whl")
    assert check(wheel.read_bytes()) is None


# -- what the review reproduced, and PyPI's other refusals ---------------------------------


def _raw(edit: Callable[[RawZip], None]) -> bytes:
    raw = RawZip.of(FILES)
    edit(raw)
    return raw.build()


def _rename_local(raw: RawZip) -> None:
    raw.locals[1].name = b"pkg/__evil__.py"


def _rename(raw: RawZip, name: bytes, flags: int | None = None) -> None:
    """Rename member 1 in both descriptions (they still agree)."""
    for record in (raw.locals[1], raw.centrals[1]):
        record.name = name
        if flags is not None:
            record.flags = flags


def _set(path: str, value: object) -> Callable[[RawZip], None]:
    """An edit that sets ``raw.<path>``, e.g. ``centrals.1.csize``."""

    def edit(raw: RawZip) -> None:
        *parents, attr = path.split(".")
        target: Any = raw
        for part in parents:
            target = target[int(part)] if part.isdigit() else getattr(target, part)
        setattr(target, attr, value(raw) if callable(value) else value)

    return edit


def _both(attr: str, value: object) -> Callable[[RawZip], None]:
    """An edit that sets ``attr`` of member 1 in its local header and its central entry."""

    def edit(raw: RawZip) -> None:
        setattr(raw.locals[1], attr, value)
        setattr(raw.centrals[1], attr, value)

    return edit


def _duplicate(raw: RawZip) -> None:
    raw.locals[2].name = raw.centrals[2].name = b"pkg/__init__.py"


def _zip64_extensible(raw: RawZip) -> None:
    raw.zip64 = True
    raw.zip64_extensible = b"\0" * 8


def _hidden_member(raw: RawZip) -> None:
    raw.gaps[0] = RawZip.of({"pkg/hidden.py": b"import os\n"}).locals[0].pack()


def _ghost_entry(raw: RawZip) -> None:
    raw.centrals.append(RawZip.of({"pkg/ghost.py": b"x"}).centrals[0])


CASES: dict[str, tuple[Callable[[RawZip], None], str]] = {
    "local name differs from the central directory": (
        _rename_local,
        "Filename not in central directory",
    ),
    "trailing data after the end record": (_set("after", b"junk"), "Trailing data"),
    "a second end record after the first": (
        _set("after", b"PK\x05\x06" + b"\0" * 18),
        "Trailing data",
    ),
    "an end record hidden in the comment": (
        _set("comment", b"PK\x05\x06" + b"\0" * 18),
        "Multiple end of central directory records",
    ),
    "duplicate names": (_duplicate, "Duplicate filename in local headers"),
    "compressed size differs": (
        _set("centrals.1.csize", lambda raw: raw.centrals[1].csize + 1),
        "Mis-matched data size",
    ),
    "uncompressed size differs": (
        _set("locals.1.size", lambda raw: raw.locals[1].size + 1),
        "Mis-matched file size",
    ),
    "CRC differs": (
        _set("locals.1.crc", lambda raw: raw.locals[1].crc ^ 1),
        "Mis-matched local headers and central directory",
    ),
    "compression method differs": (
        _set("centrals.1.method", STORED),
        "Mis-matched local headers and central directory",
    ),
    "a data descriptor": (_both("flags", 8), "ZIP contains a data descriptor"),
    "a comment in the central directory": (
        _set("centrals.1.comment", b"hi"),
        "Comment in central directory",
    ),
    "a control character in a name": (
        lambda raw: _rename(raw, b"pkg/a\x01.py"),
        "Invalid character in filename",
    ),
    "a name that is not UTF-8": (
        lambda raw: _rename(raw, b"pkg/\xff.py", 0x800),
        "Filename not valid UTF-8",
    ),
    "a non-ASCII name without the UTF-8 flag": (
        lambda raw: _rename(raw, "pkg/é.py".encode(), 0),
        "Filename not valid UTF-8",
    ),
    "a second spelling of the name in a Unicode Path extra": (
        _both("extra", unicode_path_extra(b"pkg/__evil__.py")),
        "Mis-matched local headers and central directory",
    ),
    "a duplicated ZIP64 extra": (
        _set("locals.1.extra", zip64_extra(1, 1) * 2),
        "Invalid duplicate extra in local file",
    ),
    "a truncated extra field": (_set("locals.1.extra", b"\x01\x00\x10"), "Malformed zip file"),
    "ZIP64 extensible data": (
        _zip64_extensible,
        "ZIP64 extensible data not allowed",
    ),
    "bytes between two members": (_set("gaps", {0: b"\0" * 16}), "Unknown record signature"),
    "a hidden member between two members": (
        _hidden_member,
        "Filename not in central directory",
    ),
    "a central entry without local header": (_ghost_entry, "Missing filename in local headers"),
    "a central entry that points at another local header": (
        _set("centrals.2.offset", 0),
        "Mis-matched local headers and central directory",
    ),
    "a central entry that points into a member's data": (
        _set("centrals.2.offset", 40),
        "Missing filename in local headers",
    ),
    "wrong record count in the end record": (
        _set("count", 2),
        "Mismatched central directory records",
    ),
    "wrong central directory offset in the end record": (
        _set("cd_offset", 0),
        "Mismatched central directory offset",
    ),
    "wrong central directory size in the end record": (
        _set("cd_size", 10),
        "Mismatched central directory size",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_confusion_is_reported(case: str) -> None:
    edit, expected = CASES[case]
    data = _raw(edit)
    assert check(data) == expected
    found = problems(data) if _zipfile_opens(data) else {}
    if found:  # zipfile could read it: the reader records a problem (fatal at upload)
        assert found["zip-confusion"] == expected


def _zipfile_opens(data: bytes) -> bool:
    try:
        zipfile.ZipFile(io.BytesIO(data)).close()
    except Exception:  # any refusal by zipfile will do here
        return False
    return True


def test_the_review_case_is_a_problem_of_the_archive() -> None:
    """A wheel whose local header says __evil__.py where the central directory says
    __init__.py: zipfile lists __init__.py, a streaming reader installs __evil__.py."""
    data = _raw(_rename_local)
    found = problems(data)
    assert found["zip-confusion"] == "Filename not in central directory"


def test_concatenated_zips_are_reported() -> None:
    first = RawZip.of({"a.py": b"x = 1\n"}).build()
    second = RawZip.of({"b.py": b"import os\n"}).build()
    assert check(first + second) == "Trailing data"
    assert check(second + first) is not None


def test_a_second_end_record_with_a_comment_is_reported() -> None:
    """A fake end record where the real record's fields end and its comment begins."""
    raw = RawZip.of(FILES)
    raw.comment = b"\x05\x06" + b"\0" * 18
    data = bytearray(raw.build())
    # make the comment length field read "PK": the bytes PK\x05\x06 now straddle the boundary
    data[-len(raw.comment) - 2 : -len(raw.comment)] = b"PK"
    assert check(bytes(data)) is not None


def test_zip64_sentinels_must_agree_with_the_zip64_record() -> None:
    raw = RawZip.of(FILES)
    raw.locals[1].csize = raw.locals[1].size = U32
    raw.locals[1].extra = zip64_extra(raw.centrals[1].size, raw.centrals[1].csize)
    assert check(raw.build()) is None
    raw.locals[1].extra = zip64_extra(raw.centrals[1].size, raw.centrals[1].csize + 1)
    assert check(raw.build()) is not None
    raw.locals[1].extra = b""
    assert check(raw.build()) == "Malformed zip file"


def test_too_many_local_headers_stop_the_walk() -> None:
    data = RawZip.of({f"f{i}": b"" for i in range(50)}).build()
    assert zip_confusion(io.BytesIO(data), max_entries=10) is not None
    assert zip_confusion(io.BytesIO(data), max_entries=50) is None


def test_zipfile_reading_another_central_directory_is_reported() -> None:
    data = RawZip.of(FILES).build()
    view = [("pkg/", 0), ("pkg/__init__.py", 999), ("pkg/data.txt", 1)]
    assert zip_confusion(io.BytesIO(data), max_entries=10, zipfile_view=view) is not None


# -- never raises ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=1024),
    st.sampled_from([b"", b"PK\x03\x04", b"PK\x05\x06", b"PK\x01\x02"]),
)
def test_random_bytes_never_raise(data: bytes, prefix: bytes) -> None:
    result = zip_confusion(io.BytesIO(prefix + data), max_entries=100)
    assert result is None or isinstance(result, str)


_VALID = [
    RawZip.of(FILES).build(),
    builders.wheel("samplepkg", "1.0").data,
    _zipfile({"a": b"1", "b/": b""}),
]
_ZIP64 = RawZip.of({"a": b"abc"})
_ZIP64.zip64 = True
_VALID.append(_ZIP64.build())


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(_VALID),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, 10_000),
    st.binary(max_size=8),
)
def test_mutated_zips_never_raise(
    valid: bytes, flips: list[tuple[int, int]], cut: int, insert: bytes
) -> None:
    data = bytearray(valid)
    for pos, value in flips:
        data[pos % len(data)] = value
    at = cut % (len(data) + 1)
    mutated = bytes(data[:at] + insert + data[at:])
    result = zip_confusion(io.BytesIO(mutated), max_entries=100)
    assert result is None or isinstance(result, str)
    result = zip_confusion(io.BytesIO(mutated[:at]), max_entries=100)
    assert result is None or isinstance(result, str)


def test_unreadable_file_object_is_malformed() -> None:
    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("disk on fire")

    assert zip_confusion(Broken(RawZip.of(FILES).build()), max_entries=10) == ("Malformed zip file")


def test_a_zip_within_the_member_limit_is_clean() -> None:
    data = RawZip.of({f"f{i}": b"" for i in range(30)}).build()
    with open_archive(io.BytesIO(data), Limits(max_members=100)) as archive:
        assert "zip-confusion" not in {p.code for p in archive.problems}
