"""The archive reader: problems found, limits enforced, and no crash on arbitrary bytes."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.archives import ArchiveError, Limits, open_archive, reader
from tests.archives.zipcraft import U32, Central, Local, RawZip, zip64_extra


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
        st.text(
            st.characters(blacklist_characters="\x00/\\", blacklist_categories=["Cs"]),
            min_size=1,
            max_size=40,
        ),
        st.binary(max_size=64),
        max_size=8,
    )
)
def test_any_member_names_are_listed_or_flagged(members: dict[str, bytes]) -> None:
    with open_archive(io.BytesIO(_zip(members))) as archive:
        assert len(archive.members) == len(members)


# -- nothing but ArchiveError / KeyError leaves the reader -----------------------------------


def _read_everything(data: bytes) -> None:
    """Open, list, read and hash every member; only ArchiveError and KeyError may escape."""
    try:
        with open_archive(io.BytesIO(data)) as archive:
            for member in archive.members:
                with contextlib.suppress(ArchiveError, KeyError):
                    archive.read(member.name, 1024)
                with contextlib.suppress(ArchiveError, KeyError):
                    archive.hash_member(member.name, "sha256")
            for _member, _content in archive.iter_files(1024):
                pass
    except ArchiveError:
        pass


def _crafted(edit: Callable[[RawZip], None]) -> bytes:
    raw = RawZip.of({"pkg/__init__.py": b"VALUE = 1\n", "pkg/x.py": b"x = 2\n" * 50})
    edit(raw)
    return raw.build()


def test_unsupported_version_needed_is_an_archive_error() -> None:
    """zipfile raises NotImplementedError for "version needed to extract" above 6.3."""
    data = _crafted(lambda r: setattr(r.centrals[1], "version", 99))
    with pytest.raises(ArchiveError, match="File is not a zipfile"):
        open_archive(io.BytesIO(data))


def test_header_offset_beyond_the_file_is_a_corrupt_member() -> None:
    data = _crafted(lambda r: setattr(r.centrals[1], "offset", 10**9))
    with open_archive(io.BytesIO(data)) as archive:
        with pytest.raises(ArchiveError, match=r"Cannot read member 'pkg/x\.py'"):
            archive.read("pkg/x.py")
        with pytest.raises(ArchiveError):
            archive.hash_member("pkg/x.py", "sha256")
        assert [m.name for m, _ in archive.iter_files(100)] == ["pkg/__init__.py"]
        codes = {p.code for p in archive.problems}
        assert {"zip-confusion", "corrupt-member"} <= codes


def test_negative_header_offset_is_a_corrupt_member() -> None:
    """A central directory offset larger than the real one makes zipfile's offsets negative."""
    data = _crafted(lambda r: setattr(r, "cd_offset", 10**6))
    with open_archive(io.BytesIO(data)) as archive:
        assert {p.code: p.message for p in archive.problems}["zip-confusion"] == (
            "Mismatched central directory offset"
        )
        for name in archive.names:
            with pytest.raises(ArchiveError):
                archive.read(name)


def test_huge_zip64_sizes_are_problems_not_crashes() -> None:
    def edit(raw: RawZip) -> None:
        raw.centrals[1].size = raw.centrals[1].csize = U32
        raw.centrals[1].extra = zip64_extra(2**63, 2**63)

    data = _crafted(edit)
    with open_archive(io.BytesIO(data)) as archive:
        codes = {p.code for p in archive.problems}
        assert {"zip-confusion", "member-too-large"} <= codes
        assert archive.read("pkg/x.py", 10) == b"x = 2\nx = "
    _read_everything(data)


def _not_utf8(record: Local | Central) -> None:
    record.name = b"pkg/\xff.py"
    record.flags = 0x800


def test_name_that_is_not_utf8_is_an_archive_error() -> None:
    data = _crafted(lambda raw: _not_utf8(raw.centrals[1]))
    with pytest.raises(ArchiveError):
        open_archive(io.BytesIO(data))


def test_local_name_not_utf8_is_a_corrupt_member() -> None:
    data = _crafted(lambda raw: _not_utf8(raw.locals[1]))
    with open_archive(io.BytesIO(data)) as archive, pytest.raises(ArchiveError):
        archive.read("pkg/x.py")


def test_chunks_are_bounded_and_timed() -> None:
    data = _zip({"a": b"x" * 200_000, "b": b"y"})
    with open_archive(io.BytesIO(data)) as archive:
        chunks = list(archive.iter_chunks("a", 65536))
        assert b"".join(chunks) == b"x" * 200_000 and max(map(len, chunks)) <= 65536
        digest, size = archive.hash_member("a", "sha256")
        assert digest == hashlib.sha256(b"x" * 200_000).digest() and size == 200_000
        with pytest.raises(KeyError):
            archive.hash_member("missing", "sha256")
    small = Limits(max_member_size=1000)
    with (
        open_archive(io.BytesIO(data), small) as archive,
        pytest.raises(ArchiveError, match="more than the limit"),
    ):
        archive.hash_member("a", "sha256")
    with open_archive(io.BytesIO(_tar({"p/a": b"z" * 100_000}))) as archive:
        assert archive.hash_member("p/a", "sha512")[1] == 100_000


def test_chunks_stop_at_the_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    with open_archive(io.BytesIO(_zip({"a": b"x" * 10}))) as archive:
        monkeypatch.setattr(reader, "time", SimpleNamespace(monotonic=lambda: float("inf")))
        with pytest.raises(ArchiveError, match="took longer than allowed"):
            archive.hash_member("a", "sha256")


def test_central_directory_larger_than_its_count_is_refused_before_zipfile() -> None:
    """zipfile walks the central directory by its size, not by the declared count."""
    raw = RawZip.of({f"f{i}": b"" for i in range(30)})
    raw.count = 1
    with pytest.raises(ArchiveError, match="more members than the limit"):
        open_archive(io.BytesIO(raw.build()), Limits(max_members=10))


_SEEDS = [
    _zip({"pkg/__init__.py": b"VALUE = 1\n", "pkg/x.py": b"x = 2\n" * 50}),
    RawZip.of({"a/": b"", "a/b.py": b"print(1)\n" * 20}).build(),
    _tar({"p-1/PKG-INFO": b"Name: p\n", "p-1/x.py": b"x = 1\n" * 40}),
]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 100_000),
)
def test_mutated_archives_raise_only_archive_errors(
    seed: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(seed)
    for pos, value in flips:
        data[pos % len(data)] = value
    _read_everything(bytes(data))
    _read_everything(bytes(data[: cut % (len(data) + 1)]))


@pytest.mark.parametrize("kind", [tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE])
def test_tar_extended_header_over_the_limit_is_refused_before_it_is_read(kind: bytes) -> None:
    size = reader.MAX_EXTENDED_HEADER + 1
    header = tarfile.TarInfo("././@LongLink")
    header.type = kind
    header.size = size
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz:
        gz.write(header.tobuf(format=tarfile.GNU_FORMAT))
        gz.write(b"a" * size + b"\0" * (-size % 512) + b"\0" * 1024)
    with pytest.raises(ArchiveError, match="extended header"):
        open_archive(io.BytesIO(raw.getvalue()))
