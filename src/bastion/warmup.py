"""Do a process's one-time work before it accepts requests.

Django resolves its URL configuration, imports views and their libraries lazily, and bastion
builds the name policy's look-alike index of the protected names on first use. Left lazy, that
cost (about a second) lands on whoever sends the first request after a start: the first
``twine upload`` after a deploy, or a health check timing out. ``bastion.wsgi`` calls
:func:`warm_up` while the worker boots, before it listens.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def warm_up() -> None:
    """Import and build what requests will need; never fail the boot over it."""
    try:
        from django.urls import get_resolver

        resolver = get_resolver()
        resolver.url_patterns  # noqa: B018 - imports every view module
        resolver.reverse_dict  # noqa: B018 - builds the reverse lookup tables

        from readme_renderer import markdown, rst

        rst.render("Title\n=====\n\n* item\n\n.. code:: python\n\n   x = 1\n")
        markdown.render("# Title\n\n```python\nx = 1\n```\n", variant="GFM")

        from bastion.names import services as names

        names.check_new_project_name("warm-up-name", user_id=None)
    except Exception:  # pragma: no cover - a cold start is slower, not broken
        log.exception("warm-up failed; the first requests will be slower")
