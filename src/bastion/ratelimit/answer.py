"""The one answer to a full rate-limit window: 429 with ``Retry-After``.

Every place that refuses a limited attempt answers with :func:`too_many_requests`: the
middleware (for the site's pages, whose views raise :class:`~bastion.ratelimit.RateLimited`),
the upload API and the disclosure endpoint (which answer programs themselves).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bastion.ratelimit import RateLimited


def too_many_requests(exc: RateLimited, request: HttpRequest | None = None) -> HttpResponse:
    """429 saying why and for how long.

    ``request`` is passed where a person may be asking (the site's pages): if it accepts
    HTML, the reason is shown on a page. Otherwise the reason is one line of plain text, and
    also the status line's reason phrase, which is what twine and uv print for a refused
    upload (as PyPI sends it). The messages are fixed ASCII sentences, safe in a status line.
    """
    if request is not None and "text/html" in request.META.get("HTTP_ACCEPT", ""):
        response = render(request, "web/429.html", {"reason": exc.message}, status=429)
    else:
        response = HttpResponse(
            exc.message + "\n",
            status=429,
            reason=exc.message,
            content_type="text/plain; charset=utf-8",
        )
    response["Retry-After"] = str(exc.retry_after)
    return response
