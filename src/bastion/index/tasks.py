"""Rendering pages after the change that needs it commits, without ever losing one.

:func:`pages_changed` is called inside the transaction that changes what installers see of a
project. With the database task queue (``django_tasks_db``, a table of the same database) it
queues :func:`render_pages` in that transaction: the task's row commits with the change or
not at all, so a committed change always has its rendering waiting for ``bastion worker``,
whatever happens to the process after the commit. The same process also renders at once after
the commit, so a page is current when the request that changed it returns, and then takes its
task off the queue if no worker has claimed it yet (a claimed one finds the page current and
costs a ``stat`` and a query): the queue keeps a rendering only while one is owed.

A queue outside the database (the immediate backend of the tests and of development) cannot
commit with the change, so the task is queued after the commit: queued inside the transaction,
the immediate backend would render a state that may yet be rolled back.
"""

from __future__ import annotations

import logging
from functools import partial

from django.db import transaction
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from bastion.index import render

log = logging.getLogger(__name__)


@task()
def render_pages(normalized_name: str) -> str:
    """Render a project's pages and the root list unless they are current (see
    :func:`bastion.index.render.refresh`)."""
    return render.refresh(normalized_name)


def pages_changed(normalized_name: str) -> None:
    """Have the pages of ``normalized_name`` rendered once the caller's transaction commits
    (call it inside that transaction)."""
    if isinstance(render_pages.get_backend(), DatabaseBackend):
        queued = render_pages.enqueue(normalized_name)
        transaction.on_commit(partial(_render_now, normalized_name, queued.id))
    else:
        transaction.on_commit(partial(_enqueue, normalized_name))


def _render_now(normalized_name: str, queued: str) -> None:
    try:
        render.refresh(normalized_name)
    except Exception:  # the queued task renders it; the change itself is committed
        log.exception("could not render the pages of %s; the worker will", normalized_name)
        return
    DBTaskResult.objects.filter(id=queued, status=TaskResultStatus.READY).delete()


def _enqueue(normalized_name: str) -> None:
    result = render_pages.enqueue(normalized_name)
    # Only a backend that runs tasks at once reports errors here.
    for error in getattr(result, "errors", []):
        log.error("rendering the pages of %s failed: %s", normalized_name, error.traceback)
