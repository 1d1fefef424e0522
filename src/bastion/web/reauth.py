"""Re-authentication for sensitive actions.

Adding or removing a second factor, changing the email address and adding an owner ask the
user to prove again who they are (their second factor, or their password while they have none)
if they have not done so within ``BASTION_REAUTH_SECONDS``: a session cookie left in a browser
must not be enough to take an account over. The prompt itself is the ``account-reauth`` page.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from bastion.config import current

SESSION_KEY = "bastion_reauth_at"


def mark_reauthenticated(request: HttpRequest) -> None:
    """Record that the user proved who they are just now (login, 2FA step, re-auth page)."""
    request.session[SESSION_KEY] = int(time.time())


def is_fresh(request: HttpRequest) -> bool:
    at = request.session.get(SESSION_KEY)
    window = current().reauth_seconds
    return isinstance(at, int) and 0 <= time.time() - at <= window


def safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    """``candidate`` if it stays on this site, otherwise ``default`` (no open redirects)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def reauth_redirect(request: HttpRequest, next_url: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('account-reauth')}?{urlencode({'next': next_url})}")


def sensitive(
    next_url: Callable[[HttpRequest], str] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view that needs a recent re-authentication.

    A GET comes back to itself after the prompt; a POST cannot be replayed through a redirect,
    so it goes back to ``next_url(request)`` (the page holding its form), or the account page.
    Anonymous requests pass through: the view sends them to the login page itself.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not is_fresh(request):
                if request.method in ("GET", "HEAD"):
                    target = request.get_full_path()
                elif next_url is not None:
                    target = next_url(request)
                else:
                    target = reverse("account")
                return reauth_redirect(request, target)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
