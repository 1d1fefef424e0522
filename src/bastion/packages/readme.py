"""A release's long description (its README): whether it renders, and its HTML.

PyPI refuses an upload whose description does not render with ``readme_renderer``. Giving the
same verdict does not need the HTML: for reStructuredText, failure means docutils stopped at a
warning while parsing (``halt_level`` 2) or produced nothing, and both show in the parsed
document. Writing the HTML, sanitising it and highlighting Markdown code blocks is more than
half the cost of rendering, so the upload asks only :func:`renders`, and the background task
that publishes the file stores :func:`render`'s HTML for the project page.

Where the parsed document cannot settle the verdict (nothing but invisible nodes, or nodes the
HTML writer itself may reject: scaled images, math), :func:`renders` falls back to the full
render, so the verdict is always ``readme_renderer``'s.
"""

from __future__ import annotations

import functools
import io
import logging

from docutils import nodes
from docutils.core import Publisher, publish_doctree
from docutils.frontend import Values
from docutils.parsers import rst
from docutils.utils import SystemMessage
from readme_renderer import markdown as md_renderer
from readme_renderer import rst as rst_renderer
from readme_renderer import txt as txt_renderer

from bastion.packages import rst_fast

log = logging.getLogger(__name__)

RST = "text/x-rst"
MARKDOWN = "text/markdown"
PLAIN = "text/plain"

# Children of the document that put nothing into readme_renderer's output (its "fragment" and
# "docinfo" parts): comments, targets, substitution definitions and pending transforms are
# ``Invisible``; meta goes to the HTML head, decoration to the header and footer; a title or
# subtitle promoted to the document's title leaves the fragment.
_SILENT: tuple[type[nodes.Node], ...] = (
    nodes.Invisible,
    nodes.meta,
    nodes.decoration,
    nodes.raw,
    nodes.system_message,
    nodes.title,
    nodes.subtitle,
)


def split_content_type(content_type: str) -> tuple[str, dict[str, str]]:
    """``text/markdown; variant=GFM`` -> (``text/markdown``, {``variant``: ``GFM``}).

    An empty content type is reStructuredText, PyPI's default.
    """
    main, _, rest = (content_type or RST).partition(";")
    params: dict[str, str] = {}
    for param in rest.split(";"):
        key, sep, value = param.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip()
    return main.strip().lower() or RST, params


def _variant(params: dict[str, str]) -> str:
    return params.get("variant", "GFM")


def renders(text: str, content_type: str) -> bool:
    """Whether ``readme_renderer`` renders ``text`` (PyPI's rule for accepting an upload)."""
    if not text.strip():
        return True
    main, params = split_content_type(content_type)
    if main == PLAIN:
        return True
    if main == MARKDOWN:
        return _variant(params) in md_renderer.variants
    return _rst_renders(text)


def _rst_renders(text: str) -> bool:
    # Two costly passes are left out where they cannot change the verdict. Smart quotes can
    # only fail by warning about a ``language-xx`` class it has no quotes for: the parsed
    # document shows whether any node carries such a class, and only then is the full render
    # asked. Pygments can only fail for a custom ``code`` role with a ``:language:`` option
    # (code blocks fall back silently at readme_renderer's report level): without that option
    # in the source, highlighting is off.
    highlight = "short" if ":language:" in text.lower() else "none"
    settings = _parse_settings(highlight).copy()
    settings.warning_stream = io.StringIO()
    try:
        document = publish_doctree(text, parser=_verdict_parser(), settings=settings)
    except SystemMessage:
        return False  # a failure without those passes is a failure with them
    if _settled(document):
        return True
    return rst_renderer.render(text) is not None


def _verdict_parser() -> rst.Parser:
    """A parser for one verdict: docutils' own, with the lazily built states of
    :mod:`~bastion.packages.rst_fast` when the installed docutils is the one that module was
    checked against (a third of the parse otherwise goes into states never used)."""
    return rst_fast.Parser() if rst_fast.AVAILABLE else rst.Parser()


@functools.cache
def _parse_settings(syntax_highlight: str) -> Values:
    """readme_renderer's settings for parsing, built once: docutils otherwise rebuilds its
    option parser for every document."""
    publisher = Publisher(reader="standalone", parser="restructuredtext", writer="null")
    overrides = dict(rst_renderer.SETTINGS, smart_quotes=False, syntax_highlight=syntax_highlight)
    # As publish_doctree sets them: exceptions propagate, no configuration files are read.
    return publisher.get_settings(_disable_config=True, traceback=True, **overrides)


def _settled(document: nodes.document) -> bool:
    """True when the parsed document certainly renders to something, and neither the pass left
    out (smart quotes) nor the HTML writer can fail on it."""
    if not any(not isinstance(child, _SILENT) for child in document.children):
        return False
    # One walk with an explicit stack over elements (text has neither attributes nor
    # children): ``findall`` nests a generator per level of the tree, and the order of the
    # visit does not matter here.
    stack: list[nodes.Element] = [document]
    while stack:
        node = stack.pop()
        classes = node.get("classes")
        if classes and any(str(cls).startswith("language-") for cls in classes):
            return False  # smart quotes look up this language's quotes and may warn
        if isinstance(node, nodes.math | nodes.math_block):
            return False  # the writer converts math and may warn
        if isinstance(node, nodes.image) and "scale" in node.attributes:
            return False  # the writer reads the image's size to scale it and may warn
        for child in node.children:
            if isinstance(child, nodes.Element):
                stack.append(child)
    return True


def render(text: str, content_type: str) -> str:
    """The description as sanitised HTML, as PyPI shows it; empty when there is nothing to show.

    A description that does not render (only possible for a release stored before the check,
    or written by something else) is shown as plain text rather than not at all.
    """
    if not text.strip():
        return ""
    main, params = split_content_type(content_type)
    rendered: str | None
    try:
        if main == PLAIN:
            rendered = txt_renderer.render(text)
        elif main == MARKDOWN:
            rendered = md_renderer.render(text, variant=_variant(params))
        else:
            rendered = rst_renderer.render(text)
    except Exception:  # a renderer's bug must not keep the file from being published
        log.exception("rendering the description as %s failed", main)
        rendered = None
    if rendered is None:
        log.warning("description does not render as %s; shown as plain text", main)
        rendered = txt_renderer.render(text)
    return rendered or ""
