"""Events recorded in a batch are written with the change, in one statement, or not at all."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bastion.events import services as events
from bastion.events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _record(tag: str) -> None:
    events.record(tag, subject_kind="project", subject_name="demo-pkg", subject_id=1)


def test_a_batch_is_one_insert_at_its_end() -> None:
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), events.batched():
        _record("project:create")
        _record("project:role:add")
        with events.batched():  # nested: joins the outer batch
            _record("project:file:add")
        assert Event.objects.count() == 0  # nothing written before the batch ends
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert list(Event.objects.order_by("id").values_list("tag", flat=True)) == [
        "project:create",
        "project:role:add",
        "project:file:add",
    ]


def test_a_failed_block_writes_nothing() -> None:
    with pytest.raises(ValueError), transaction.atomic(), events.batched():
        _record("project:create")
        raise ValueError("refused")
    assert Event.objects.count() == 0


def test_a_batch_needs_the_changes_transaction() -> None:
    with pytest.raises(RuntimeError), events.batched():
        pass


def test_outside_a_batch_each_event_is_written_at_once() -> None:
    with transaction.atomic():
        _record("project:create")
        assert Event.objects.count() == 1
