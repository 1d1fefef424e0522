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

pytestmark = pytest.mark.django_db(transaction=True)


def leftovers() -> list[str]:
    root = settings.BASTION_STORAGE_DIR
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
    root = settings.BASTION_STORAGE_DIR
    assert not [p for p in root.rglob("*") if p.is_file()] if root.exists() else True
