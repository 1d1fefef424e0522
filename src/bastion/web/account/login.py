"""Logging in and out, in two steps when the account has a second factor.

A correct password alone never logs in an account that has a second factor: the session only
remembers *who* passed the password and *when*, and the user is logged in (``login()``, which
rotates the session key) once the second factor is proven. Until then every page treats the
visitor as anonymous. Passwords and second factors are both rate limited; the limit is checked
before anything is verified, so a locked-out guesser learns nothing even from a right guess.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from bastion import authz, ratelimit
from bastion.accounts import mfa
from bastion.accounts.models import User, has_two_factor
from bastion.accounts.webauthn import credentials_of
from bastion.config import current
from bastion.events import services as events
from bastion.web.account.forms import LoginForm
from bastion.web.reauth import mark_reauthenticated
from bastion.web.twofactor.forms import SecondFactorForm

PENDING_KEY = "bastion_2fa_pending"
# How long the second step may take after the password was accepted.
PENDING_SECONDS = 300
DEFAULT_BACKEND = "bastion.accounts.backends.BastionBackend"


def record_user_event(tag: str, request: HttpRequest, user: Any, **additional: Any) -> None:
    """An event about an account; ``user`` may be a name nobody has (a failed login)."""
    if isinstance(user, str):
        name = user[:150]
        found = get_user_model().objects.filter(username=name).first()
        subject_id = found.pk if found is not None else None
        actor = None
    else:
        name, subject_id, actor = user.get_username(), user.pk, user
    with transaction.atomic():
        events.record(
            tag,
            subject_kind="user",
            subject_name=name,
            subject_id=subject_id,
            actor=actor,
            request=request,
            **additional,
        )


def complete_login(
    request: HttpRequest, user: User, *, method: str, backend: str, next_url: str
) -> HttpResponseRedirect:
    """Log in for real: new session key, fresh re-authentication, an audit event."""
    stale = [k for k in request.session.keys() if k.startswith("bastion_webauthn_")]  # noqa: SIM118
    for key in stale:
        del request.session[key]
    request.session.pop(PENDING_KEY, None)
    auth_login(request, user, backend=backend)
    mark_reauthenticated(request)
    record_user_event("account:login", request, user, method=method)
    if mfa.lacks_recovery_codes(user):
        remind_recovery_codes(request)
    return HttpResponseRedirect(next_url)


def remind_recovery_codes(request: HttpRequest) -> None:
    """At every sign-in of an account with a second factor and no recovery codes left (as PyPI
    reminds by email): without them, a lost phone or key locks the account out. A reminder
    on the next page, never a detour: the user still lands where they were going."""
    messages.warning(
        request,
        format_html(
            "Your account has no recovery codes: if you lose your second factor, you cannot "
            'sign in. <a href="{}">Generate recovery codes</a> and keep them somewhere safe.',
            reverse("account-2fa") + "#recovery-heading",
        ),
    )


def can_log_in(user: Any) -> bool:
    return authz.may_sign_in(user)


def check_codes(request: HttpRequest, user: User, data: dict[str, Any]) -> str:
    """Verify the code a :class:`SecondFactorForm` carried; return the method used.

    Raises :class:`~bastion.accounts.mfa.MfaError` with the reason for the user.
    """
    if data.get("totp_code"):
        mfa.check_totp(user, data["totp_code"])
        return "totp"
    mfa.check_recovery_code(user, data.get("recovery_code") or "", request=request)
    return "recovery code"


class LoginView(auth_views.LoginView):
    """Django's login view: it only follows a ``next`` that ``url_has_allowed_host_and_scheme``
    accepts, which keeps open redirects out; this adds the second step, the rate limit and the
    audit trail."""

    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["allow_registration"] = current().allow_registration
        return context

    def _submitted_name(self) -> str:
        # What was typed, for the rate limit and the audit trail: never a NUL, which no
        # username has and PostgreSQL cannot store.
        return str(self.request.POST.get("username", "")).replace("\x00", "")[:150]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ratelimit.check(request, "login", user=self._submitted_name().lower())
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        name = self._submitted_name()
        ratelimit.hit(self.request, "login", user=name.lower())
        record_user_event("account:login:failure", self.request, name, reason="password")
        return super().form_invalid(form)

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        backend = str(getattr(user, "backend", DEFAULT_BACKEND))
        next_url = self.get_success_url()
        if not has_two_factor(user):
            return complete_login(
                self.request, user, method="password", backend=backend, next_url=next_url
            )
        # Whatever was in this session before the password is not carried into the second step.
        self.request.session.cycle_key()
        self.request.session[PENDING_KEY] = {
            "user": user.pk,
            "at": int(time.time()),
            "backend": backend,
            "next": next_url,
        }
        return redirect("login-2fa")


def pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    """The user who passed the password step of this session, if that was recent enough."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    age = time.time() - int(data.get("at", 0))
    pk = data.get("user")
    user = get_user_model().objects.filter(pk=pk).first() if isinstance(pk, int) else None
    if not 0 <= age <= PENDING_SECONDS or user is None or not can_log_in(user):
        request.session.pop(PENDING_KEY, None)
        return None
    return user, data  # type: ignore[return-value]


def login_expired(request: HttpRequest) -> HttpResponseRedirect:
    messages.error(request, "Your login has expired. Please log in again.")
    return HttpResponseRedirect(reverse("login"))


@never_cache
@sensitive_post_parameters("totp_code", "recovery_code")
def login_two_factor(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator app, a recovery code or a security key
    (the key is checked by :mod:`bastion.web.twofactor`'s JSON views)."""
    pending = pending_user(request)
    if pending is None:
        if request.user.is_authenticated:
            return HttpResponseRedirect(settings.LOGIN_REDIRECT_URL)
        return login_expired(request)
    user, data = pending
    form = SecondFactorForm(request.POST or None, has_totp=user.has_totp)
    if request.method == "POST":
        ratelimit.check(request, "2fa", user=user)
        if form.is_valid():
            try:
                method = check_codes(request, user, form.cleaned_data)
            except mfa.MfaError as exc:
                ratelimit.hit(request, "2fa", user=user)
                record_user_event(
                    "account:2fa:failure", request, user, context="login", reason=str(exc)
                )
                form.add_error(None, str(exc))
            else:
                return complete_login(
                    request,
                    user,
                    method=method,
                    backend=str(data.get("backend") or DEFAULT_BACKEND),
                    next_url=str(data.get("next") or settings.LOGIN_REDIRECT_URL),
                )
    status = 400 if form.errors else 200
    return render(
        request,
        "web/twofactor/login_2fa.html",
        {"form": form, "pending": user, "has_keys": bool(credentials_of(user))},
        status=status,
    )


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); ``next`` is followed only if it stays on this site."""
