"""Where bastion's help page is, for the messages that point at it.

Twine, uv and pip print a refusal's reason phrase to someone who may be far from this host, so
a link in a message is absolute under the index's public URL (``BASTION_BASE_URL``) when one is
set; without it the path is the best a message can say. The page itself is served by
:mod:`bastion.web.help` from ``docs/help.md``; every anchor a message names must be an id there
(``tests/web/test_help_page.py`` collects them from the sources).
"""

from __future__ import annotations

from typing import Final

from bastion.config import current

#: The help page's path; :mod:`bastion.web.help.urls` serves it there.
PATH: Final = "/help/"


def url(anchor: str = "") -> str:
    """The help page (at ``#anchor``), under the public URL when there is one."""
    return f"{current().base_url}{PATH}" + (f"#{anchor}" if anchor else "")


class HelpLink:
    """A link to the help page that is written out when a message is formatted, not when the
    module is imported: ``f"See {HELP}#file-name-reuse"`` reads the public URL in force then
    (settings are read once per process, but a test may change them)."""

    def __init__(self, anchor: str = "") -> None:
        self.anchor = anchor

    def __format__(self, spec: str) -> str:
        return format(url(self.anchor), spec)

    def __str__(self) -> str:
        return url(self.anchor)

    def __repr__(self) -> str:
        return f"HelpLink({self.anchor!r})"


#: The help page itself, for messages that add their own ``#anchor``.
HELP: Final = HelpLink()
