"""On PostgreSQL, renderings of the root list (``/simple/``) wait for each other: each holds only
its own project's row, so without a common lock an older reading of the list could be written
after a newer one and stay until the next change."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from bastion.index import render
from bastion.packages import services as packages
from bastion.storage import get_storage

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="PostgreSQL only: SQLite's write lock serialises renderings already (and its "
        "in-memory test database fails a waiting thread at once)",
    ),
]


def test_a_root_list_rendering_waits_for_the_one_in_progress(user: Any) -> None:
    packages.create_project("alpha", user)
    get_storage().delete_public("simple/index.html")
    get_storage().delete_public("simple/index.json")
    holding, release = threading.Event(), threading.Event()

    def in_progress() -> None:
        try:
            with transaction.atomic():
                render._hold_the_root_list()
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def refresh() -> None:
        try:
            render.refresh("alpha")
        finally:
            connection.close()

    first = threading.Thread(target=in_progress)
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=refresh)
    second.start()
    second.join(0.5)
    assert second.is_alive()  # waiting for the rendering in progress
    assert render.shared().rendered_serial(None) is None
    release.set()
    first.join(10)
    second.join(10)
    assert not second.is_alive()
    assert render.shared().rendered_serial(None) == str(packages.last_serial())
