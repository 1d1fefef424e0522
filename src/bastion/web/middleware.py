"""Security headers Django does not set by itself."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bastion.ratelimit import RateLimited


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class RateLimitMiddleware:
    """Answer :class:`~bastion.ratelimit.RateLimited` with 429 and ``Retry-After``.

    Pages render the reason for people; everything else gets it as one line of text.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RateLimited):
            return None
        return rate_limited_response(request, exception)


def rate_limited_response(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    accepts_html = "text/html" in request.META.get("HTTP_ACCEPT", "")
    if accepts_html:
        response = render(request, "web/429.html", {"reason": exc.message}, status=429)
    else:
        response = HttpResponse(
            exc.message + "\n", status=429, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = str(exc.retry_after)
    return response


class RejectNulMiddleware:
    """Refuse a NUL character anywhere in the path or the query string with 400.

    No name, version or parameter of this site can contain one, PostgreSQL cannot store or even
    compare one, and file-system calls refuse them: the one place to stop them is before any
    view looks the value up. (Form fields are checked by Django's forms; the upload API escapes
    them in metadata as PyPI does.)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return HttpResponse(
                "Null bytes are not allowed.\n",
                status=400,
                reason="Null bytes are not allowed.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
