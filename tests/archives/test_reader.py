"""The archive reader: problems found, limits enforced, and no crash on arbitrary bytes."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.archives import ArchiveError, Limits, open_archive


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes], links: dict[str, tuple[bytes, str]] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, (kind, target) in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            tf.addfile(info)
    return buf.getvalue()


def codes(data: bytes, limits: Limits | None = None) -> set[str]:
    with open_archive(io.BytesIO(data), limits or Limits()) as archive:
        return {p.code for p in archive.problems}


def test_clean_zip_and_tar() -> None:
    assert codes(_zip({"a/b.py": b"x = 1\n"})) == set()
    assert codes(_tar({"p-1/PKG-INFO": b"Name: p\n"})) == set()


def test_traversal_absolute_backslash() -> None:
    assert "path-traversal" in codes(_zip({"a/../../x": b""}))
    assert "absolute-path" in codes(_zip({"/etc/x": b""}))
    assert "bad-name" in codes(_zip({"a\\b": b""}))
    assert "path-traversal" in codes(_tar({"../x": b""}))


def test_links() -> None:
    assert codes(_tar({"p/a": b"x"}, {"p/l": (tarfile.SYMTYPE, "a")})) == {"symlink"}
    assert "symlink-escape" in codes(
        _tar({"p/a": b"x"}, {"p/l": (tarfile.SYMTYPE, "../../etc/passwd")})
    )
    assert codes(_tar({"p/a": b"x"}, {"p/h": (tarfile.LNKTYPE, "p/a")})) == {"hardlink"}
    assert "hardlink-escape" in codes(
        _tar({"p/a": b"x"}, {"p/h": (tarfile.LNKTYPE, "/etc/shadow")})
    )
    assert "special-file" in codes(_tar({}, {"p/dev": (tarfile.CHRTYPE, "")}))


def test_duplicates() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a", b"1")
        zf.writestr("a", b"2")
    assert "duplicate-name" in codes(buf.getvalue())


def test_bombs_and_limits() -> None:
    bomb = _zip({"z": b"\0" * (80 * 1024 * 1024)})
    assert "compression-ratio" in codes(bomb)
    assert "member-too-large" in codes(_zip({"z": b"\0" * 5000}), Limits(max_member_size=1000))
    assert "total-too-large" in codes(
        _tar({"a": b"\0" * 3000, "b": b"\0" * 3000}), Limits(max_total_size=4000)
    )
    with pytest.raises(ArchiveError, match="more than the limit"):
        open_archive(io.BytesIO(_zip({f"f{i}": b"" for i in range(30)})), Limits(max_members=10))
    with pytest.raises(ArchiveError, match="more members than the limit"):
        open_archive(io.BytesIO(_tar({f"f{i}": b"" for i in range(30)})), Limits(max_members=10))


def test_tar_gzip_bomb_stops_before_decompressing() -> None:
    data = _tar({"big": b"\0" * (50 * 1024 * 1024), "after": b"x"})
    with open_archive(io.BytesIO(data), Limits(max_member_size=1024 * 1024)) as archive:
        assert "member-too-large" in {p.code for p in archive.problems}
        assert "after" not in archive.names


def test_read_is_bounded() -> None:
    with open_archive(io.BytesIO(_zip({"a": b"x" * 10000}))) as archive:
        assert len(archive.read("a", 100)) == 100
        with pytest.raises(KeyError):
            archive.read("missing")


def test_not_an_archive() -> None:
    for junk in (b"", b"hello", b"\x1f\x8bnot gzip", b"PK\x03\x04garbage"):
        with pytest.raises(ArchiveError):
            open_archive(io.BytesIO(junk))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from([b"", b"PK\x03\x04", b"\x1f\x8b\x08\x00"]))
def test_arbitrary_bytes_never_crash(data: bytes, prefix: bytes) -> None:
    try:
        with open_archive(io.BytesIO(prefix + data)) as archive:
            for _member, _content in archive.iter_files(1024):
                pass
    except ArchiveError:
        pass


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(st.characters(blacklist_characters="\x00/\\", blacklist_categories=["Cs"]), min_size=1, max_size=40),
        st.binary(max_size=64),
        max_size=8,
    )
)
def test_any_member_names_are_listed_or_flagged(members: dict[str, bytes]) -> None:
    with open_archive(io.BytesIO(_zip(members))) as archive:
        assert len(archive.members) == len(members)
