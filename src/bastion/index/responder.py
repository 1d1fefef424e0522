"""The one place that decides what installers are answered, whichever server asks.

Every request an installer makes goes through :class:`Responder`: ``/simple/`` and
``/simple/<name>/`` (PEP 503/691 pages, content negotiation, ETag and 304, HEAD), the published
files under ``/packages/`` (with their PEP 658 ``.metadata``), and the JSON API
(``/pypi/<name>/json``, ``/pypi/<name>/<version>/json``: redirect to the normalised name, 404,
headers). Its askers are thin: the WSGI layer in front of Django (:class:`IndexApp`), the
gunicorn worker's poller (:mod:`bastion.serving`, through ``IndexApp.responder``) and the
Django views (:mod:`bastion.index.views`), all holding the same object per process
(:func:`shared`), so one page cache serves them all.

What may be served is decided once, by :func:`servable_files`: the pages
(:mod:`bastion.index.render`) and the JSON API list those files and no others, and only those
are linked into the public tree from which ``/packages/`` is answered. A state that takes a
file out of the index (held today; quarantined or withdrawn later) is added there. The public
tree is therefore the responder's output, and a server that reads it directly (nginx, a CDN;
docs/operating.md) serves nothing the responder would refuse.

Pages and small files are answered from the public tree with one ``stat`` per request and an
in-process cache keyed by the file's identity, so every process sees a re-rendered page at
once. Anything the responder cannot answer from there (a missing page, a non-normalised name,
another URL, a ``Host`` that is not in ``ALLOWED_HOSTS``, a path the file system cannot name)
is left to Django (None), which answers it as for any other URL (a 400 for a foreign host or a
NUL, a 404, a redirect).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any
from urllib.parse import parse_qs

from django.http.request import split_domain_port, validate_host

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
#: What ``/simple/`` serves, in PyPI's order of preference: a tie goes to the first.
_OFFERS = (TEXT_HTML, HTML_V1, JSON_V1)
_OFFER_PARTS = tuple((offer, *offer.split("/", 1)) for offer in _OFFERS)
_NORMALIZED = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SERIAL_HTML = re.compile(rb"<!--SERIAL (\d+)-->")

COMMON_HEADERS = [
    ("Vary", "Accept"),
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Expose-Headers", "X-PyPI-Last-Serial"),
    ("X-Content-Type-Options", "nosniff"),
]


@dataclass(frozen=True, slots=True)
class Page:
    body: bytes
    etag: str
    serial: str


class PageCache:
    """Page bytes keyed by path and validated by (inode, mtime, size) on every hit."""

    def __init__(self, root: Path, max_entries: int = 100_000) -> None:
        self.root = root
        self.max_entries = max_entries
        self._pages: dict[str, tuple[tuple[int, int, int], Page]] = {}

    def get(self, relpath: str) -> Page | None:
        full = os.path.join(self.root, relpath)
        try:
            st = os.stat(full)
        except (OSError, ValueError):  # ValueError: a NUL or a surrogate the file system refuses
            return None
        ident = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._pages.get(relpath)
        if hit is not None and hit[0] == ident:
            return hit[1]
        try:
            with open(full, "rb") as fh:
                body = fh.read()
        except OSError:
            return None
        page = Page(
            body,
            '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"',
            _serial(relpath, body),
        )
        if len(self._pages) >= self.max_entries:
            self._pages.clear()
        self._pages[relpath] = (ident, page)
        return page


def _serial(relpath: str, body: bytes) -> str:
    if relpath.endswith(".json"):
        try:
            return str(json.loads(body)["meta"]["_last-serial"])
        except (ValueError, KeyError, TypeError):
            return "0"
    match = _SERIAL_HTML.search(body[-64:])
    return match.group(1).decode() if match else "0"


def _qvalue(text: str) -> float | None:
    """A weight (``q=``) between 0 and 1, or None for anything else (the range is ignored)."""
    try:
        q = float(text)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None  # NaN fails both comparisons


def _parse_accept(accept: str) -> list[tuple[str, str, float]]:
    """The media ranges of an ``Accept`` value as (type, subtype, weight), lower-cased;
    malformed ranges are left out."""
    out: list[tuple[str, str, float]] = []
    for part in accept.split(","):
        fields = part.split(";")
        kind, slash, sub = fields[0].strip().lower().partition("/")
        if not slash or not kind or not sub or (kind == "*" and sub != "*"):
            continue
        q: float | None = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                q = _qvalue(value.strip())
                break
        if q is not None:
            out.append((kind, sub, q))
    return out


def _quality(kind: str, sub: str, ranges: list[tuple[str, str, float]]) -> float:
    """The weight the client gives to ``kind/sub``: that of the most specific range matching
    it (``type/sub`` over ``type/*`` over ``*/*``, RFC 9110 section 12.5.1); 0 if none does."""
    best, q = 0, 0.0
    for range_kind, range_sub, weight in ranges:
        if range_kind == kind:
            specificity = 3 if range_sub == sub else 2 if range_sub == "*" else 0
        else:
            specificity = 1 if range_kind == "*" else 0
        if specificity > best:
            best, q = specificity, weight
    return q


_negotiated: dict[str, str] = {}


def negotiate(accept: str | None) -> str:
    """The type to serve for an ``Accept`` value (PEP 691), as PyPI chooses it.

    PyPI (warehouse's ``_select_content_type``, WebOb's ``acceptable_offers``) weighs each type
    it serves by the most specific media range that matches it, serves the heaviest, and breaks
    ties in the order text/html, the v1 HTML type, the v1 JSON type. So ``*/*``, ``text/*``, no
    ``Accept`` or nothing acceptable get text/html, and JSON is served only to a client that
    names it and weighs it above the HTML types, as pip (``v1+json, v1+html; q=0.1, text/html;
    q=0.01``) and uv (the same with ``q=0.2``) do. A client that got JSON for ``*/*`` would be
    handed a format it may not read, where PyPI hands it HTML.
    """
    if not accept:
        return TEXT_HTML
    cached = _negotiated.get(accept)
    if cached is not None:
        return cached
    ranges = _parse_accept(accept)
    chosen, best = TEXT_HTML, 0.0
    for offer, kind, sub in _OFFER_PARTS:
        q = _quality(kind, sub, ranges)
        if q > best:
            chosen, best = offer, q
    if len(_negotiated) < 1024:
        _negotiated[accept] = chosen
    return chosen


def choose_type(accept: str | None, fmt: str | None) -> str | None:
    """The type to serve, honouring ``?format=``; None when ``format`` names nothing we serve."""
    if fmt:
        fmt = fmt.strip().lower().replace(" ", "+")  # an unescaped "+" arrives as a space
        return fmt if fmt in _OFFERS else None
    return negotiate(accept)


Response = tuple[int, list[tuple[str, str]], bytes]
_NOT_ACCEPTABLE = b"Not Acceptable\n"


def simple_response(
    cache: PageCache,
    name: str | None,
    accept: str | None,
    fmt: str | None,
    if_none_match: str | None,
) -> Response | None:
    """Answer ``/simple/`` (``name`` None) or ``/simple/<name>/`` from the rendered pages."""
    ctype = choose_type(accept, fmt)
    if ctype is None:
        return (
            406,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                *COMMON_HEADERS,
                ("Content-Length", str(len(_NOT_ACCEPTABLE))),
            ],
            _NOT_ACCEPTABLE,
        )
    base = "simple/" if name is None else f"simple/{name}/"
    page = cache.get(base + ("index.json" if ctype == JSON_V1 else "index.html"))
    if page is None:
        return None
    etag = page.etag
    if ctype == HTML_V1:  # same bytes, other type: the ETag must differ
        etag = etag[:-1] + '-v1"'
    headers = [
        ("Content-Type", ctype if ctype != TEXT_HTML else "text/html; charset=utf-8"),
        ("ETag", etag),
        ("Cache-Control", "max-age=600, public"),
        ("X-PyPI-Last-Serial", page.serial),
        *COMMON_HEADERS,
    ]
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return 304, headers, b""
    return 200, [*headers, ("Content-Length", str(len(page.body)))], page.body


# By file-name ending, longest first. An sdist is not sent with Content-Encoding: gzip, which
# would make clients unpack it on the fly.
_CONTENT_TYPES = (
    (".metadata", "text/plain; charset=utf-8"),
    (".tar.gz", "application/x-tar"),
    (".whl", "application/zip"),
    (".zip", "application/zip"),
)
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{60}/[^/]+")


def package_content_type(filename: str) -> str:
    for ending, ctype in _CONTENT_TYPES:
        if filename.endswith(ending):
            return ctype
    return "application/octet-stream"


def published_file(public_root: Path, key: str) -> tuple[str, os.stat_result] | None:
    """The published file for ``/packages/<key>`` and its ``stat``, or None: one ``stat``
    tells whether it is (still) published, and gives its size and identity."""
    if not _KEY.fullmatch(key):
        return None
    full = os.path.join(public_root, "packages", key)
    try:
        st = os.stat(full)
    except OSError:  # not published, or unpublished meanwhile (or a name too long)
        return None
    except ValueError:  # a NUL or a lone surrogate: no file has such a name
        return None
    return (full, st) if S_ISREG(st.st_mode) else None


def package_etag(key: str) -> str:
    """Files are immutable and hash-addressed: the key's digest is their ETag."""
    return '"' + key.split("/")[2][:32] + ("m" if key.endswith(".metadata") else "") + '"'


def package_headers(key: str, size: int) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", package_content_type(key)),
        ("Content-Length", str(size)),
        ("ETag", package_etag(key)),
        ("Cache-Control", "max-age=31536000, public, immutable"),
        ("Access-Control-Allow-Origin", "*"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return headers


StartResponse = Callable[..., Any]
_Headers = list[tuple[str, str]]
#: Published files up to this size (every ``.metadata`` file, small wheels) are read whole and
#: can be answered without a thread; larger ones are streamed.
SMALL_FILE = 64 * 1024
#: The most bytes of small published files a process keeps in memory (forgotten all at once
#: beyond that, as the page cache does past its entry limit).
SMALL_FILES_CACHED = 64 * 1024 * 1024
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def allowed_hosts_of(settings: Any) -> list[str]:
    """The host names Django accepts (``HttpRequest.get_host``): ``ALLOWED_HOSTS``, or the
    loopback names when it is empty and ``DEBUG`` is on."""
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = [".localhost", "127.0.0.1", "[::1]"]
    return hosts


class Responder:
    """What is answered to an installer, for every server path (see the module's docstring).

    :meth:`answer_or_stream` is the part that needs neither Django nor I/O on the client's
    socket, so a server can call it on its event loop (see :mod:`bastion.serving`); the WSGI
    layer (:class:`IndexApp`) and the Django views answer with the same methods, so that all
    always agree.

    A request whose ``Host`` Django would refuse is left to Django, which answers 400 as for
    any other URL: pages must not be served under a name the operator did not list (a cache
    in front would keep them under that name). The verdict is kept per ``Host`` value, so the
    check costs a dictionary look-up.
    """

    def __init__(
        self,
        public_root: Path,
        allowed_hosts: Sequence[str] | None = None,
        use_x_forwarded_host: bool | None = None,
    ) -> None:
        self.public_root = public_root
        self.cache = PageCache(public_root)
        self._small: dict[str, tuple[tuple[int, int, int], _Headers, bytes]] = {}
        self._small_bytes = 0
        if allowed_hosts is None or use_x_forwarded_host is None:
            from django.conf import settings

            if allowed_hosts is None:
                allowed_hosts = allowed_hosts_of(settings)
            if use_x_forwarded_host is None:
                use_x_forwarded_host = bool(settings.USE_X_FORWARDED_HOST)
        self.allowed_hosts = list(allowed_hosts)
        self._forwarded_host = use_x_forwarded_host
        self._hosts: dict[str, bool] = {}

    def host_allowed(self, environ: dict[str, Any]) -> bool:
        """Whether Django would accept the request's host (``HttpRequest.get_host``): the
        ``Host`` header (``X-Forwarded-Host`` first with ``USE_X_FORWARDED_HOST``), else the
        server's name, checked against ``ALLOWED_HOSTS`` with Django's own functions."""
        host = environ.get("HTTP_X_FORWARDED_HOST") if self._forwarded_host else None
        if host is None:
            host = environ.get("HTTP_HOST")
        if host is None:
            name = environ.get("SERVER_NAME")
            if name is None:
                return False
            host = f"{name}:{environ.get('SERVER_PORT', '')}"
        allowed = self._hosts.get(host)
        if allowed is None:
            domain, _port = split_domain_port(host)
            allowed = bool(domain) and validate_host(domain, self.allowed_hosts)
            if len(self._hosts) >= 1024:  # forged hosts must not grow it without bound
                self._hosts.clear()
            self._hosts[host] = allowed
        return allowed

    def answer_without_django(self, environ: dict[str, Any]) -> Response | None:
        """The whole response to a GET or HEAD of ``/simple/``, ``/simple/<name>/`` or a small
        published file (a PEP 658 ``.metadata`` file, a small wheel), body included (a HEAD's
        body is for its Content-Length: the server leaves it out), when the rendered pages and
        the public tree answer it; None when the request is for Django (another method or
        path, a non-normalised name to redirect, a project without a page, a host Django would
        refuse) or for a stream (a file larger than :data:`SMALL_FILE`)."""
        answer = self.answer_or_stream(environ)
        return None if isinstance(answer, Stream) else answer

    def answer_or_stream(self, environ: dict[str, Any]) -> Response | Stream | None:
        """As :meth:`answer_without_django`, and a :class:`Stream` for a published file too
        large to keep in memory (the server sends it from the file)."""
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return None
        path: str = environ.get("PATH_INFO", "")
        if path.startswith("/packages/"):
            if not self.host_allowed(environ):
                return None
            return self.package(path[10:], environ.get("HTTP_IF_NONE_MATCH"))
        if not path.startswith("/simple/"):
            return None
        rest = path[8:]
        name: str | None
        if rest == "":
            name = None
        elif rest.endswith("/") and _NORMALIZED.match(rest[:-1]):
            name = rest[:-1]
        else:
            return None
        if not self.host_allowed(environ):
            return None
        qs = environ.get("QUERY_STRING", "")
        fmt = (parse_qs(qs).get("format") or [None])[0] if qs else None
        return self.simple(name, environ.get("HTTP_ACCEPT"), fmt, environ.get("HTTP_IF_NONE_MATCH"))

    def simple(
        self, name: str | None, accept: str | None, fmt: str | None, if_none_match: str | None
    ) -> Response | None:
        """``/simple/`` (``name`` None) or ``/simple/<name>/`` (a normalised name) as rendered;
        None when the page is not rendered."""
        return simple_response(self.cache, name, accept, fmt, if_none_match)

    def rendered_serial(self, name: str | None) -> str | None:
        """The serial a rendered page carries (``/simple/`` for None), None when there is none:
        the renderer compares it with the database to know whether the page is current."""
        base = "simple/" if name is None else f"simple/{name}/"
        page = self.cache.get(base + "index.html")  # written after index.json
        return None if page is None else page.serial

    def package(self, key: str, if_none_match: str | None) -> Response | Stream | None:
        """A published file (``/packages/<key>``): its whole response when small or unchanged,
        what to stream when large, None when it is not published.

        One ``stat`` per request: it tells whether the file is (still) published, and a small
        file's bytes and headers are kept in memory against its identity, as pages are. Half
        of an installer's requests are for PEP 658 ``.metadata`` files.
        """
        found = published_file(self.public_root, key)
        if found is None:
            return None
        full, st = found
        ident = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._small.get(key)
        body: bytes | None = None
        if hit is not None and hit[0] == ident:
            headers, body = hit[1], hit[2]
        else:
            headers = package_headers(key, st.st_size)
        if if_none_match and package_etag(key) in [t.strip() for t in if_none_match.split(",")]:
            return 304, headers[2:], b""
        if st.st_size > SMALL_FILE:
            return Stream(full, headers, st.st_size)
        if body is None:
            try:
                with open(full, "rb") as fh:
                    body = fh.read(SMALL_FILE + 1)
            except OSError:  # unpublished meanwhile
                return None
            if len(body) != st.st_size:  # replaced between the stat and the read: Django's
                return None
            self._remember(key, (ident, headers, body))
        return 200, headers, body

    def _remember(self, key: str, entry: tuple[tuple[int, int, int], _Headers, bytes]) -> None:
        if self._small_bytes + len(entry[2]) > SMALL_FILES_CACHED:
            self._small.clear()
            self._small_bytes = 0
        old = self._small.get(key)
        if old is not None:
            self._small_bytes -= len(old[2])
        self._small[key] = entry
        self._small_bytes += len(entry[2])

    def json_api(self, name: str, version: str | None) -> Response:
        """``/pypi/<name>/json`` (``version`` None) or ``/pypi/<name>/<version>/json``: a
        permanent redirect to the normalised name, PyPI's 404, or the document (rendered from
        the database, listing :func:`servable_files` only) with PyPI's headers."""
        from django.utils.encoding import iri_to_uri
        from packaging.utils import canonicalize_name

        from bastion.index import jsonapi

        normalized = canonicalize_name(name)
        if normalized != name:
            tail = "json" if version is None else f"{version}/json"
            # Percent-encoded as Django's redirects are: a version may hold any character.
            return 301, [("Location", iri_to_uri(f"/pypi/{normalized}/{tail}"))], b""
        found = jsonapi.document(normalized, version)
        if found is None:
            return _json_answer(404, _NOT_FOUND, [])
        doc, serial = found
        body = json.dumps(doc, separators=(",", ":"), cls=_json_encoder()).encode()
        return _json_answer(
            200,
            body,
            [
                ("X-PyPI-Last-Serial", str(serial)),
                ("Access-Control-Allow-Origin", "*"),
                ("Cache-Control", "max-age=900, public"),
            ],
        )


_NOT_FOUND = json.dumps({"message": "Not Found"}).encode()


def _json_encoder() -> type[json.JSONEncoder]:
    from django.core.serializers.json import DjangoJSONEncoder

    return DjangoJSONEncoder


def _json_answer(status: int, body: bytes, headers: list[tuple[str, str]]) -> Response:
    return (
        status,
        [("Content-Type", "application/json"), *headers, ("Content-Length", str(len(body)))],
        body,
    )


def servable_files(project: Any) -> list[Any]:
    """The files of ``project`` that installers may see: the one decision the pages, the JSON
    API and the public tree pass through (published files today; a quarantined or withdrawn
    state is excluded here). Files come with their release loaded, by filename."""
    from bastion.packages import services as packages

    return packages.published_files(project)


class IndexApp:
    """The WSGI application: what :class:`Responder` answers, Django for the rest.

    The server's fast path (:mod:`bastion.serving`) asks :attr:`responder` directly.
    """

    def __init__(
        self,
        public_root: Path,
        django_app: WSGIApp,
        allowed_hosts: Sequence[str] | None = None,
        use_x_forwarded_host: bool | None = None,
        *,
        responder: Responder | None = None,
    ) -> None:
        self.django_app = django_app
        self.responder = responder or Responder(public_root, allowed_hosts, use_x_forwarded_host)
        self.answer_or_stream = self.responder.answer_or_stream
        self.answer_without_django = self.responder.answer_without_django

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        answer = self.responder.answer_or_stream(environ)
        if answer is None:
            return self.django_app(environ, start_response)
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if isinstance(answer, Stream):
            start_response(_STATUS[200], answer.headers)
            if head:
                return [b""]
            fh = open(answer.path, "rb")  # noqa: SIM115 - closed by the server via file_wrapper
            wrapper = environ.get("wsgi.file_wrapper")
            if wrapper is not None:
                return wrapper(fh, 1024 * 256)  # type: ignore[no-any-return]
            return _iter_file(fh)
        status, headers, body = answer
        start_response(_STATUS[status], headers)
        return [b"" if head else body]


@dataclass(frozen=True, slots=True)
class Stream:
    """A published file too large to answer from memory: sent from the file."""

    path: str
    headers: list[tuple[str, str]]
    size: int  # the Content-Length in ``headers``, as the file's stat gave it


_shared: dict[tuple[Path, tuple[str, ...], bool], Responder] = {}


def shared(public_root: Path | None = None) -> Responder:
    """This process's responder for ``public_root`` (default: the settings' public folder) under
    Django's current settings: the WSGI layer, the poller and the views hold this one object,
    so a page is read and cached once per process."""
    from django.conf import settings

    from bastion.config import current

    root = Path(public_root if public_root is not None else current().public_dir)
    hosts = allowed_hosts_of(settings)
    forwarded = bool(settings.USE_X_FORWARDED_HOST)
    key = (root, tuple(hosts), forwarded)
    found = _shared.get(key)
    if found is None:
        if len(_shared) >= 16:  # test settings change per test; a server has one key
            _shared.clear()
        found = _shared[key] = Responder(root, hosts, forwarded)
    return found


def make_application(public_root: Path, django_app: WSGIApp) -> IndexApp:
    """The application in front of Django, answering with this process's shared responder."""
    return IndexApp(public_root, django_app, responder=shared(public_root))


def _iter_file(fh: Any) -> Iterable[bytes]:
    with fh:
        while chunk := fh.read(1024 * 256):
            yield chunk


_STATUS = {200: "200 OK", 304: "304 Not Modified", 404: "404 Not Found", 406: "406 Not Acceptable"}
