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

**Bounds.** Rendering is the one thing an upload asks of the index whose cost the uploader
chooses: docutils re-reads every nested block once per level of nesting (a 500 kB list three
levels deep parses for over 20 s), comrak and nh3 (Markdown, sanitising) grow faster than their
input on deep nesting (200,000 ``>`` render for over a minute), and Pygments highlights every
code block. So:

* in the upload request, before anything is parsed, the description's size
  (``BASTION_MAX_DESCRIPTION_SIZE``) and its nesting on one line (block quotes and list
  markers) are checked; the reStructuredText parse then runs on a work budget (the lines
  docutils' state machines read, at every level: :data:`PARSE_WORK`) with a time backstop
  (:data:`VERDICT_SECONDS`), checked inside docutils' own line loop so that it stops the
  pure-Python parse where it is. :func:`problem` says which bound refused it;
* in the background task, :func:`render` runs readme_renderer in a child process with a hard
  timeout (``BASTION_DESCRIPTION_RENDER_SECONDS``). A thread cannot be stopped and native
  code (comrak, nh3) does not check a budget, so only a process the parent can kill bounds
  them. A description refused by the bounds or not rendered in time is shown as escaped plain
  text; the file is published as usual.
"""

from __future__ import annotations

import atexit
import functools
import html
import io
import json
import logging
import os
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

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

#: The default of ``BASTION_MAX_DESCRIPTION_SIZE``. PyPI sets no explicit limit; among the 887
#: popular wheels of the development mirror the longest description is 231 kB (mujoco; then
#: yt-dlp 179 kB, fonttools 127 kB) and the median 4 kB. 512 KiB is twice the longest, and
#: bounds what every later step (parse, render, sanitise, store) is given.
MAX_DESCRIPTION_BYTES = 512 * 1024
#: Block quotes and list markers opened on one line. Nobody writes ten; the review's 200,000
#: ``>`` would take minutes to render.
MAX_NESTING = 32
#: Lines docutils' state machines may read, counting each level of nesting again (its cost
#: grows with nesting, not with size). The most complex of those 887 READMEs reads 5,619
#: (fonttools); 50,000 is about a second of parsing for the costliest constructs.
PARSE_WORK = 50_000
#: A time backstop for the upload's parse, for constructs whose cost the work count misses.
VERDICT_SECONDS = 2.0
#: The default of ``BASTION_DESCRIPTION_RENDER_SECONDS``: the background render's hard limit.
RENDER_SECONDS = 10.0

TOO_LARGE = "The description is too large ({size} bytes; the limit is {limit} bytes)."
TOO_DEEP = "The description is too deeply nested to render."
TOO_COMPLEX = "The description is too complex to render."
FAILED = "The description failed to render."

# One line's leading block-quote and list markers (Markdown and reStructuredText alike).
_LINE_NESTING = re.compile(
    r"(?m)^(?:[ \t]*(?:>|[-+*\u2022\u2023\u2043](?=[ \t])|\(?\w{1,9}[.)](?=[ \t])))+"
)
_MARKER = re.compile(r">|[-+*\u2022\u2023\u2043]|\(?\w{1,9}[.)]")

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


def _bounds() -> tuple[int, float]:
    """The size and time bounds from the settings, or their defaults where Django is not
    configured (the module used as a library)."""
    from django.core.exceptions import ImproperlyConfigured

    from bastion.config import current

    try:
        bastion = current()
    except ImproperlyConfigured:  # settings not configured: the module's defaults
        return MAX_DESCRIPTION_BYTES, RENDER_SECONDS
    return bastion.max_description_size, bastion.description_render_seconds


def _size_limit() -> int:
    return _bounds()[0]


def _size(text: str) -> int:
    """The description's size in bytes, as uploaded (UTF-8)."""
    return len(text.encode("utf-8", "surrogatepass"))


def renders(text: str, content_type: str) -> bool:
    """Whether ``readme_renderer`` renders ``text`` (PyPI's rule for accepting an upload),
    within this index's bounds on size, nesting and parsing work."""
    return problem(text, content_type) is None


def problem(text: str, content_type: str) -> str | None:
    """Why the description cannot be accepted (a sentence for the uploader), or None.

    Bounded in time whatever the input: the size and nesting checks are linear and come
    before any parsing; the reStructuredText parse stops at its work budget.
    """
    limit = _size_limit()
    if _size(text) > limit:
        return TOO_LARGE.format(size=_size(text), limit=limit)
    if not text.strip():
        return None
    main, params = split_content_type(content_type)
    if main == PLAIN:
        return None
    if nesting(text) > MAX_NESTING:
        return TOO_DEEP
    if main == MARKDOWN:
        return None if _variant(params) in md_renderer.variants else FAILED
    return _rst_problem(text)


def nesting(text: str) -> int:
    """The most block quotes and list markers one line opens (linear in the text).

    A line of spaced dashes or stars alone (``- - - -``) is a thematic break, not lists.
    """
    deepest = 0
    for m in _LINE_NESTING.finditer(text):
        if m.end() - m.start() <= deepest:  # each marker takes at least one character
            continue
        end = text.find("\n", m.end())
        line = text[m.start() : end if end >= 0 else len(text)]
        if len(set(line.replace(" ", "").replace("\t", ""))) == 1 and line.strip()[0] in "-*_":
            continue
        deepest = max(deepest, len(_MARKER.findall(m.group())))
    return deepest


class _OverBudget(Exception):
    """The parse read more lines, or took longer, than the verdict allows."""


class _Budget:
    """Counts the lines docutils' state machines read (each level of nesting reads its
    block again) and watches the clock every 256 of them."""

    def __init__(self, work: int, seconds: float) -> None:
        self.left = work
        self.deadline = time.perf_counter() + seconds

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _OverBudget("work")
        if not self.left & 0xFF and time.perf_counter() > self.deadline:
            raise _OverBudget("time")


class _BudgetedParser(rst.Parser):
    """A docutils parser whose state machines report every line they read to a budget.

    Each machine (the top-level one and every nested one) calls ``document.note_source`` as
    an observer on each line it moves to; the document's attribute is replaced for this
    parse by one that spends the budget first.
    """

    budget: _Budget

    def parse(self, inputstring: str, document: nodes.document) -> None:
        note_source = document.note_source
        budget = self.budget

        def counted(source: str | None, offset: int | None) -> None:
            budget.spend()
            note_source(source, offset)

        document.note_source = counted  # type: ignore[method-assign]
        try:
            super().parse(inputstring, document)
        finally:
            del document.note_source


class _FastBudgetedParser(_BudgetedParser, rst_fast.Parser):
    """The budget around :mod:`~bastion.packages.rst_fast`'s parser."""


def _rst_problem(text: str) -> str | None:
    # Two costly passes are left out where they cannot change the verdict. Smart quotes can
    # only fail by warning about a ``language-xx`` class it has no quotes for: the parsed
    # document shows whether any node carries such a class, and only then is the full render
    # asked. Pygments can only fail for a custom ``code`` role with a ``:language:`` option
    # (code blocks fall back silently at readme_renderer's report level): without that option
    # in the source, highlighting is off.
    #
    # The full render, where the parse cannot settle the verdict, parses again and writes: it
    # is asked only when this parse used at most a third of the budget.
    highlight = "short" if ":language:" in text.lower() else "none"
    settings = _parse_settings(highlight).copy()
    settings.warning_stream = io.StringIO()
    parser = _verdict_parser()
    parser.budget = _Budget(PARSE_WORK, VERDICT_SECONDS)
    try:
        document = publish_doctree(text, parser=parser, settings=settings)
    except SystemMessage:
        return FAILED  # a failure without those passes is a failure with them
    except _OverBudget:
        return TOO_COMPLEX
    except RecursionError:  # docutils recurses once per level of nesting
        return TOO_DEEP
    if _settled(document):
        return None
    if parser.budget.left < PARSE_WORK * 2 // 3:
        return TOO_COMPLEX
    return None if rst_renderer.render(text) is not None else FAILED


def _verdict_parser() -> _BudgetedParser:
    """A parser for one verdict: docutils' own, with the lazily built states of
    :mod:`~bastion.packages.rst_fast` when the installed docutils is the one that module was
    checked against (a third of the parse otherwise goes into states never used)."""
    return _FastBudgetedParser() if rst_fast.AVAILABLE else _BudgetedParser()


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

    Rendered in a child process that is killed after ``BASTION_DESCRIPTION_RENDER_SECONDS``.
    A description over the bounds, one that does not render (only possible for a release
    stored before the check, or written by something else) or one that is not rendered in
    time is shown as escaped plain text rather than not at all.
    """
    if not text.strip():
        return ""
    main, _ = split_content_type(content_type)
    if _size(text) > _size_limit() or (main != PLAIN and nesting(text) > MAX_NESTING):
        log.warning("description over the bounds (size or nesting); shown as plain text")
        return plain_text(text)
    if main == PLAIN:  # escaping and one linear sanitising pass: no need for a child
        return render_unbounded(text, content_type) or plain_text(text)
    seconds = _bounds()[1]
    rendered = _render_in_child(text, content_type, seconds)
    if rendered is None:
        return plain_text(text)
    return rendered


def plain_text(text: str) -> str:
    """The description escaped, line breaks kept: what readme_renderer does for text/plain,
    without its sanitiser (escaped text holds no markup to sanitise)."""
    return html.escape(text).replace("\n", "<br>\n")


def render_unbounded(text: str, content_type: str) -> str | None:
    """readme_renderer's HTML, or None when it does not render. Unbounded in time: call it
    through :func:`render`, which runs it in a child process."""
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
    return rendered


# One child process renders for this process, started on first use and kept: starting one (a
# fresh interpreter importing docutils, readme_renderer and Pygments) costs about half a
# second, a render through it a millisecond more than in process. A plain ``python -m`` child
# speaking one JSON line each way, rather than multiprocessing: "fork" would copy the locks of
# the parent's threads (gunicorn's, the task worker's) held, and "spawn" re-runs the parent's
# main script in the child.
_child: subprocess.Popen[bytes] | None = None
_child_lock = threading.Lock()


def _start_child() -> subprocess.Popen[bytes]:
    import bastion

    src = str(Path(bastion.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, *sys.path]))
    return subprocess.Popen(
        [sys.executable, "-m", "bastion.packages.readme"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        close_fds=True,
    )


def _render_in_child(text: str, content_type: str, seconds: float) -> str | None:
    """:func:`render_unbounded` in the child, or None when it fails or runs out of time (the
    child is then killed, and the next render starts a new one). One render at a time."""
    global _child
    request = json.dumps({"text": text, "content_type": content_type}).encode() + b"\n"
    with _child_lock:
        deadline = time.monotonic() + seconds
        try:
            if _child is None or _child.poll() is not None:
                _child = _start_child()
            child = _child
            assert child.stdin is not None and child.stdout is not None
            written = _write_all(child.stdin.fileno(), request, deadline)
            line = _read_line(child.stdout.fileno(), deadline) if written else None
        except (OSError, ValueError) as exc:
            log.warning("the description's render process failed (%s); shown as plain text", exc)
            line = None
        if line is None:
            _stop_child()
            return None
    try:
        answer = json.loads(line)
    except ValueError:
        return None
    html_text = answer.get("html") if isinstance(answer, dict) else None
    return html_text if isinstance(html_text, str) else None


def _write_all(fd: int, data: bytes, deadline: float) -> bool:
    """Write ``data`` to the child by ``deadline``; a child that stops reading (still
    starting, or stuck) must not hold the caller past it."""
    os.set_blocking(fd, False)
    view = memoryview(data)
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("the description's render process does not read; shown as plain text")
            return False
        _, ready, _ = select.select([], [fd], [], left)
        if ready:
            try:
                view = view[os.write(fd, view) :]
            except BlockingIOError:
                continue
    return True


def _read_line(fd: int, deadline: float) -> bytes | None:
    """One line from ``fd`` by ``deadline`` (``time.monotonic()``), or None."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            log.warning("rendering the description took too long; shown as plain text")
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:  # the child exited
            return None
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks)


def _stop_child() -> None:
    """Kill the child (it may be stuck in native code); the next render starts another."""
    global _child
    child, _child = _child, None
    if child is not None:
        child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


atexit.register(_stop_child)


def _serve() -> None:
    """The child: render each request line, answer with one line, until stdin closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    for line in stdin:
        request = json.loads(line)
        rendered = render_unbounded(str(request["text"]), str(request["content_type"]))
        stdout.write(json.dumps({"html": rendered}).encode() + b"\n")
        stdout.flush()


if __name__ == "__main__":
    _serve()
