"""Django views of the index: the parts the fast path leaves to Django, and the JSON API."""

from __future__ import annotations

from typing import Any

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponsePermanentRedirect,
    JsonResponse,
)
from django.http.response import HttpResponseBase
from packaging.utils import canonicalize_name

from bastion.config import current
from bastion.index import fast, render
from bastion.index.jsonapi import project_json, release_json
from bastion.packages import services as packages

_cache: fast.PageCache | None = None


def _page_cache() -> fast.PageCache:
    global _cache
    if _cache is None or _cache.root != current().public_dir:
        _cache = fast.PageCache(current().public_dir)
    return _cache


def _respond(resp: fast.Response, method: str) -> HttpResponse:
    status, headers, body = resp
    response = HttpResponse(b"" if method == "HEAD" else body, status=status)
    for key, value in headers:
        if key.lower() == "content-length" and method == "HEAD":
            continue
        response[key] = value
    return response


def _simple(request: HttpRequest, name: str | None) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    args: tuple[Any, ...] = (
        name,
        request.headers.get("Accept"),
        request.GET.get("format"),
        request.headers.get("If-None-Match"),
    )
    resp = fast.simple_response(_page_cache(), *args)
    if resp is None:
        # Not rendered yet (first request after a restore, or a crash before rendering).
        if name is None:
            render.render_root()
        else:
            project = packages.get_project(name)
            if project is None:
                raise Http404("No such project")
            render.render_project(project)
        resp = fast.simple_response(_page_cache(), *args)
        if resp is None:
            raise Http404("No such project")
    return _respond(resp, request.method or "GET")


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
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    found = fast.published_file(current().public_dir, key)
    if found is None:
        raise Http404("No such file")
    full, st = found
    headers = fast.package_headers(key, st.st_size)
    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(b"")
    else:
        response = FileResponse(open(full, "rb"))  # noqa: SIM115
    for k, v in headers:
        response[k] = v
    return response


def json_project(request: HttpRequest, name: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if normalized != name:
        return HttpResponsePermanentRedirect(f"/pypi/{normalized}/json")
    project = packages.get_project(normalized)
    if project is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    doc = project_json(project)
    if doc is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    return _json(doc, project.last_serial)


def json_release(request: HttpRequest, name: str, version: str) -> HttpResponse:
    normalized = canonicalize_name(name)
    if normalized != name:
        return HttpResponsePermanentRedirect(f"/pypi/{normalized}/{version}/json")
    project = packages.get_project(normalized)
    if project is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    release = packages.find_release(project, version)
    doc = release_json(project, release) if release is not None else None
    if doc is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    return _json(doc, project.last_serial)


def _json(doc: dict[str, Any], serial: int) -> HttpResponse:
    response = JsonResponse(doc, json_dumps_params={"separators": (",", ":")})
    response["X-PyPI-Last-Serial"] = str(serial)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "max-age=900, public"
    return response
