"""Every server path asks one responder: the Django views (what the fast path leaves to
Django) and the WSGI layer / poller (what it answers itself) give the same answer, and a
change is on the pages as soon as the request that made it returns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction

from bastion.config import current
from bastion.index import responder
from bastion.index.responder import JSON_V1, make_application
from bastion.packages import services as packages
from bastion.packages.models import File
from tests import builders

pytestmark = pytest.mark.django_db(transaction=True)
SAME = ("Content-Type", "ETag", "Cache-Control", "X-PyPI-Last-Serial", "Content-Length")


@pytest.fixture
def published(upload: Any, token: str) -> File:
    assert upload(builders.wheel("respondpkg", "1.0"), token).status_code == 200
    return File.objects.get(filename="respondpkg-1.0-py3-none-any.whl")


def _environ(path: str, **headers: str) -> dict[str, Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "HTTP_HOST": "localhost",
    }
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return environ


def test_the_application_and_the_views_hold_one_responder() -> None:
    app = make_application(current().public_dir, lambda environ, start: [])
    assert app.responder is responder.shared()


def test_django_and_the_fast_path_answer_alike(client: Any, published: File) -> None:
    app = make_application(current().public_dir, lambda environ, start: [])
    for path, accept in (
        ("/simple/respondpkg/", "text/html"),
        ("/simple/respondpkg/", JSON_V1),
        ("/simple/", "*/*"),
        (f"/packages/{published.metadata_key}", "*/*"),
    ):
        fast = app.answer_without_django(_environ(path, accept=accept))
        assert fast is not None, path
        status, headers, body = fast
        through_django = client.get(path, HTTP_ACCEPT=accept)
        assert through_django.status_code == status == 200
        streamed = through_django.streaming
        content = b"".join(through_django.streaming_content) if streamed else through_django.content
        assert content == body
        for name in SAME:
            assert through_django.get(name) == dict(headers).get(name), (path, name)
        # A conditional request gets the same 304 both ways.
        etag = dict(headers)["ETag"]
        conditional = app.answer_without_django(_environ(path, accept=accept, if_none_match=etag))
        assert conditional is not None and conditional[0] == 304
        assert client.get(path, HTTP_ACCEPT=accept, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_change_is_served_when_its_request_returns(client: Any, published: File) -> None:
    app = make_application(current().public_dir, lambda environ, start: [])
    with transaction.atomic():
        packages.yank(published.release, reason="broken", actor=None)
    answer = app.answer_without_django(_environ("/simple/respondpkg/", accept=JSON_V1))
    assert answer is not None
    (entry,) = json.loads(answer[2])["files"]
    assert entry["yanked"] == "broken"
    assert dict(answer[1])["X-PyPI-Last-Serial"] == str(
        packages.get_project("respondpkg").last_serial
    )  # type: ignore[union-attr]


def test_json_api_answers(client: Any, published: File) -> None:
    found = responder.shared().json_api("respondpkg", None)
    assert found[0] == 200 and dict(found[1])["Access-Control-Allow-Origin"] == "*"
    assert responder.shared().json_api("Respondpkg", "1.0") == (
        301,
        [("Location", "/pypi/respondpkg/1.0/json")],
        b"",
    )
    missing = client.get("/pypi/respondpkg/9.9/json")
    assert missing.status_code == 404 and missing.json() == {"message": "Not Found"}
    head = client.head("/pypi/respondpkg/json")
    assert head["Content-Length"] == dict(found[1])["Content-Length"]


def test_a_redirect_names_any_version_safely(client: Any, published: File) -> None:
    response = client.get("/pypi/Respondpkg/1.0%0d%0aSet-Cookie:%20x/json")
    assert response.status_code == 301
    assert response["Location"] == "/pypi/respondpkg/1.0%0D%0ASet-Cookie:%20x/json"
