"""``IndexApp`` with whatever a client can send: never an exception, never a 5xx.

The fast path answers before Django's middleware (which refuses a NUL with 400), so a path the
file system cannot name (a NUL, a lone surrogate, a name too long) must be left to Django,
not raise. The Host check is Django's: a host outside ALLOWED_HOSTS is left to Django too.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as fuzzing
from hypothesis import strategies as st

from bastion.index.responder import JSON_V1, SMALL_FILE, IndexApp

KEY = "ab/cd/" + "e" * 60
PREFIXES = ["", "/", "/simple/", "/simple/demo/", "/packages/", f"/packages/{KEY}/", "/pypi/"]


def _tree(root: Path) -> Path:
    for rel, body in (
        ("simple/demo/index.html", b"<a>demo-1.0.tar.gz</a>\n<!--SERIAL 7-->"),
        ("simple/demo/index.json", json.dumps({"meta": {"_last-serial": 7}}).encode()),
        ("simple/index.html", b"<a>demo</a>\n<!--SERIAL 7-->"),
        ("simple/index.json", b'{"meta": {"_last-serial": 7}, "projects": []}'),
        (f"packages/{KEY}/demo-1.0.tar.gz", b"sdist"),
        (f"packages/{KEY}/demo-1.0-py3-none-any.whl", b"w" * (SMALL_FILE + 1)),
        (f"packages/{KEY}/demo-1.0-py3-none-any.whl.metadata", b"Name: demo\n"),
    ):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


class NotFound:
    """Django's place: what it answers does not matter here, only that it was asked."""

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"django"]


def _environ(method: str, path: str, query: str, headers: dict[str, str]) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": io.StringIO(),
    }
    environ.update(headers)
    return environ


def _call(app: Any, environ: dict[str, Any]) -> int:
    seen: list[str] = []
    # As Django's test client does: a request must not close the database connection that
    # holds the test's transaction (PostgreSQL would answer the next query on a closed one).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = app(environ, lambda status, headers, exc_info=None: seen.append(status))
        try:
            b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(seen[0].split()[0])


_NASTY = [
    f"/packages/{KEY}/a\x00b",
    f"/packages/{KEY}/\x00",
    f"/packages/{KEY}/" + "a" * 5000,
    "/simple/demo\x00/",
    f"/packages/{KEY}/demo-1.0.tar.gz\n",
    f"/packages/{KEY}/../../simple/index.html",
]
_HEADER_NAMES = st.sampled_from(
    ["HTTP_HOST", "HTTP_ACCEPT", "HTTP_IF_NONE_MATCH", "HTTP_X_FORWARDED_HOST", "HTTP_X_OTHER"]
)
_HEADER_VALUES = ["localhost", "127.0.0.1:8000", "[::1]", JSON_V1, "*/*", '"x", *']
_methods = st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", ""])


def _requests(text: st.SearchStrategy[str]) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "method": _methods,
        "path": st.one_of(
            st.builds(lambda p, s: p + s, st.sampled_from(PREFIXES), text), st.sampled_from(_NASTY)
        ),
        "query": text,
        "headers": st.dictionaries(_HEADER_NAMES, st.one_of(text, st.sampled_from(_HEADER_VALUES))),
    }


# Any text for IndexApp alone (surrogates included: it must not raise whatever it is handed);
# through Django, what a WSGI server can hand: latin-1 decoded bytes (PEP 3333).
_ANY = _requests(st.text(max_size=80))
_WSGI = _requests(st.text(st.characters(max_codepoint=255), max_size=80))


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tree(tmp_path_factory.mktemp("public"))


_django: list[Any] = []


def _django_app() -> Any:
    if not _django:
        _django.append(get_wsgi_application())
    return _django[0]


@fuzzing(max_examples=500, deadline=None)
@given(**_ANY)
def test_no_exception_and_no_server_error(
    public: Path, method: str, path: str, query: str, headers: dict[str, str]
) -> None:
    app = IndexApp(public, NotFound(), ["localhost", "127.0.0.1"])
    environ = _environ(method, path, query, headers)
    answer = app.answer_without_django(dict(environ))
    assert answer is None or answer[0] < 500
    assert _call(app, environ) < 500


def test_paths_no_file_can_have_go_to_django(tmp_path: Path) -> None:
    app = IndexApp(_tree(tmp_path), NotFound(), ["localhost"])
    for name in ("a\x00b", "\udc80", "a" * 5000, "demo-1.0.tar.gz\x00"):
        environ = _environ("GET", f"/packages/{KEY}/{name}", "", {"HTTP_HOST": "localhost"})
        assert app.answer_without_django(environ) is None
        assert _call(app, environ) == 404  # NotFound: Django was asked


def test_hosts_django_refuses_go_to_django(tmp_path: Path) -> None:
    app = IndexApp(_tree(tmp_path), NotFound(), ["localhost", ".example.org", "[::1]"])
    for path in ("/simple/", "/simple/demo/", f"/packages/{KEY}/demo-1.0.tar.gz"):
        for host in (
            "localhost",
            "localhost:8000",
            "pypi.example.org",
            "example.org:1",
            "[::1]:80",
        ):
            assert app.answer_without_django(_environ("GET", path, "", {"HTTP_HOST": host})), host
        for host in ("evil.example", "localhost.evil", "", "local host", "[::2]", "\x00"):
            assert app.answer_without_django(_environ("GET", path, "", {"HTTP_HOST": host})) is None
        # No Host (HTTP/1.0): Django checks the server's name.
        assert app.answer_without_django(_environ("GET", path, "", {})) is None
        with_name = _environ("GET", path, "", {})
        with_name["SERVER_NAME"] = "localhost"
        assert app.answer_without_django(with_name) is not None
    # X-Forwarded-Host counts only with USE_X_FORWARDED_HOST, as in Django.
    forwarded = {"HTTP_HOST": "localhost", "HTTP_X_FORWARDED_HOST": "evil.example"}
    assert app.answer_without_django(_environ("GET", "/simple/", "", forwarded))
    behind = IndexApp(tmp_path, NotFound(), ["localhost"], use_x_forwarded_host=True)
    assert behind.answer_without_django(_environ("GET", "/simple/", "", forwarded)) is None


def test_the_allowed_hosts_are_djangos(tmp_path: Path, settings: Any) -> None:
    """Without ``allowed_hosts``, IndexApp takes Django's (as ``make_application`` does)."""
    settings.ALLOWED_HOSTS = ["pypi.example.com"]
    app = IndexApp(_tree(tmp_path), NotFound())
    assert app.answer_without_django(
        _environ("GET", "/simple/", "", {"HTTP_HOST": "pypi.example.com"})
    )
    assert (
        app.answer_without_django(_environ("GET", "/simple/", "", {"HTTP_HOST": "localhost"}))
        is None
    )


@pytest.mark.django_db
@fuzzing(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(**_WSGI)
def test_with_django_behind_no_server_error(
    public: Path, method: str, path: str, query: str, headers: dict[str, str]
) -> None:
    """The same requests through Django itself (its views for the index, its middleware):
    a 4xx or 3xx for what the fast path leaves to it, never a 5xx."""
    app = IndexApp(public, _django_app(), ["localhost", "127.0.0.1"])
    assert _call(app, _environ(method, path, query, headers)) < 500
