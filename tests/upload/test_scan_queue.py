"""The scan task is queued in the transaction that records the file: both are committed, or
neither is (the task queue is a table of the same database)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult
from packaging.version import Version

from bastion.packages import services as packages
from bastion.packages.models import File
from bastion.upload import tasks
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _new_file(name: str) -> packages.NewFile:
    return packages.NewFile(
        filename=name,
        packagetype=File.WHEEL,
        python_version="py3",
        requires_python="",
        size=1,
        md5_digest="0" * 32,
        sha256_digest="0" * 64,
        blake2_256_digest="0" * 64,
        storage_key="00/00/" + "0" * 60 + "/" + name,
        metadata_sha256="",
    )


def test_an_upload_leaves_its_file_pending_with_its_scan_queued(upload: Any, token: str) -> None:
    with override_settings(TASKS=DATABASE_QUEUE):
        assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    file = File.objects.get()
    assert file.state == File.PENDING  # nobody runs the queue in this test
    queued = DBTaskResult.objects.get()
    assert queued.task_path.endswith("scan_pending_file")
    assert file.pk in queued.args_kwargs["args"]


def test_a_rolled_back_file_leaves_no_scan_queued(user: Any) -> None:
    class Abort(Exception):
        pass

    with override_settings(TASKS=DATABASE_QUEUE), pytest.raises(Abort), transaction.atomic():
        project = packages.create_project("samplepkg", user)
        release, _ = packages.get_or_create_release(
            project, Version("1.0"), metadata={}, uploader=user
        )
        file = packages.add_file(
            release, _new_file("samplepkg-1.0-py3-none-any.whl"), uploader=user
        )
        tasks.enqueue_scan(file.pk)  # as the upload's record step does
        assert DBTaskResult.objects.count() == 1  # queued, not yet committed
        raise Abort
    assert DBTaskResult.objects.count() == 0
    assert File.objects.count() == 0
