"""What ``bastion.prepared.PreparedQuery`` saves an upload: the CPU time of uploads through
Django's test client, in process, with the upload's reads prepared and with each read's
queryset evaluated as Django does (compiled every time), alternating upload by upload.

  PYTHONPATH=src python -m pytest -q -s -n 0 -p tests.conftest bench/perf/prepared_upload.py

(a pytest run, for the test database and the token fixtures of ``tests/conftest.py``). Prints
the median CPU time of an upload that creates a release and of a second wheel of that release.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from bastion.prepared import PreparedQuery
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)

#: The scan is queued, not run: the time measured is the upload's request only.
QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
ROUNDS = 100


@pytest.fixture
def compiled_every_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A switch: off, every prepared read is its queryset, evaluated as Django does."""
    prepared_fetch = PreparedQuery.fetch

    def queryset_fetch(self: PreparedQuery[Any], *args: Any) -> list[Any]:
        return list(self._build(*args))

    def switch(on: bool) -> None:
        monkeypatch.setattr(PreparedQuery, "fetch", queryset_fetch if on else prepared_fetch)

    yield switch


def test_upload_cpu_with_and_without_prepared_reads(
    upload: Any, token: str, compiled_every_time: Any
) -> None:
    times: dict[bool, dict[str, list[float]]] = {
        prepared: {"new version": [], "second wheel": []} for prepared in (True, False)
    }
    with override_settings(TASKS=QUEUE):
        assert upload(builders.wheel("samplepkg", "0.1"), token).status_code == 200
        for i in range(ROUNDS):
            prepared = i % 2 == 0
            compiled_every_time(not prepared)
            second = builders.wheel("samplepkg", f"1.{i}", code="VALUE = 2\n", tag="py2-none-any")
            for kind, dist in (
                ("new version", builders.wheel("samplepkg", f"1.{i}")),
                ("second wheel", second),
            ):
                start = time.process_time()
                assert upload(dist, token).status_code == 200
                times[prepared][kind].append(time.process_time() - start)
    for kind in ("new version", "second wheel"):
        plain = statistics.median(times[False][kind]) * 1000
        fast = statistics.median(times[True][kind]) * 1000
        print(f"\n{kind}: {plain:.1f} ms CPU compiled every time, {fast:.1f} ms prepared")
