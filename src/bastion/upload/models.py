"""The upload domain's own table: the leases of running workers (see ``upload.recovery``)."""

from __future__ import annotations

from django.db import models


class WorkerLease(models.Model):
    """A running ``bastion worker``, renewed every few seconds while it lives.

    The task queue (``django_tasks_db``) marks a task RUNNING with the id of the worker that
    took it and never looks at it again: a worker killed mid-scan would leave its task RUNNING,
    and its file pending, forever. A worker's lease says until when it promises to be alive;
    a RUNNING task whose worker's lease has expired (or whose process is gone, when looked at
    from the same machine) is given back to the queue by ``upload.recovery``.
    """

    #: The id the worker passes to ``django_tasks_db`` (and so finds in ``worker_ids``).
    worker_id = models.CharField(max_length=64, primary_key=True)
    #: Host name, boot id and PID namespace: a process on the same node can test ``pid``.
    node = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    #: Set by the worker itself on each renewal (its own ``--lease``).
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        host = self.node.split(" ", 1)[0]
        return f"{self.worker_id} (pid {self.pid} on {host})"
