"""Receiving the file: digests computed on arrival, large files adopted by storage, and no
half-received file left behind whatever the outcome."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from bastion.packages.models import File
from bastion.storage import get_storage
from tests import builders
from tests.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)


def leftovers() -> list[str]:
    root = settings.BASTION.storage_dir
    return [p.name for p in root.rglob(".incoming-*")] if root.exists() else []


def big_wheel() -> builders.Dist:
    # Random bytes do not compress: the wheel is as large as its payload.
    payload = hashlib.shake_256(b"bastion").digest(64 * 1024)
    return builders.wheel("samplepkg", "1.0", extra_members={"samplepkg/data.bin": payload})


@pytest.mark.parametrize("memory_limit", [1024, 10 * 1024 * 1024])
def test_received_file_is_stored_whole_with_its_digests(
    upload: Any, token: str, memory_limit: int
) -> None:
    dist = big_wheel()
    with override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=memory_limit):
        response = upload(dist, token)
    assert response.status_code == 200, response.reason_phrase
    file = File.objects.get()
    assert file.size == len(dist.data)
    assert file.md5_digest == hashlib.md5(dist.data).hexdigest()
    assert file.sha256_digest == hashlib.sha256(dist.data).hexdigest()
    assert file.blake2_256_digest == hashlib.blake2b(dist.data, digest_size=32).hexdigest()
    with get_storage().open(file.storage_key) as fh:
        assert fh.read() == dist.data
    assert leftovers() == []


def test_refused_large_upload_leaves_nothing(upload: Any, token: str) -> None:
    dist = big_wheel()
    fields = [(k, "0" * 64 if k == "sha256_digest" else v) for k, v in dist.fields]
    with override_settings(FILE_UPLOAD_MAX_MEMORY_SIZE=1024):
        response = upload(dist, token, fields=fields)
    assert response.status_code == 400
    assert "digest supplied does not match" in response.reason_phrase
    assert File.objects.count() == 0
    assert leftovers() == []
    root = settings.BASTION.storage_dir
    assert not [p for p in root.rglob("*") if p.is_file()] if root.exists() else True


BOUNDARY = "bastionboundary"


def _part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


def _body(dist: builders.Dist, *, filename: str | None = None, extra: bytes = b"") -> bytes:
    parts = b"".join(_part(k, v.encode()) for k, v in dist.fields)
    parts += _part("content", dist.data, filename or dist.filename) + extra
    return parts + f"--{BOUNDARY}--\r\n".encode()


def _post(client: Any, token: str, body: bytes, content_type: str | None = None) -> Any:
    return client.generic(
        "POST",
        "/legacy/",
        body,
        content_type=content_type or f"multipart/form-data; boundary={BOUNDARY}",
        HTTP_AUTHORIZATION=basic(token),
    )


def test_a_form_built_by_hand_is_accepted(client: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = _post(client, token, _body(dist))
    assert response.status_code == 200, response.reason_phrase
    assert File.objects.get().filename == dist.filename


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no boundary", "the Content-Type has no boundary"),
        ("truncated", "Invalid multipart body"),
        ("garbage", "Invalid multipart body"),
        ("field not utf-8", "is not UTF-8"),
        ("part without a name", "a part has no form field name"),
        ("too many fields", "Request body too large"),
        ("fields too large", "Request body too large"),
    ],
)
def test_a_malformed_form_is_a_400_with_a_reason_and_leaves_nothing(
    client: Any, token: str, case: str, reason: str
) -> None:
    dist = big_wheel()
    body = _body(dist)
    content_type = None
    limits: dict[str, int] = {"FILE_UPLOAD_MAX_MEMORY_SIZE": 1024}
    if case == "no boundary":
        content_type = "multipart/form-data"
    elif case == "truncated":
        body = body[: len(body) // 2]  # the file part was being received
    elif case == "garbage":
        body = b"\x00\xff not a multipart body at all"
    elif case == "field not utf-8":
        body = _part("summary", b"\xff\xfe") + body
    elif case == "part without a name":
        body = f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n".encode() + body
    elif case == "too many fields":
        limits["DATA_UPLOAD_MAX_NUMBER_FIELDS"] = 10
    elif case == "fields too large":
        body = _part("comment", b"x" * 4096) + body
        limits["DATA_UPLOAD_MAX_MEMORY_SIZE"] = 2048
    with override_settings(**limits):
        response = _post(client, token, body, content_type)
    assert response.status_code == 400, response.content
    assert reason in response.reason_phrase
    assert "\n" not in response.reason_phrase
    assert File.objects.count() == 0
    assert leftovers() == []


def test_a_file_name_with_a_path_is_refused_not_stripped(client: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = _post(client, token, _body(dist, filename="../" + dist.filename))
    assert response.status_code == 400
    assert "Cannot upload a file with '/' or '\\' in the name." in response.reason_phrase
    assert File.objects.count() == 0


def test_two_content_parts_are_refused(client: Any, token: str) -> None:
    dist = builders.wheel("samplepkg", "1.0")
    response = _post(client, token, _body(dist, extra=_part("content", dist.data, dist.filename)))
    assert response.status_code == 400
    assert "content: Should not be a tuple." in response.reason_phrase
    assert File.objects.count() == 0


def test_a_request_without_a_known_token_is_refused_before_its_body_is_read(
    client: Any, token: str
) -> None:
    """PyPI authenticates before the view; bastion finds the token before reading (and hashing
    and spooling) a body that may be as large as the file size limit. (The token's signature
    and caveats are checked with the project, once the form names it.)"""
    garbage = b"\x00\xff not a multipart body at all"
    response = client.generic(
        "POST",
        "/legacy/",
        garbage,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        HTTP_AUTHORIZATION=basic("bastion-not-a-token"),
    )
    assert response.status_code == 403
    response = client.generic(
        "POST", "/legacy/", garbage, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )
    assert response.status_code == 403
    assert "Invalid or non-existent authentication information" in response.reason_phrase
    assert leftovers() == []
