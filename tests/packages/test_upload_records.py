"""The look-ups the upload makes before its transaction (``packages.filename_uses``,
``packages.find_release_for_upload``, ``packages.has_sdist``): one statement each, and what
they return."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from packaging.version import Version

from bastion.packages import services as packages
from bastion.packages.models import File, FilenameRegistry, Project, Release

pytestmark = pytest.mark.django_db(transaction=True)


def _new_file(filename: str, blake2: str, packagetype: str = File.WHEEL) -> packages.NewFile:
    return packages.NewFile(
        filename=filename,
        packagetype=packagetype,
        python_version="py3" if packagetype == File.WHEEL else "source",
        requires_python="",
        size=10,
        md5_digest="0" * 32,
        sha256_digest="5" * 64,
        blake2_256_digest=blake2,
        storage_key=f"00/00/{blake2}/{filename}",
        metadata_sha256="",
    )


@pytest.fixture
def release(user: Any) -> Release:
    with transaction.atomic():
        project = packages.create_project("samplepkg", user)
        release, _ = packages.get_or_create_release(
            project, Version("1.0"), metadata={"version": "1.0"}, uploader=user
        )
    return release


def _add(release: Release, user: Any, new: packages.NewFile) -> File:
    with transaction.atomic():
        return packages.add_file(release, new, uploader=user)


def test_nothing_uses_a_new_filename(release: Release) -> None:
    with CaptureQueriesContext(connection) as ctx:
        uses = packages.filename_uses("samplepkg-1.0-py3-none-any.whl", "a" * 64)
    assert uses == packages.FilenameUses(same_name=None, same_content=None, registered=False)
    assert len(ctx.captured_queries) == 1


def test_the_file_of_the_same_name_is_found_with_its_state_and_digests(
    release: Release, user: Any
) -> None:
    file = _add(release, user, _new_file("samplepkg-1.0-py3-none-any.whl", "a" * 64))
    with CaptureQueriesContext(connection) as ctx:
        uses = packages.filename_uses(file.filename, "b" * 64)
        assert uses.same_name is not None
        found = uses.same_name
        loaded = (
            found.pk,
            found.filename,
            found.state,
            found.sha256_digest,
            found.blake2_256_digest,
        )
    assert len(ctx.captured_queries) == 1  # the fields read above were all loaded
    assert loaded == (file.pk, file.filename, File.PENDING, "5" * 64, "a" * 64)
    assert uses.same_content is None
    assert uses.registered  # every accepted file's name is registered


def test_the_same_bytes_under_another_name_are_found(release: Release, user: Any) -> None:
    file = _add(release, user, _new_file("samplepkg-1.0-py3-none-any.whl", "a" * 64))
    uses = packages.filename_uses("samplepkg-1.0-py2-none-any.whl", "a" * 64)
    assert uses.same_name is None
    assert uses.same_content is not None and uses.same_content.pk == file.pk
    assert not uses.registered


def test_a_name_used_by_a_deleted_file_stays_registered(release: Release, user: Any) -> None:
    file = _add(release, user, _new_file("samplepkg-1.0-py3-none-any.whl", "a" * 64))
    File.objects.filter(pk=file.pk).delete()
    assert FilenameRegistry.objects.filter(filename=file.filename).exists()
    uses = packages.filename_uses(file.filename, "c" * 64)
    assert uses == packages.FilenameUses(same_name=None, same_content=None, registered=True)


def test_the_release_for_an_upload_comes_with_its_project_and_sdist(
    release: Release, user: Any
) -> None:
    project = Project.objects.get()
    with CaptureQueriesContext(connection) as ctx:
        found, sdist = packages.find_release_for_upload(project, "1.0.0")  # 1.0's release
        assert found is not None
        seen = (found.pk, found.version, found.project.normalized_name, sdist)
    assert len(ctx.captured_queries) == 1
    assert seen == (release.pk, "1.0", "samplepkg", False)
    _add(release, user, _new_file("samplepkg-1.0-py3-none-any.whl", "a" * 64))
    assert packages.find_release_for_upload(project, "1.0")[1] is False
    assert not packages.has_sdist(release)
    _add(release, user, _new_file("samplepkg-1.0.tar.gz", "b" * 64, File.SDIST))
    assert packages.find_release_for_upload(project, "1.0")[1] is True
    assert packages.has_sdist(release)
    assert packages.find_release_for_upload(project, "2.0") == (None, False)
    assert packages.find_release_for_upload(project, "not a version") == (None, False)
