"""What every request passes: security headers Django does not set by itself, the client's
address read once, NUL characters refused, and the answer to a full rate-limit window."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bastion import clientinfo
from bastion.ratelimit import RateLimited
from bastion.ratelimit.answer import too_many_requests


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


class ClientInfoMiddleware:
    """Read the client's address once, before any view: rate limits, the audit trail and the
    notices all take it from ``request.client_info`` (:mod:`bastion.clientinfo`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clientinfo.attach(request)
        return self.get_response(request)


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
        return too_many_requests(exception, request)


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
