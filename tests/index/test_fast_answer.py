"""``IndexApp.answer_without_django``: the whole response to a simple-page request when the
rendered pages answer it, None whenever Django must (the server then hands the request to a
thread). The WSGI application answers with it, so the two cannot disagree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bastion.index.responder import JSON_V1, SMALL_FILE, IndexApp, make_application, package_etag

HTML = b'<!DOCTYPE html><a href="/packages/x/demo-1.0.tar.gz">demo-1.0.tar.gz</a>\n<!--SERIAL 7-->'
DOC = {"meta": {"api-version": "1.1", "_last-serial": 7}, "name": "demo", "files": []}


class Django:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.calls.append(environ["PATH_INFO"])
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"django"]


@pytest.fixture
def public(tmp_path: Path) -> Path:
    for rel, body in (
        ("simple/demo/index.html", HTML),
        ("simple/demo/index.json", json.dumps(DOC).encode()),
        ("simple/index.html", b"<a>demo</a>\n<!--SERIAL 7-->"),
        ("simple/index.json", b'{"meta": {"_last-serial": 7}, "projects": [{"name": "demo"}]}'),
        ("packages/ab/cd/" + "e" * 60 + "/demo-1.0.tar.gz", b"sdist"),
        ("packages/ab/cd/" + "f" * 60 + "/demo-1.0-py3-none-any.whl", b"w" * (SMALL_FILE + 1)),
        ("packages/ab/cd/" + "f" * 60 + "/demo-1.0-py3-none-any.whl.metadata", b"Name: demo\n"),
    ):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return tmp_path


@pytest.fixture
def django() -> Django:
    return Django()


@pytest.fixture
def app(public: Path, django: Django) -> IndexApp:
    return make_application(public, django)


def env(path: str, method: str = "GET", query: str = "", **headers: str) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_HOST": "localhost",  # one of ALLOWED_HOSTS: IndexApp leaves others to Django
    }
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return environ


def call(app: IndexApp, environ: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: list[Any] = []
    body = b"".join(app(environ, lambda status, headers: seen.extend([status, headers])))
    return seen[0], dict(seen[1]), body


def test_project_page_html_and_json(app: IndexApp) -> None:
    answer = app.answer_without_django(env("/simple/demo/"))
    assert answer is not None
    status, headers, body = answer
    assert (status, body) == (200, HTML)
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"
    assert dict(headers)["Content-Length"] == str(len(HTML))
    assert dict(headers)["X-PyPI-Last-Serial"] == "7"

    by_accept = app.answer_without_django(env("/simple/demo/", accept=JSON_V1))
    by_format = app.answer_without_django(env("/simple/demo/", query="format=" + JSON_V1))
    for answer in (by_accept, by_format):
        assert answer is not None
        assert answer[0] == 200 and json.loads(answer[2]) == DOC
        assert dict(answer[1])["Content-Type"] == JSON_V1


def test_root_page_conditional_and_head(app: IndexApp) -> None:
    first = app.answer_without_django(env("/simple/"))
    assert first is not None and first[0] == 200
    etag = dict(first[1])["ETag"]
    again = app.answer_without_django(env("/simple/", if_none_match=etag))
    assert again is not None and again[0] == 304 and again[2] == b""
    # HEAD gets the GET's answer: the server leaves the body out, keeping its length.
    head = app.answer_without_django(env("/simple/", method="HEAD"))
    assert head == first


def test_unknown_format_is_406(app: IndexApp) -> None:
    answer = app.answer_without_django(env("/simple/demo/", query="format=text/plain"))
    assert answer is not None and answer[0] == 406


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("POST", "/simple/demo/", ""),
        ("PUT", "/simple/", ""),
        ("GET", "/simple/Demo/", ""),  # Django redirects to the normalised name
        ("GET", "/simple/demo", ""),
        ("GET", "/simple/demo/extra/", ""),
        ("GET", "/simple/missing/", ""),  # no page: Django's 404 (or a page not yet rendered)
        ("GET", "/packages/ab/cd/" + "f" * 60 + "/demo-1.0-py3-none-any.whl", ""),  # streamed
        ("GET", "/packages/ab/cd/" + "e" * 60 + "/missing-1.0.tar.gz", ""),  # not published
        ("GET", "/pypi/demo/json", ""),
        ("GET", "/", ""),
    ],
)
def test_none_when_django_or_a_stream_must_answer(
    app: IndexApp, django: Django, method: str, path: str, query: str
) -> None:
    assert app.answer_without_django(env(path, method=method, query=query)) is None


def test_small_published_files_are_answered_whole(app: IndexApp) -> None:
    path = "/packages/ab/cd/" + "f" * 60 + "/demo-1.0-py3-none-any.whl.metadata"
    answer = app.answer_without_django(env(path))
    assert answer is not None
    status, headers, body = answer
    assert (status, body) == (200, b"Name: demo\n")
    assert dict(headers)["Content-Length"] == str(len(body))
    etag = dict(headers)["ETag"]
    again = app.answer_without_django(env(path, if_none_match=etag))
    assert again is not None and again[0] == 304 and again[2] == b""
    # A large file is streamed by a thread, but its conditional request needs no body.
    large = "/packages/ab/cd/" + "f" * 60 + "/demo-1.0-py3-none-any.whl"
    assert app.answer_without_django(env(large)) is None
    cached = app.answer_without_django(env(large, if_none_match=package_etag(large[10:])))
    assert cached is not None and cached[0] == 304


def test_application_agrees_with_answer_without_django(app: IndexApp, django: Django) -> None:
    cases = [
        env("/simple/demo/"),
        env("/simple/demo/", accept=JSON_V1),
        env("/simple/", method="HEAD"),
        env("/simple/demo/", query="format=nonsense"),
        env("/simple/Demo/"),
        env("/simple/missing/"),
        env("/pypi/demo/json"),
    ]
    for environ in cases:
        answer = app.answer_without_django(environ)
        status, headers, body = call(app, environ)
        if answer is None:
            assert body == b"django"
        else:
            assert int(status.split()[0]) == answer[0]
            assert headers == dict(answer[1])
            assert body == (b"" if environ["REQUEST_METHOD"] == "HEAD" else answer[2])
    assert django.calls == ["/simple/Demo/", "/simple/missing/", "/pypi/demo/json"]


def test_a_rerendered_page_is_seen_at_once(app: IndexApp, public: Path) -> None:
    first = app.answer_without_django(env("/simple/demo/"))
    page = public / "simple/demo/index.html"
    tmp = page.with_suffix(".tmp")
    tmp.write_bytes(HTML.replace(b"SERIAL 7", b"SERIAL 8"))
    tmp.replace(page)  # as the renderer does: a new file, a new inode
    second = app.answer_without_django(env("/simple/demo/"))
    assert first is not None and second is not None
    assert dict(second[1])["X-PyPI-Last-Serial"] == "8"
    assert dict(second[1])["ETag"] != dict(first[1])["ETag"]
