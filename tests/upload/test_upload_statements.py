"""What an upload asks of the database, and what keeps it right when uploads overlap.

The upload looks its release up once, before the transaction, and the transaction takes that
release; what keeps it right is the project's row, locked first in the transaction (on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), and the sdist check after it.
The tests below put a second upload between an upload's look-up and its transaction.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from bastion.clientinfo import ClientInfo
from bastion.events.models import Event
from bastion.packages import services as packages
from bastion.packages.models import File, Release
from bastion.storage.base import Digester
from bastion.tokens.services import authenticate as token_identity
from bastion.upload import services as upload_services
from bastion.upload.receive import ReceivedFile
from tests import builders
from tests.builders import Dist

pytestmark = pytest.mark.django_db(transaction=True)

#: The task queue as in production: the scan is queued in the upload's transaction and nobody
#: runs it here, so the statements captured are the upload's own.
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

_TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE|JOIN)\s+"(\w+)"')
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements(captured: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """Each statement as (verb, tables it names), transaction control left out (PostgreSQL's
    BEGIN is implicit and never logged)."""
    out = []
    for query in captured:
        sql = query["sql"].strip()
        if sql.upper().startswith(_CONTROL):
            continue
        out.append((sql.split(None, 1)[0].upper(), tuple(sorted(set(_TABLE.findall(sql))))))
    return out


def test_a_second_file_of_a_release_runs_these_statements(upload: Any, token: str) -> None:
    with override_settings(TASKS=DATABASE_QUEUE):
        assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
        second = builders.wheel("samplepkg", "1.0", code="VALUE = 2\n", tag="py2-none-any")
        with CaptureQueriesContext(connection) as ctx:
            response = upload(second, token)
    assert response.status_code == 200, response.reason_phrase
    tasks = DBTaskResult._meta.db_table
    assert statements(ctx.captured_queries) == [
        ("SELECT", ("accounts_user", "tokens_token")),
        ("SELECT", ("packages_project",)),
        ("SELECT", ("packages_role",)),  # the policy's role of the user
        # a file of this name or of these bytes, and the registry of names ever used
        ("SELECT", ("packages_file", "packages_filenameregistry")),
        # the release, looked up once (the transaction takes it), and has it an sdist?
        ("SELECT", ("packages_file", "packages_release")),
        # the transaction: the project's total size first (its row lock), then the file
        ("UPDATE", ("packages_project",)),
        ("INSERT", ("packages_filenameregistry",)),
        ("INSERT", ("packages_file",)),
        ("INSERT", (tasks,)),
        ("INSERT", ("events_event",)),
        # after the commit: the file's state (still pending; by default nothing waits for the
        # worker's verdict, so no lease is read)
        ("SELECT", ("packages_file",)),
    ], [q["sql"] for q in ctx.captured_queries]
    assert File.objects.filter(release__version="1.0").count() == 2


def _upload_between_lookup_and_transaction(
    monkeypatch: pytest.MonkeyPatch, other: Callable[[], Any]
) -> list[Any]:
    """Run ``other`` (a whole upload) right after the next upload has looked its release up
    and before its transaction starts: the window another process could commit in."""
    real = packages.find_release_for_upload
    responses: list[Any] = []

    def lookup_then_let_the_other_upload_commit(project: Any, version: str) -> Release | None:
        found = real(project, version)
        monkeypatch.setattr(packages, "find_release_for_upload", real)
        responses.append(other())
        return found

    monkeypatch.setattr(
        packages, "find_release_for_upload", lookup_then_let_the_other_upload_commit
    )
    return responses


def test_a_wheel_and_an_sdist_of_one_new_version_at_once_make_one_release(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    sdist = builders.sdist("samplepkg", "2.0")
    others = _upload_between_lookup_and_transaction(monkeypatch, lambda: upload(sdist, token))
    response = upload(builders.wheel("samplepkg", "2.0"), token)
    assert others[0].status_code == 200, others[0].reason_phrase
    assert response.status_code == 200, response.reason_phrase
    release = Release.objects.get(canonical_version="2")
    assert sorted(release.files.values_list("packagetype", flat=True)) == [
        File.WHEEL,
        File.SDIST,
    ]
    assert Event.objects.filter(tag="project:release:add", additional__version="2.0").count() == 1


@pytest.mark.parametrize("existing_release", [True, False])
def test_a_second_sdist_committed_after_the_lookup_is_refused(
    upload: Any, token: str, monkeypatch: pytest.MonkeyPatch, existing_release: bool
) -> None:
    """``1.0`` and ``1.0.0`` are one release with two sdist filenames: no unique constraint
    stops the second, the check inside the transaction does."""
    assert upload(builders.wheel("samplepkg", "0.9"), token).status_code == 200
    if existing_release:
        assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    first = builders.sdist("samplepkg", "1.0")
    others = _upload_between_lookup_and_transaction(monkeypatch, lambda: upload(first, token))
    response = upload(builders.sdist("samplepkg", "1.0.0"), token)
    assert others[0].status_code == 200, others[0].reason_phrase
    assert response.status_code == 400
    assert response.reason_phrase == "Only one sdist may be uploaded per release."
    release = Release.objects.get(canonical_version="1")
    assert list(
        release.files.filter(packagetype=File.SDIST).values_list("filename", flat=True)
    ) == [first.filename]
    assert not File.objects.filter(filename="samplepkg-1.0.0.tar.gz").exists()


def _upload(dist: Dist, raw_token: str) -> upload_services.UploadResult:
    """The pipeline called as the view calls it, without HTTP."""
    digester = Digester()
    digester.update(dist.data)
    form: dict[str, list[str]] = {}
    for key, value in dist.fields:
        form.setdefault(key, []).append(value)
    return upload_services.handle_upload(
        upload_services.UploadForm(form, ("content",)),
        token_identity(raw_token),
        ReceivedFile(
            file=io.BytesIO(dist.data),
            name=dist.filename,
            content_type="application/octet-stream",
            size=digester.size,
            digests=digester.hexdigests(),
            path=None,
        ),
        ClientInfo(address="192.0.2.1", user_agent="twine"),
    )


@pytest.fixture
def pause_inside_transaction(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Hold the upload of ``samplepkg-1.0.tar.gz`` inside its transaction, after the project's
    row is locked, until the event is set."""
    proceed = threading.Event()
    reached = threading.Event()
    real = packages._insert_file

    def insert_file(release: Release, new: packages.NewFile, **kwargs: Any) -> File:
        if new.filename == "samplepkg-1.0.tar.gz":
            reached.set()
            proceed.wait(10)
        return real(release, new, **kwargs)

    monkeypatch.setattr(packages, "_insert_file", insert_file)
    proceed.reached = reached  # type: ignore[attr-defined]
    yield proceed
    proceed.set()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="PostgreSQL only: the test database of SQLite is in memory, shared between threads "
    "by table locks that fail at once instead of waiting; SQLite's BEGIN IMMEDIATE serialises "
    "writers anyway",
)
def test_concurrent_sdists_wait_for_the_project_lock(
    upload: Any, token: str, pause_inside_transaction: threading.Event
) -> None:
    """On PostgreSQL (READ COMMITTED) the second sdist's transaction waits at the project's
    row until the first commits, then sees its sdist."""
    assert upload(builders.wheel("samplepkg", "1.0"), token).status_code == 200
    outcomes: dict[str, str] = {}

    def run(dist: Dist) -> None:
        try:
            _upload(dist, token)
            outcomes[dist.filename] = "ok"
        except upload_services.UploadError as exc:
            outcomes[dist.filename] = exc.message
        finally:
            connection.close()

    first = threading.Thread(target=run, args=(builders.sdist("samplepkg", "1.0"),))
    first.start()
    assert pause_inside_transaction.reached.wait(10)  # type: ignore[attr-defined]
    second = threading.Thread(target=run, args=(builders.sdist("samplepkg", "1.0.0"),))
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the first upload's lock
    pause_inside_transaction.set()
    first.join(10)
    second.join(10)
    assert outcomes == {
        "samplepkg-1.0.tar.gz": "ok",
        "samplepkg-1.0.0.tar.gz": "Only one sdist may be uploaded per release.",
    }
