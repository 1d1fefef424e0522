"""Tasks survive the death of their worker; ``bastion check`` finds what a dead process left
(a scan stuck RUNNING, a pending file with no scan, a partial upload) and ``--repair`` mends it.

The dead worker is made the way one is left in the database: the task claimed as
``django_tasks_db``'s worker claims it (``DBTaskResult.claim``), and never finished. The last
test kills a real ``bastion worker`` with SIGKILL in the middle of a scan.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import OperationalError, transaction
from django.test import override_settings
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from bastion.cli import main
from bastion.packages.models import File
from bastion.upload import recovery
from bastion.upload.models import WorkerLease
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")
DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
BIN = Path(sys.executable).parent


@pytest.fixture
def queue() -> Iterator[None]:
    """The database queue, with nobody running it unless the test starts a worker."""
    with override_settings(TASKS=DATABASE_QUEUE):
        yield


@pytest.fixture(autouse=True)
def _signals() -> Iterator[None]:
    """``bastion worker`` run in-process installs its own SIGINT/SIGTERM handlers."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def run(capsys: Any, *args: str) -> tuple[int, str, str]:
    old = sys.stdin
    sys.stdin = io.StringIO("")
    try:
        code = main(list(args))
    finally:
        sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def check(capsys: Any, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, "check", "--json", *args)
    return code, json.loads(out)


def uploaded(upload: Any, token: str, name: str = "samplepkg") -> File:
    assert upload(builders.wheel(name, "1.0"), token).status_code == 200
    file = File.objects.get(filename=f"{name}-1.0-py3-none-any.whl")
    assert file.state == File.PENDING  # its scan waits in the queue
    return file


def claim_as_dead_worker(
    worker_id: str = "w-dead", *, lease: str | None = "expired", ago: float = 0
) -> DBTaskResult:
    """Claim the queued scan as a worker does, and leave it as that worker's death would.
    ``lease``: "expired" (the worker stopped renewing it), "valid" (alive on another machine)
    or None (a worker that never held one)."""
    task = DBTaskResult.objects.ready().get()
    task.claim(worker_id)
    if ago:
        task.started_at = timezone.now() - timedelta(seconds=ago)
        task.save(update_fields=["started_at"])
    now = timezone.now()
    if lease is not None:
        expires = now - timedelta(seconds=5) if lease == "expired" else now + timedelta(minutes=1)
        WorkerLease.objects.create(
            worker_id=worker_id,
            node="another-host pid:[1]",
            pid=4242,
            started_at=now - timedelta(minutes=5),
            renewed_at=expires - timedelta(seconds=60),
            expires_at=expires,
        )
    return task


def test_a_scan_whose_worker_died_is_reported_then_published_by_a_new_worker(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    file = uploaded(upload, token)
    claim_as_dead_worker()
    code, report = check(capsys)
    assert code == 1
    (problem,) = report["problems"]
    assert problem["file"] == file.filename
    assert problem["problem"].startswith("its scan is stuck RUNNING: worker w-dead")
    assert "stopped renewing its lease" in problem["problem"]

    # A new worker takes the task back when it starts, and scans it.
    code, _, err = run(capsys, "worker", "--batch", "--nice", "0")
    assert code == 0
    assert "given back to the queue" in err
    file.refresh_from_db()
    assert file.state == File.PUBLISHED
    task = DBTaskResult.objects.get()
    assert task.status == TaskResultStatus.SUCCESSFUL
    assert task.worker_ids[0] == "w-dead" and len(task.worker_ids) == 2
    assert check(capsys) == (0, {"checked": 1, "problems": []})
    # The new worker's lease went with it; the dead one's is pruned an hour after it expired.
    assert list(WorkerLease.objects.values_list("pk", flat=True)) == ["w-dead"]


def test_check_repair_gives_the_task_back(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    file = uploaded(upload, token)
    claim_as_dead_worker()
    code, out, _ = run(capsys, "check", "--repair")
    assert code == 0
    assert f"{file.filename}: its scan is stuck RUNNING: worker w-dead" in out
    assert "-> given back to the queue" in out
    assert "checked 1 files, 1 problems, 1 repaired" in out
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY
    assert check(capsys) == (0, {"checked": 1, "problems": []})


def test_a_worker_alive_elsewhere_keeps_its_task(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    uploaded(upload, token)
    claim_as_dead_worker(lease="valid", ago=3600)
    assert recovery.dead_tasks() == []
    assert check(capsys, "--repair") == (0, {"checked": 1, "problems": [], "unrepaired": 0})
    assert DBTaskResult.objects.get().status == TaskResultStatus.RUNNING


def test_a_worker_on_this_machine_whose_process_is_gone_is_dead_at_once(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    uploaded(upload, token)
    claim_as_dead_worker(lease="valid")
    gone = subprocess.Popen(["true"])
    gone.wait()
    WorkerLease.objects.update(node=recovery.this_node(), pid=gone.pid)
    (dead,) = recovery.dead_tasks()
    assert "is no longer running" in dead.why
    # The same lease for a live process (this one) is left alone.
    WorkerLease.objects.update(pid=os.getpid())
    assert recovery.dead_tasks() == []


def test_a_worker_without_a_lease_is_given_one_lease_of_time(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    uploaded(upload, token)
    task = claim_as_dead_worker("w-plain-db-worker", lease=None)
    assert recovery.dead_tasks() == []  # took it just now: may be running it
    task.started_at = timezone.now() - timedelta(seconds=recovery.DEFAULT_LEASE + 1)
    task.save(update_fields=["started_at"])
    (dead,) = recovery.dead_tasks()
    assert dead.why == "worker w-plain-db-worker holds no lease"


def test_a_task_is_given_back_once_and_never_from_its_new_worker(
    queue: None, upload: Any, token: str
) -> None:
    uploaded(upload, token)
    claim_as_dead_worker()
    seen_by_one, seen_by_other = recovery.dead_tasks(), recovery.dead_tasks()
    assert len(recovery.give_back(seen_by_one)) == 1
    assert recovery.give_back(seen_by_other) == []  # another recoverer was first
    task = DBTaskResult.objects.get()
    task.claim("w-new")  # taken again ...
    assert recovery.give_back(seen_by_one) == []  # ... so a late recoverer leaves it alone
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING and task.worker_ids[-1] == "w-new"


def test_a_task_not_safe_to_run_twice_is_marked_failed(capsys: Any, queue: None) -> None:
    task = DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="bastion.somewhere.send_newsletter",
        backend_name="default",
        run_after=timezone.now(),
        status=TaskResultStatus.RUNNING,
        started_at=timezone.now() - timedelta(hours=1),
        worker_ids=["w-gone"],
    )
    code, out, _ = run(capsys, "check", "--repair")
    assert code == 0
    assert f"task {task.pk}: bastion.somewhere.send_newsletter is stuck RUNNING" in out
    assert "-> marked failed (not safe to run twice)" in out
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path == recovery.WORKER_LOST


def test_a_pending_file_whose_scan_failed_is_listed_and_queued_again(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    file = uploaded(upload, token)
    DBTaskResult.objects.update(
        status=TaskResultStatus.FAILED,
        exception_class_path="builtins.OSError",
        finished_at=timezone.now(),
    )
    code, report = check(capsys)
    assert code == 1
    assert report["problems"] == [
        {
            "file": file.filename,
            "problem": "pending, but its last scan failed (OSError) and no other is queued: "
            "nothing would scan it",
        }
    ]
    code, out, _ = run(capsys, "check", "--repair")
    assert code == 0 and "-> queued a new scan" in out
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
    assert check(capsys) == (0, {"checked": 1, "problems": []})
    run(capsys, "worker", "--batch", "--nice", "0")
    file.refresh_from_db()
    assert file.state == File.PUBLISHED


def test_a_pending_file_with_no_task_at_all(
    capsys: Any, queue: None, upload: Any, token: str
) -> None:
    """As a database restored without its task rows leaves it."""
    file = uploaded(upload, token)
    DBTaskResult.objects.all().delete()
    code, report = check(capsys)
    assert code == 1
    assert report["problems"] == [
        {"file": file.filename, "problem": "pending, but no scan is queued: nothing would scan it"}
    ]
    code, report = check(capsys, "--repair")
    assert code == 0 and report["problems"][0]["repaired"] == "queued a new scan"


def test_a_damaged_pending_file_is_not_queued_again(
    capsys: Any, queue: None, upload: Any, token: str, settings: Any
) -> None:
    file = uploaded(upload, token)
    DBTaskResult.objects.all().delete()
    (settings.BASTION.storage_dir / file.storage_key).unlink()
    code, report = check(capsys, "--repair")
    assert code == 1 and report["unrepaired"] == 2
    assert {p["problem"] for p in report["problems"]} == {
        "missing from storage",
        "pending, but no scan is queued: nothing would scan it",
    }
    assert not DBTaskResult.objects.exists()


def test_partial_upload_files_are_listed_and_removed(capsys: Any, settings: Any) -> None:
    storage_dir: Path = settings.BASTION.storage_dir
    storage_dir.mkdir(parents=True, exist_ok=True)
    left = storage_dir / ".incoming-k2j3h4.upload"
    left.write_bytes(b"\0" * 2_500_000)
    # Left by default: a live upload may be writing it (untouched for less than 10 minutes).
    assert check(capsys) == (0, {"checked": 0, "problems": []})
    code, report = check(capsys, "--partial-age", "0")
    assert code == 1
    (problem,) = report["problems"]
    assert problem["file"] == str(left)
    assert problem["problem"].startswith(
        "partial file left by an interrupted upload or write (2.5 MB, untouched for 0 minutes)"
    )
    code, out, _ = run(capsys, "check", "--repair", "--partial-age", "0")
    assert code == 0 and f"{left}: partial file" in out and "-> removed" in out
    assert not left.exists()


def test_storage_lists_only_partial_files_older_than_asked(settings: Any) -> None:
    from bastion.storage import get_storage

    storage = get_storage()
    root, public_root = settings.BASTION.storage_dir, settings.BASTION.public_dir
    old = root / "ab" / "cd" / ".incoming-x1"  # a copy being stored (put)
    old.parent.mkdir(parents=True)
    old.write_bytes(b"x")
    link = public_root / "packages" / ".link-99-samplepkg-1.0.tar.gz"
    link.write_bytes(b"y")
    time.sleep(0.3)
    young = root / ".incoming-y2.upload"
    young.write_bytes(b"z")
    (root / "ab" / "cd" / "samplepkg-1.0.tar.gz").write_bytes(b"stored")
    assert [p.path for p in storage.partial_files(older_than=0.2)] == sorted([old, link])
    assert storage.iter_keys() == ["ab/cd/samplepkg-1.0.tar.gz"]  # partial files are no orphans
    with pytest.raises(ValueError):
        storage.remove_partial(type(storage.partial_files(0)[0])(root / "ab", 0, 0))


def test_worker_releases_its_lease_and_requeues_what_it_was_stopped_in(
    queue: None, upload: Any, token: str
) -> None:
    file = uploaded(upload, token)
    with recovery.worker_lease(lease=30) as worker_id:
        lease = WorkerLease.objects.get()
        assert lease.worker_id == worker_id and lease.pid == os.getpid()
        assert lease.expires_at > timezone.now() + timedelta(seconds=25)
        DBTaskResult.objects.get().claim(worker_id)  # ... and then the loop stops
    assert not WorkerLease.objects.exists()
    assert DBTaskResult.objects.get().status == TaskResultStatus.READY
    file.refresh_from_db()
    assert file.state == File.PENDING


def test_a_running_worker_renews_its_lease_and_takes_back_a_dead_worker_s_task(
    queue: None, upload: Any, token: str
) -> None:
    uploaded(upload, token)
    with recovery.worker_lease(lease=0.6) as worker_id:
        first = retrying(lambda: WorkerLease.objects.get(pk=worker_id).renewed_at)
        retrying(claim_as_dead_worker)  # dies after this worker started
        deadline = time.monotonic() + 10
        while retrying(lambda: DBTaskResult.objects.get().status) != TaskResultStatus.READY:
            assert time.monotonic() < deadline, "the dead worker's task was not given back"
            time.sleep(0.05)
        assert retrying(lambda: WorkerLease.objects.get(pk=worker_id).renewed_at) > first


def retrying(query: Callable[[], T]) -> T:
    """Run ``query`` in one transaction until no lock is in the way: the SQLite test database
    is in memory, where a lock held by the lease's thread fails at once instead of waiting."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with transaction.atomic():
                return query()
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_a_scan_interrupted_by_a_forced_stop_is_queued_again(
    capsys: Any, queue: None, upload: Any, token: str, monkeypatch: Any
) -> None:
    """A second Ctrl-C makes the worker ``sys.exit`` inside the task, which it records FAILED."""
    from bastion.upload import tasks

    file = uploaded(upload, token)
    scan = tasks._scan
    calls = []

    def stopped_once(f: File) -> Any:
        calls.append(f.pk)
        if len(calls) == 1:
            raise SystemExit(1)
        return scan(f)

    monkeypatch.setattr(tasks, "_scan", stopped_once)
    code, _, err = run(capsys, "worker", "--batch", "--nice", "0")
    assert code == 0 and "interrupted by the worker's stop; queued again" in err
    assert DBTaskResult.objects.filter(status=TaskResultStatus.FAILED).count() == 1
    assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 1
    run(capsys, "worker", "--batch", "--nice", "0")
    file.refresh_from_db()
    assert file.state == File.PUBLISHED and len(calls) == 2


# -- a real worker, killed ------------------------------------------------------------------


SETUP = """
import sys
import django

django.setup()
from django.db import transaction
from packaging.version import Version

from bastion.accounts.services import create_user
from bastion.packages import services as packages
from bastion.packages.models import File
from bastion.storage import file_key
from bastion.upload.tasks import enqueue_scan

path, filename = sys.argv[1], sys.argv[2]
with open(path, "rb") as fh:
    from bastion.storage import file_digests

    size, digests = file_digests(fh)
user = create_user("alice", email="alice@example.com", password="a sufficiently long passphrase",
                   email_verified=True)
key = file_key(digests["blake2_256_digest"], filename)
with transaction.atomic():
    project = packages.create_project("samplepkg", user)
    release, _ = packages.get_or_create_release(
        project, Version("1.0"), metadata={"summary": "test"}, uploader=user, new_project=True
    )
    file = packages.add_file(release, packages.NewFile(
        filename=filename, packagetype=File.WHEEL, python_version="py3", requires_python="",
        size=size, storage_key=key, metadata_sha256="", **digests), uploader=user)
    enqueue_scan(file.pk)
print(key)
"""


def _database_url() -> str | None:
    """On PostgreSQL runs, a database of this test's own (as tests/e2e do)."""
    base = os.environ.get("BASTION_DATABASE_URL")
    if not base or not base.startswith("postgres"):
        return None
    import psycopg

    name = f"recovery_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + "/" + name


def _open_writer(fifo: Path, worker: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """Open the FIFO for writing once the worker has opened it for reading (ENXIO until)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            if worker.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the worker never began the scan") from None
            time.sleep(0.05)


def test_a_killed_worker_s_scan_is_finished_by_the_next_worker(tmp_path: Path) -> None:
    """SIGKILL a real ``bastion worker`` while its scan reads the file: the file stays pending
    and ``bastion check`` says why; the next worker (started on the same machine, so it sees
    the dead process at once) takes the scan again and publishes the file."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BASTION_", "DJANGO_"))}
    env.update(BASTION_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="bastion.settings")
    if db := _database_url():
        env["BASTION_DATABASE_URL"] = db

    def bastion(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(BIN / "bastion"), *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert not ok or done.returncode == 0, done.stderr
        return done

    bastion("migrate")
    dist = builders.wheel("samplepkg", "1.0")
    wheel = tmp_path / dist.filename
    wheel.write_bytes(dist.data)
    key = subprocess.run(
        [sys.executable, "-c", SETUP, str(wheel), dist.filename],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    # The stored file is a FIFO: the scan blocks reading it, deterministically, mid-task.
    stored = data / "files" / key
    stored.parent.mkdir(parents=True)
    os.mkfifo(stored)

    worker = subprocess.Popen(
        [str(BIN / "bastion"), "worker", "--nice", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    writer = _open_writer(stored, worker)
    try:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        os.close(writer)
        with contextlib.suppress(Exception):
            worker.stderr.close()  # type: ignore[union-attr]
    stored.unlink()
    stored.write_bytes(dist.data)  # the upload's bytes, as storage holds them

    done = bastion("check", "--json", ok=False)
    assert done.returncode == 1
    (problem,) = json.loads(done.stdout)["problems"]
    assert problem["file"] == dist.filename
    assert problem["problem"].startswith("its scan is stuck RUNNING: worker ")
    assert problem["problem"].endswith("is no longer running")

    worker = subprocess.Popen(
        [str(BIN / "bastion"), "worker", "--nice", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    published = data / "public" / "packages" / key
    try:
        deadline = time.monotonic() + 60
        while not published.exists():  # what /packages/ serves
            assert time.monotonic() < deadline, "the next worker did not publish the file"
            time.sleep(0.1)
    finally:
        worker.terminate()
        _, err = worker.communicate(timeout=30)
    assert "given back to the queue" in err
    assert published.read_bytes() == dist.data
    (row,) = json.loads(bastion("files", "--state", "published", "--json").stdout)
    assert row["filename"] == dist.filename
    done = bastion("check", "--json")
    assert json.loads(done.stdout) == {"checked": 1, "problems": []}


def test_the_page_render_is_given_back_like_the_scan() -> None:
    """Both tasks may run twice; recovery names the render by its path (``index`` sits above
    ``upload``), so the path must stay the task's."""
    from bastion.index.tasks import render_pages
    from bastion.upload.tasks import scan_pending_file

    assert {
        scan_pending_file.module_path,
        render_pages.module_path,
    } == recovery.RETRYABLE_TASKS
