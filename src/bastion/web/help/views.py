"""The help page: ``docs/help.md``, its one source, rendered once per process.

The package carries the file as ``help.md`` beside this module (a link to ``docs/help.md`` in a
source tree; a copy in a built wheel), so an installed index serves the same text the
repository shows. It is rendered with comrak (readme_renderer's Markdown engine, already a
dependency) and sanitised with nh3 like a README, keeping the ``id`` of the anchors that
refusals link to (``<a id="file-name-reuse"></a>`` in the Markdown).
"""

from __future__ import annotations

import functools
from importlib import resources

import comrak
import nh3
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

SOURCE = "help.md"
#: nh3's defaults, plus the ids that links into the page (and its own contents list) point at.
ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {*nh3.ALLOWED_ATTRIBUTES.get("a", set()), "id"},
}


def source_text() -> str:
    return (resources.files("bastion.web.help") / SOURCE).read_text(encoding="utf-8")


@functools.cache
def rendered() -> SafeString:
    """The page's HTML: the Markdown rendered (raw HTML kept for the anchors), then cleaned."""
    extensions = comrak.ExtensionOptions()
    extensions.table = True
    extensions.autolink = True
    extensions.strikethrough = True
    options = comrak.RenderOptions()
    options.unsafe_ = True  # the anchors are raw HTML; nh3 below decides what stays
    html = comrak.render_markdown(
        source_text(), extension_options=extensions, render_options=options
    )
    cleaned = nh3.clean(html, attributes=ATTRIBUTES, link_rel=None)
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above


@require_safe
def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/help.html", {"body": rendered()})
