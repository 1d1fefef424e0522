"""Pages for the account's address and password: verification, change of email, change and
reset of password, and self-service registration.

Every page that sends mail is rate limited before it sends anything, so the index cannot be
used to flood a mailbox; every change writes its audit event in the transaction of the change
and mails a notice once it is committed. A link opened from an email never changes anything by
itself: GET shows what will happen and a button, and only the POST acts, so a mail scanner or
a browser prefetching the link cannot verify or change anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from bastion import authz, ratelimit
from bastion.accounts import emails
from bastion.accounts import services as accounts
from bastion.accounts.models import User
from bastion.accounts.services import AccountError, create_user
from bastion.config import current
from bastion.web.account.forms import (
    RULES_HELP,
    EmailChangeForm,
    RegistrationForm,
    ResetRequestForm,
)
from bastion.web.common import public_url
from bastion.web.reauth import sensitive

log = logging.getLogger(__name__)

SEND_FAILED = "The email could not be sent. Please try again later."


def link_base(request: HttpRequest) -> str:
    """Where emailed links point: ``BASTION_BASE_URL``, or the host this request came in on.

    The request's host is only as trustworthy as ``ALLOWED_HOSTS``; docs/accounts.md tells
    operators to set the base URL so that a forged Host header cannot redirect a reset link.
    """
    return public_url(request, "/").rstrip("/")


def _deliver(send: Callable[[], None], what: str) -> bool:
    try:
        send()
    except Exception:  # an SMTP outage is reported to the user, not turned into a 500
        log.exception("could not send %s", what)
        return False
    return True


def _current_user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Email verification and change


def send_verification_link(request: HttpRequest, user: User) -> bool:
    token = emails.make_token(user, "verify")
    link = link_base(request) + reverse("email-verify", args=[token])
    return _deliver(lambda: emails.send_verification(user, link), "a verification email")


@require_POST
def email_resend(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("account"))
    user = _current_user(request)
    if not user.email:
        messages.error(request, "Your account has no email address: add one first.")
        return redirect("email-change")
    if user.email_verified:
        messages.info(request, f"{user.email} is already verified.")
        return redirect("account")
    ratelimit.check(request, "email", user=user)
    ratelimit.hit(request, "email", user=user)
    if send_verification_link(request, user):
        messages.success(
            request,
            f"A verification link was sent to {user.email}. It works for"
            f" {emails.link_hours()} hours.",
        )
    else:
        messages.error(request, SEND_FAILED)
    return redirect("account")


def _email_link(request: HttpRequest, token: str, purpose: emails.Purpose) -> HttpResponse:
    template = "web/account_email/confirm_link.html"
    try:
        link = emails.read_token(token, purpose)
    except emails.LinkError as exc:
        return render(request, template, {"error": str(exc), "purpose": purpose}, status=400)
    if request.user.is_authenticated and request.user.pk != link.user.pk:
        return render(
            request,
            template,
            {
                "error": "This link was sent for another account. Log out, then open it again.",
                "purpose": purpose,
            },
            status=403,
        )
    if request.method == "POST":
        try:
            user = emails.confirm(link, request=request)
        except (emails.LinkError, AccountError) as exc:
            return render(request, template, {"error": str(exc), "purpose": purpose}, status=400)
        if purpose == "verify":
            messages.success(request, f"Thank you: {user.email} is verified.")
        else:
            messages.success(request, f"Your email address is now {user.email}.")
        return redirect("account" if request.user.is_authenticated else "login")
    context: dict[str, Any] = {"purpose": purpose, "email": link.email, "owner": link.user}
    return render(request, template, context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def email_verify(request: HttpRequest, token: str) -> HttpResponse:
    return _email_link(request, token, "verify")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    return _email_link(request, token, "change")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@sensitive(next_url=lambda request: reverse("email-change"))
def email_change(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = _current_user(request)
    form = EmailChangeForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST":
        ratelimit.check(request, "email", user=user)
        if form.is_valid():
            ratelimit.hit(request, "email", user=user)
            new_email = form.cleaned_data["email"]
            token = emails.make_token(user, "change", new_email)
            link = link_base(request) + reverse("email-change-confirm", args=[token])
            if _deliver(
                lambda: emails.send_change_link(user, new_email, link), "an email change link"
            ):
                messages.success(
                    request,
                    f"A confirmation link was sent to {new_email}. Your address stays"
                    f" {user.email} until you open it.",
                )
                return redirect("account")
            messages.error(request, SEND_FAILED)
        status = 400
    else:
        status = 200
    return render(request, "web/account_email/change_email.html", {"form": form}, status=status)


# ---------------------------------------------------------------------------------------------
# Password change


@never_cache
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "HEAD", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the password; the old one is asked for, so a borrowed session is not enough.

    Wrong old passwords count as failed logins: this form must not become a way round the
    login lock-out.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = _current_user(request)
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    form.fields["new_password1"].help_text = RULES_HELP
    if request.method != "POST":
        return render(request, "web/account_email/change_password.html", {"form": form})
    ratelimit.check(request, "login", user=user)
    if not form.is_valid():
        if "old_password" in form.errors:
            ratelimit.hit(request, "login", user=user)
        return render(request, "web/account_email/change_password.html", {"form": form}, status=400)
    accounts.set_password(user, form.cleaned_data["new_password1"], actor=user, request=request)
    # Keep this session (its hash now matches the new password), under a new key.
    update_session_auth_hash(request, user)
    request.session.cycle_key()
    messages.success(request, "Your password was changed. Other sessions were logged out.")
    return redirect("account")


# ---------------------------------------------------------------------------------------------
# Password reset


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link. The answer is the same page whether the address belongs to an
    account or not, so the form cannot be used to find out who has an account here."""

    template_name = "registration/reset_request.html"
    form_class = ResetRequestForm
    success_url = reverse_lazy("password-reset-done")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        address = str(request.POST.get("email", "")).strip().lower()[:254] or None
        ratelimit.check(request, "password-reset", user=address)
        ratelimit.hit(request, "password-reset", user=address)
        return super().post(request, *args, **kwargs)  # type: ignore[no-any-return]

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {
            "link_base": link_base(self.request),
            "site_label": current().site_name,
            "timeout_hours": max(1, int(settings.PASSWORD_RESET_TIMEOUT) // 3600),
        }
        return super().form_valid(form)  # type: ignore[no-any-return]

    def form_invalid(self, form: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/reset_sent.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choose a new password from an emailed link.

    Django's token is derived from the password hash, the last login and the address, so it
    dies once used; changing the hash also ends every session of the account, since each
    session carries a digest of the hash it was opened with.
    """

    template_name = "registration/reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        if user is None or not authz.may_sign_in(user):
            return None  # a frozen account must not reset its way back in
        return user

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        form.fields["new_password1"].help_text = RULES_HELP
        return form

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.user
        accounts.set_password(
            user,
            form.cleaned_data["new_password1"],
            actor=user,
            request=self.request,
            how="reset",
        )
        self.request.session.pop(auth_views.INTERNAL_RESET_SESSION_TOKEN, None)
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        if not self.validlink:
            kwargs["status"] = 400
        return super().render_to_response(context, **kwargs)  # type: ignore[no-any-return]


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/reset_complete.html"


# ---------------------------------------------------------------------------------------------
# Registration


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "HEAD", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Create an account with an unverified address, when the operator allows it.

    Closed by default (``BASTION_ALLOW_REGISTRATION``): a private index's accounts are made by
    its operator. Attempts are limited per address like other mail-sending pages, which also
    slows down probing which addresses already have an account.
    """
    if not current().allow_registration:
        raise Http404("Registration is closed on this index.")
    if request.user.is_authenticated:
        return redirect("account")
    template = "web/account_email/register.html"
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    if request.method != "POST":
        return render(request, template, {"form": form})
    ratelimit.check(request, "email")
    ratelimit.hit(request, "email")
    if not form.is_valid():
        return render(request, template, {"form": form}, status=400)
    try:
        user = create_user(
            form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            email_verified=False,
        )
    except AccountError as exc:
        form.add_error(None, str(exc))
        return render(request, template, {"form": form}, status=400)
    if send_verification_link(request, user):
        messages.success(
            request,
            f"Your account was created. Open the link sent to {user.email} to verify your"
            " address, then log in.",
        )
    else:
        messages.warning(
            request,
            "Your account was created, but the verification email could not be sent. Log in"
            " and ask for a new one from your account page.",
        )
    return redirect("login")
