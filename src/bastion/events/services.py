"""Writing and reading audit events."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from django.db import transaction

from bastion import clientinfo
from bastion.clientinfo import ClientInfo
from bastion.events import origin
from bastion.events.models import Event

if TYPE_CHECKING:
    from django.http import HttpRequest

_batch = threading.local()


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Write the events recorded inside the block as one statement when it ends.

    The block must run inside the transaction of the change, so that its events commit or roll
    back with it: an upload records up to four events, and one multi-row insert costs about
    what one row does. Nothing is written if the block raises.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("events.batched() must run inside the change's transaction")
    outer: list[Event] | None = getattr(_batch, "events", None)
    buffer: list[Event] = [] if outer is None else outer
    _batch.events = buffer
    try:
        yield
    finally:
        _batch.events = outer
    if outer is None and buffer:
        Event.objects.bulk_create(buffer)


class _Actor(Protocol):
    pk: Any

    def get_username(self) -> str: ...


def _client(origin: HttpRequest | ClientInfo | None) -> tuple[str | None, str]:
    client = clientinfo.of(origin)
    return client.address, client.user_agent[:400]


def _text(value: Any) -> Any:
    """Strings as an audit trail can keep them: what a client typed may hold NUL characters,
    which PostgreSQL refuses in text and JSON; they are shown as U+FFFD instead."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_text(k): _text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    return value


def record(
    tag: str,
    *,
    subject_kind: str,
    subject_name: str,
    subject_id: int | None = None,
    actor: _Actor | None = None,
    request: HttpRequest | ClientInfo | None = None,
    **additional: Any,
) -> Event:
    """Write one event in the caller's transaction.

    ``tag`` reads ``subject:action`` (``project:release:yank``, ``account:token:create``).
    ``request`` is where the change came from: a request or its :class:`ClientInfo` (the
    address and user agent recorded are the ones the rate limits saw). Without one, inside an
    operator's command (:mod:`bastion.events.origin`), the event says so: ``via`` and
    ``operator``.
    """
    ip, agent = _client(request)
    operator = origin.operator() if request is None else None
    if operator is not None:
        additional.setdefault("via", origin.COMMAND_LINE)
        additional.setdefault("operator", operator)
    subject_name, agent = _text(subject_name), _text(agent)
    actor_id = None
    actor_name = ""
    if actor is not None and getattr(actor, "pk", None) is not None:
        actor_id = int(actor.pk)
        actor_name = actor.get_username()
    event = Event(
        tag=tag,
        subject_kind=subject_kind,
        subject_name=subject_name,
        subject_id=subject_id,
        actor_id=actor_id,
        actor_name=actor_name,
        ip_address=ip,
        user_agent=agent,
        additional=_text(dict(additional)),
    )
    buffer: list[Event] | None = getattr(_batch, "events", None)
    if buffer is not None:
        buffer.append(event)
    else:
        event.save(force_insert=True)
    return event


def record_user(
    tag: str,
    user: _Actor,
    *,
    actor: _Actor | None = None,
    request: HttpRequest | ClientInfo | None = None,
    **additional: Any,
) -> Event:
    """An event about an account (its security history), in the caller's transaction.

    ``actor`` is who acted, when not the user themselves: an administrator, or ``None`` with
    ``system=True`` for the index itself (a leak report, an expired invitation).
    """
    system = additional.pop("system", False)
    return record(
        tag,
        subject_kind="user",
        subject_name=user.get_username(),
        subject_id=int(user.pk),
        actor=None if system else (actor or user),
        request=request,
        **additional,
    )


def for_subject(
    subject_kind: str, subject_name: str, subject_id: int | None = None, limit: int = 200
) -> list[Event]:
    """Events about one subject, newest first. With ``subject_id``, only that incarnation of
    the name: a project registered again after a deletion does not inherit the old history."""
    query = Event.objects.filter(subject_kind=subject_kind, subject_name=subject_name)
    if subject_id is not None:
        query = query.filter(subject_id=subject_id)
    return list(query[:limit])


def for_user(user_id: int, limit: int = 200) -> list[Event]:
    """A user's security history: what they did, and what was done to their account by anyone
    (a failed login, a leaked token revoked by a scanner's report, an administrator's change)."""
    from django.db.models import Q

    query = Q(actor_id=user_id) | Q(subject_kind="user", subject_id=user_id)
    return list(Event.objects.filter(query)[:limit])
