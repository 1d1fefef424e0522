"""Work that survives the death of a worker, and what ``bastion check`` needs to find the rest.

``django_tasks_db`` (0.13) claims a task by setting it RUNNING with the claiming worker's id
and never looks at it again: it has no heartbeat, no timeout and no recovery. A worker killed
in the middle of a scan (``kill -9``, the OOM killer, a lost machine) would leave that task
RUNNING forever and its file pending, although the publisher was told 200. So:

* every ``bastion worker`` holds a lease (:class:`~bastion.upload.models.WorkerLease`) that a
  thread renews while the process lives (:func:`worker_lease`);
* a RUNNING task whose worker is gone -- its lease expired, or seen from the same machine its
  process is no longer there, or (a worker without a lease) it started longer than a lease
  ago -- is given back to the queue (:func:`give_back`): READY again, django_tasks' status
  for "ready to be executed again", when running it twice is harmless, as for the scan (it
  skips a file that is no longer pending, and ``apply_verdict`` decides under a row lock);
  any other task is marked FAILED, so that nothing stays RUNNING forever;
* workers do this when they start and every half lease, and a worker that stops gives back
  its own (a scan it was forced to abandon is queued again); ``bastion check --repair`` does
  it too, and also queues a scan for a pending file that has none (a scan that failed) and
  removes partial files that storage began and a dead process never finished.

Leases are compared with this machine's clock, as ``django_tasks_db`` already compares
``run_after`` with the worker's: the machines' clocks must agree to well within a lease.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, connections
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks.backends.immediate import ImmediateBackend
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from bastion.packages.models import File
from bastion.storage import get_storage
from bastion.storage.base import PartialFile
from bastion.upload.models import WorkerLease
from bastion.upload.tasks import scan_pending_file

log = logging.getLogger(__name__)

#: Seconds a worker promises to live without renewing its lease (``bastion worker --lease``).
#: It renews six times a lease, so a lease survives a few missed renewals (a busy database, a
#: loaded machine); a task of a dead worker waits up to a lease and a half for another.
DEFAULT_LEASE = 60.0

#: Tasks that may run again after a worker died in them. The scan may: it starts by checking
#: that the file is still pending and decides under the file's row lock. So may the index's
#: page render (named, not imported: ``index`` sits above ``upload``), which renders only
#: pages older than the database and does so under the project's row lock.
RETRYABLE_TASKS = frozenset({scan_pending_file.module_path, "bastion.index.tasks.render_pages"})

#: What a task given back because its worker died is marked with, when it may not run twice.
WORKER_LOST = "bastion.upload.recovery.WorkerLost"

#: Partial files younger than this (seconds since last written) may belong to a live upload.
PARTIAL_FILE_AGE = 10 * 60.0

#: What a task fails with when its worker is forced to stop: a second Ctrl-C or SIGTERM makes
#: ``django_tasks_db``'s worker call ``sys.exit`` in the middle of the task, and the worker
#: records the task FAILED with it before it exits.
_INTERRUPTIONS = ["builtins.SystemExit", "builtins.KeyboardInterrupt"]

#: A task interrupted this shortly before its worker exits is taken to have been interrupted
#: by the stop (see :func:`_release`).
_STOP_WINDOW = timedelta(seconds=30)


def this_node() -> str:
    """This machine (its host name, and its kernel's boot id) and PID namespace: a process can
    test another's pid only if both see the same pids. Two machines may share a host name, and
    the first PID namespace has the same inode everywhere, but not a boot id; two containers
    share a boot id (one kernel), never a PID namespace."""
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as fh:
        parts.append("boot:" + fh.read().strip())
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid"))
    return " ".join(parts)[:255]


def _process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs here (a zombie, killed and not yet reaped, is gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # somebody else's process
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


@dataclass(frozen=True)
class DeadTask:
    """A RUNNING task whose worker is gone."""

    task_id: str
    task_path: str
    args: list[Any]
    kwargs: dict[str, Any]
    worker_id: str
    started_at: datetime | None
    #: Why the worker is taken for dead, for the operator.
    why: str

    @classmethod
    def of(cls, task: DBTaskResult, worker_id: str, why: str) -> DeadTask:
        """The queue's row of a RUNNING ``task``, taken for dead for the reason ``why``."""
        return cls(
            task_id=str(task.pk),
            task_path=task.task_path,
            args=list(task.args_kwargs.get("args", [])),
            kwargs=dict(task.args_kwargs.get("kwargs", {})),
            worker_id=worker_id,
            started_at=task.started_at,
            why=why,
        )

    @property
    def file_id(self) -> int | None:
        """The file a scan task scans (None for any other task)."""
        return _scanned_file(self.task_path, self.args, self.kwargs)


def _scanned_file(task_path: str, args: list[Any], kwargs: dict[str, Any]) -> int | None:
    if task_path != scan_pending_file.module_path:
        return None
    value = args[0] if args else kwargs.get("file_id")
    return value if isinstance(value, int) else None


def _why_gone(
    worker_id: str,
    lease: WorkerLease | None,
    started_at: datetime | None,
    now: datetime,
    node: str,
) -> str | None:
    """Why ``worker_id`` is taken for dead, or None while it may be alive."""
    if lease is None:
        # A worker that never held a lease (started by hand with ``db_worker``, or by an
        # older bastion) or whose expired lease was pruned: alive for a lease after it took
        # the task, as if it had held one.
        if started_at is None or started_at < now - timedelta(seconds=DEFAULT_LEASE):
            return f"worker {worker_id or '(unknown)'} holds no lease"
        return None
    if lease.expires_at < now:
        return f"worker {lease} stopped renewing its lease at {lease.renewed_at:%Y-%m-%d %H:%M:%S}"
    if lease.node == node and _process_gone(lease.pid):
        return f"worker {lease} is no longer running"
    return None


def dead_tasks() -> list[DeadTask]:
    """RUNNING tasks whose worker is gone, oldest first."""
    running = list(DBTaskResult.objects.running().order_by("started_at"))
    if not running:
        return []
    last_workers = {t.worker_ids[-1] for t in running if t.worker_ids}
    leases = {lease.pk: lease for lease in WorkerLease.objects.filter(pk__in=last_workers)}
    now = timezone.now()
    node = this_node()
    dead = []
    for t in running:
        worker_id = t.worker_ids[-1] if t.worker_ids else ""
        why = _why_gone(worker_id, leases.get(worker_id), t.started_at, now, node)
        if why is not None:
            dead.append(DeadTask.of(t, worker_id, why))
    return dead


def give_back(tasks: Iterable[DeadTask] | None = None) -> list[tuple[DeadTask, str]]:
    """Give the tasks of dead workers back (default: every one :func:`dead_tasks` finds).

    Each is changed only if it is still RUNNING since the same start: when several workers
    (and ``bastion check --repair``) recover at once, one of them gives a task back, and a
    task taken again meanwhile is left to its new worker. Returns ``(task, what was done)``
    for the tasks this call changed.
    """
    done = []
    for task in dead_tasks() if tasks is None else tasks:
        claim = DBTaskResult.objects.filter(
            pk=task.task_id, status=TaskResultStatus.RUNNING, started_at=task.started_at
        )
        if task.task_path in RETRYABLE_TASKS:
            changed = claim.update(status=TaskResultStatus.READY)
            action = "given back to the queue"
        else:
            changed = claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                exception_class_path=WORKER_LOST,
                traceback=f"{task.why}; not retried: the task may not be safe to run twice\n",
            )
            action = "marked failed (not safe to run twice)"
        if changed:
            log.warning("task %s (%s): %s; %s", task.task_id, task.task_path, task.why, action)
            done.append((task, action))
    # Leases expired an hour ago belong to workers long dead (one that comes back makes a
    # new one); their tasks, if any are left, count as a lease-less worker's.
    WorkerLease.objects.filter(expires_at__lt=timezone.now() - timedelta(hours=1)).delete()
    return done


@contextlib.contextmanager
def worker_lease(lease: float = DEFAULT_LEASE) -> Iterator[str]:
    """Hold a lease for a worker while the block runs; yields the worker id to run under.

    On entry it registers the lease and gives back the tasks of dead workers (those a
    restarted ``bastion serve`` left behind are found at once, their process being gone); a
    thread then renews the lease and gives back dead workers' tasks every half lease. On exit
    the work this worker was stopped in is given back (:func:`_release`) before the lease is
    removed.
    """
    worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"
    keeper = _LeaseKeeper(worker_id, lease)
    try:
        keeper.renew()
        give_back()
    except DatabaseError:
        # A database busy at this moment must not stop the worker (nor, with it, ``bastion
        # serve``): the thread renews and recovers again within half a lease.
        log.warning("worker %s: could not take its lease yet", worker_id, exc_info=True)
    keeper.start()
    try:
        yield worker_id
    finally:
        keeper.stop()
        try:
            _release(worker_id)
            WorkerLease.objects.filter(pk=worker_id).delete()
        except DatabaseError:
            # Stopping because the database went away: the lease expires by itself, and
            # the next worker gives this one's tasks back.
            log.warning("worker %s: could not release its lease", worker_id, exc_info=True)


class _LeaseKeeper(threading.Thread):
    """Renews a worker's lease, and looks for dead workers' tasks, beside the worker's loop
    (which blocks for as long as a scan takes)."""

    def __init__(self, worker_id: str, lease: float) -> None:
        super().__init__(name=f"lease {worker_id}", daemon=True)
        self.worker_id = worker_id
        self.lease = lease
        self.started = timezone.now()
        self._stopping = threading.Event()

    def renew(self) -> None:
        now = timezone.now()
        expires = now + timedelta(seconds=self.lease)
        mine = WorkerLease.objects.filter(pk=self.worker_id)
        if mine.update(renewed_at=now, expires_at=expires):
            return
        # First renewal, or the lease was pruned while this process was stopped (SIGSTOP, a
        # suspended VM): come back under the same id.
        with contextlib.suppress(IntegrityError):
            WorkerLease.objects.create(
                worker_id=self.worker_id,
                node=this_node(),
                pid=os.getpid(),
                started_at=self.started,
                renewed_at=now,
                expires_at=expires,
            )

    def run(self) -> None:
        every = self.lease / 6
        next_recovery = time.monotonic() + self.lease / 2
        try:
            while not self._stopping.wait(every):
                try:
                    self.renew()
                    if time.monotonic() >= next_recovery:
                        next_recovery = time.monotonic() + self.lease / 2
                        give_back()
                except DatabaseError:
                    # SQLite busy past its timeout, PostgreSQL restarting: try again next time;
                    # a lease outlives several missed renewals.
                    log.warning(
                        "worker %s: could not renew its lease", self.worker_id, exc_info=True
                    )
        finally:
            connections.close_all()

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout=10)


def _release(worker_id: str) -> None:
    """Give back the work of a worker whose loop has returned: the tasks still RUNNING under
    its id (whatever stopped it), and a retryable task that it recorded as FAILED because it
    was forced to stop in the middle of it (queued again: the FAILED row stays, as a record).

    A task that raised ``SystemExit`` itself is indistinguishable from one interrupted by the
    stop; only the worker's last task, failed within ``_STOP_WINDOW`` of the exit, is queued
    again, so such a task runs at most once more, not in a loop.
    """
    mine = [
        DeadTask.of(t, worker_id, f"worker {worker_id} stopped while running it")
        for t in DBTaskResult.objects.running()
        if t.worker_ids and t.worker_ids[-1] == worker_id
    ]
    if mine:
        give_back(mine)
    recent = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL],
        finished_at__gte=timezone.now() - _STOP_WINDOW,
    ).order_by("-finished_at")
    last = next((t for t in recent if t.worker_ids and t.worker_ids[-1] == worker_id), None)
    if (
        last is not None
        and last.status == TaskResultStatus.FAILED
        and last.exception_class_path in _INTERRUPTIONS
        and last.task_path in RETRYABLE_TASKS
    ):
        last.task.enqueue(*last.args_kwargs["args"], **last.args_kwargs["kwargs"])
        log.warning(
            "task %s (%s) was interrupted by the worker's stop; queued again",
            last.pk,
            last.task_path,
        )


# -- for bastion check ---------------------------------------------------------------------


@dataclass(frozen=True)
class UnqueuedFile:
    """A pending file for which no scan is queued or running."""

    file_id: int
    filename: str
    #: What became of its scans, for the operator.
    why: str


def queue_is_readable() -> bool:
    """Whether bastion can see what the task backend has queued: the database backend keeps
    a table; the immediate backend (tests, one-off runs) never keeps anything queued."""
    return isinstance(scan_pending_file.get_backend(), (DatabaseBackend, ImmediateBackend))


def unqueued_pending_files() -> list[UnqueuedFile]:
    """Pending files with no scan READY or RUNNING (a RUNNING scan whose worker is gone is
    :func:`dead_tasks`' to report): a failed scan leaves its file pending, and nothing would
    ever scan it again. Only meaningful when :func:`queue_is_readable`."""
    pending = dict(File.objects.filter(state=File.PENDING).values_list("pk", "filename"))
    if not pending:
        return []
    scans = DBTaskResult.objects.filter(task_path=scan_pending_file.module_path)
    queued = {
        _scanned_file(t.task_path, t.args_kwargs.get("args", []), t.args_kwargs.get("kwargs", {}))
        for t in scans.filter(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]).only(
            "task_path", "args_kwargs"
        )
    }
    candidates = set(pending) - queued
    if not candidates:
        return []
    # A scan that finished between the two reads above published or held its file.
    still = set(
        File.objects.filter(pk__in=candidates, state=File.PENDING).values_list("pk", flat=True)
    )
    last: dict[int, str] = {}
    for t in scans.filter(status=TaskResultStatus.FAILED).order_by("finished_at"):
        file_id = _scanned_file(t.task_path, t.args_kwargs["args"], t.args_kwargs["kwargs"])
        if file_id in still:
            name = t.exception_class_path.rsplit(".", 1)[-1] or "an error"
            last[file_id] = f"its last scan failed ({name}) and no other is queued"
    return [
        UnqueuedFile(pk, pending[pk], last.get(pk, "no scan is queued")) for pk in sorted(still)
    ]


def queue_scan(file_id: int) -> str:
    """Queue a scan for a pending file; returns what happened, for the operator."""
    result = scan_pending_file.enqueue(file_id)
    if result.is_finished:  # a backend that runs tasks at once
        if result.status == TaskResultStatus.FAILED:
            return "scanned again, and the scan failed"
        return f"scanned again: {result.return_value}"
    return "queued a new scan"


def partial_files(older_than: float = PARTIAL_FILE_AGE) -> list[PartialFile]:
    """Files storage began and did not finish, untouched for ``older_than`` seconds."""
    return get_storage().partial_files(older_than)


def remove_partial(partial: PartialFile) -> None:
    get_storage().remove_partial(partial)
