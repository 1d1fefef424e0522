"""Where a change without a request came from: an operator's command, or the index itself.

A change made through a request records the request's address. A change made by ``bastion
yank``, ``bastion token create``, ... has no request, and neither has a scan that the worker
decides; only the first is an operator's act, and a security history must say which. The
``bastion`` command marks the process while an operator's command runs (not while it serves
or works through the queue, where changes are the index's own or carry their request), and
:func:`bastion.events.services.record` writes the mark into events that have no request.

Free of Django, so that the command line can set it before Django is set up.
"""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator

#: The value of an event's ``via`` entry when an operator's command made the change.
COMMAND_LINE = "command line"

_operator: str | None = None


def operator() -> str | None:
    """The login name of the operator whose command is running, or ``None``."""
    return _operator


def login_name() -> str:
    """Who runs this process on the server (``unknown`` where the system cannot say)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry and no LOGNAME/USER: a bare container
        return "unknown"


@contextlib.contextmanager
def command_line(operator: str) -> Iterator[None]:
    """Mark the events recorded inside the block without a request as ``operator``'s command."""
    global _operator
    previous, _operator = _operator, operator
    try:
        yield
    finally:
        _operator = previous
