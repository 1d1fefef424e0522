"""A token's last use is kept to the minute: a burst of uploads writes it once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bastion.tokens import services as tokens
from bastion.tokens.models import Token

pytestmark = pytest.mark.django_db


def test_last_used_is_written_once_a_minute(user: Any, token: str) -> None:
    row = Token.objects.get()
    assert row.last_used is None
    tokens.mark_used(row)
    first = Token.objects.get().last_used
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        tokens.mark_used(row)
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert Token.objects.get().last_used == first

    row.last_used = timezone.now() - timedelta(minutes=2)
    tokens.mark_used(row)
    assert Token.objects.get().last_used > first
