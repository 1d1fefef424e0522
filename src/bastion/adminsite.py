"""The Django admin, behind bastion's own login and authorisation.

Django's admin has its own login form, which would let a password alone in (no second factor,
no rate limit). Here the admin sends people to bastion's login page, and lets in only whom
:func:`bastion.tokens.policy.authorize` allows :data:`~bastion.tokens.policy.Action.ADMIN`:
an active, unfrozen superuser with two-factor authentication, on a session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse


class BastionAdminSite(AdminSite):
    site_header = "bastion administration"
    site_title = "bastion admin"

    def has_permission(self, request: HttpRequest) -> bool:
        from bastion.tokens.policy import Action, authorize, session_identity

        return bool(authorize(session_identity(request.user), Action.ADMIN))  # type: ignore[arg-type]

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated:
            # Logged in but not allowed (no second factor, not an administrator): say why,
            # rather than bounce between this page and the login page for ever.
            from bastion.tokens.policy import Action, authorize, session_identity

            decision = authorize(session_identity(request.user), Action.ADMIN)  # type: ignore[arg-type]
            return render(request, "web/forbidden.html", {"reason": decision.reason}, status=403)
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': next_url})}")


class BastionAdminConfig(AdminConfig):
    default_site = "bastion.adminsite.BastionAdminSite"
