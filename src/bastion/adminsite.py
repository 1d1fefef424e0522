"""The Django admin, behind bastion's own login and authorisation.

Django's admin has its own login form, which would let a password alone in (no second factor,
no rate limit). Here the admin sends people to bastion's login page, and lets in only whom
:func:`bastion.authz.authorize` allows :data:`~bastion.authz.Action.ADMIN`:
an active, unfrozen superuser with two-factor authentication, on a session.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.contrib.admin.options import TO_FIELD_VAR
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse

if TYPE_CHECKING:
    from bastion.authz import Decision

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def _admin_decision(request: HttpRequest) -> Decision:
    from bastion.authz import Action
    from bastion.web.common import decide

    return decide(request, Action.ADMIN)


class BastionAdminSite(AdminSite):
    site_header = "bastion administration"
    site_title = "bastion admin"

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(_admin_decision(request))

    def admin_view(self, view: _View, cacheable: bool = False) -> _View:
        """Django's admin takes an empty ``_to_field`` for a field name and fails looking it
        up (a server error); refuse it as the bad request it is."""
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if "" in (request.GET.get(TO_FIELD_VAR), request.POST.get(TO_FIELD_VAR)):
                return HttpResponseBadRequest(
                    f"The {TO_FIELD_VAR} parameter must name a field.", content_type="text/plain"
                )
            return inner(request, *args, **kwargs)

        return cast(_View, checked)

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Logged in but not allowed (no second factor, not an administrator): say why,
            # rather than bounce between this page and the login page for ever.
            from bastion.web.common import forbidden

            return forbidden(request, _admin_decision(request))
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': next_url})}")


class BastionAdminConfig(AdminConfig):
    default_site = "bastion.adminsite.BastionAdminSite"
