"""Logging in and out."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpResponse

from bastion.events import services as events
from bastion.web.forms import LoginForm


class LoginView(auth_views.LoginView):
    """Django's login view (it rotates the session key and only follows a ``next`` URL that
    ``url_has_allowed_host_and_scheme`` accepts), with an audit event on success."""

    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: LoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        user = form.get_user()
        events.record(
            "account:login",
            subject_kind="user",
            subject_name=user.get_username(),
            subject_id=user.pk,
            actor=user,
            request=self.request,
            method="password",
        )
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default); ``next`` is followed only if it stays on this site."""
