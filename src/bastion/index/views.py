"""Django's side of the index: adapters that hand :class:`~bastion.index.responder.Responder`'s
answers to Django, for the requests the server's fast path leaves to it (the JSON API, a page
not rendered yet, a redirect to the normalised name, a server without the fast path)."""

from __future__ import annotations

import io
from typing import BinaryIO

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponsePermanentRedirect,
)
from django.http.response import HttpResponseBase
from packaging.utils import canonicalize_name

from bastion.index import render, responder
from bastion.packages import services as packages

_READ = ["GET", "HEAD"]


def _respond(answer: responder.Response) -> HttpResponse:
    """The responder's answer as Django's response (for a HEAD, the server leaves the body
    out and keeps its length, as on the fast path)."""
    status, headers, body = answer
    response = HttpResponse(body, status=status)
    for key, value in headers:
        response[key] = value
    return response


def _simple(request: HttpRequest, name: str | None) -> HttpResponse:
    if request.method not in _READ:
        return HttpResponseNotAllowed(_READ)
    args = (
        name,
        request.headers.get("Accept"),
        request.GET.get("format"),
        request.headers.get("If-None-Match"),
    )
    answer = responder.shared().simple(*args)
    if answer is None:
        # Not rendered yet (first request after a restore): render it now.
        if name is None:
            render.render_root()
        else:
            render.refresh(name)
        answer = responder.shared().simple(*args)
        if answer is None:
            raise Http404("No such project")
    return _respond(answer)


def simple_index(request: HttpRequest) -> HttpResponse:
    return _simple(request, None)


def simple_detail(request: HttpRequest, name: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if normalized != name:
        target = f"/simple/{normalized}/"
        if request.META.get("QUERY_STRING"):
            target += "?" + request.META["QUERY_STRING"]
        response = HttpResponsePermanentRedirect(target)
        response["Access-Control-Allow-Origin"] = "*"
        return response
    if packages.get_project(normalized) is None:
        raise Http404("No such project")
    return _simple(request, normalized)


def package_file(request: HttpRequest, key: str) -> HttpResponseBase:
    if request.method not in _READ:
        return HttpResponseNotAllowed(_READ)
    answer = responder.shared().package(key, request.headers.get("If-None-Match"))
    if answer is None:
        raise Http404("No such file")
    response: HttpResponseBase
    if isinstance(answer, responder.Stream):
        status, headers = 200, answer.headers
        try:
            fh: BinaryIO = open(answer.path, "rb")  # noqa: SIM115 - closed by FileResponse
        except OSError:  # unpublished since the stat
            raise Http404("No such file") from None
    else:
        status, headers, body = answer
        fh = io.BytesIO(body)
    if request.method == "HEAD" or status != 200:
        fh.close()
        response = HttpResponse(b"", status=status)
    else:
        response = FileResponse(fh)
    for k, v in headers:
        response[k] = v
    return response


def json_project(request: HttpRequest, name: str) -> HttpResponse:
    return _respond(responder.shared().json_api(name, None))


def json_release(request: HttpRequest, name: str, version: str) -> HttpResponse:
    return _respond(responder.shared().json_api(name, version))
