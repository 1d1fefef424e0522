"""Two-factor pages: managing TOTP, security keys and recovery codes; the re-authentication
prompt; and the JSON endpoints the browser's WebAuthn calls talk to.

Adding or removing a factor needs a recent re-authentication (:func:`sensitive`): a session
left open in a browser must not be enough to swap the second factor and lock the owner out.
WebAuthn challenges are kept in the session and removed when they are answered, right or wrong,
so each can be used once.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST, require_safe

from bastion import ratelimit
from bastion.accounts import mfa
from bastion.accounts import webauthn as wa
from bastion.accounts.models import User, has_two_factor
from bastion.authz import lacks_required_second_factor, second_factor_required
from bastion.config import current
from bastion.web.account.login import (
    DEFAULT_BACKEND,
    can_log_in,
    check_codes,
    complete_login,
    pending_user,
    record_user_event,
)
from bastion.web.reauth import is_fresh, mark_reauthenticated, reauth_redirect, safe_next, sensitive
from bastion.web.twofactor.forms import (
    KeyLabelForm,
    PasswordForm,
    SecondFactorForm,
    TotpConfirmForm,
)

TOTP_ENROL_KEY = "bastion_totp_enrol"
NEW_CODES_KEY = "bastion_new_recovery_codes"
STATE_PREFIX = "bastion_webauthn_"
AUTH_PURPOSES = ("login", "passkey", "reauth")

View = Callable[..., HttpResponse]


def _login_required(view: View) -> View:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def _back_to(name: str) -> Callable[[HttpRequest], str]:
    return lambda _request: reverse(name)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def relying_party(request: HttpRequest) -> wa.RelyingParty:
    """The configured RP id, or this request's host without its port; the origin is exactly
    the scheme and host the page was served from (the host is checked by ALLOWED_HOSTS)."""
    host = request.get_host()
    rp_id = current().webauthn_rp_id
    if not rp_id:
        rp_id = host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0]
    name = current().site_name
    return wa.RelyingParty(id=rp_id.lower(), origin=f"{request.scheme}://{host}", name=name)


def _show_new_codes(request: HttpRequest, user: User) -> HttpResponseRedirect:
    """Keep new recovery codes for exactly one viewing (the page pops them)."""
    request.session[NEW_CODES_KEY] = mfa.generate_recovery_codes(user, request=request)
    return HttpResponseRedirect(reverse("account-2fa-recovery-codes"))


def _warn_if_unprotected(request: HttpRequest, user: User) -> None:
    if lacks_required_second_factor(user):
        messages.warning(
            request,
            "Your account has no second factor any more: until you add one, you cannot create"
            " API tokens, upload or manage projects.",
        )


# ---------------------------------------------------------------------------------------------
# The two-factor page


@never_cache
@require_safe
@_login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    keys = wa.credentials_of(user)
    factors = int(user.has_totp) + len(keys)
    recovery_left = mfa.remaining_recovery_codes(user)
    return render(
        request,
        "web/twofactor/manage.html",
        {
            "has_totp": user.has_totp,
            "keys": keys,
            "factors": factors,
            "last_factor": factors == 1,
            "require_2fa": second_factor_required(),
            "recovery_left": recovery_left,
            # mfa.lacks_recovery_codes, from what is already counted here
            "lacks_recovery_codes": factors > 0 and recovery_left == 0,
        },
    )


@never_cache
@sensitive_post_parameters("code")
@_login_required
@sensitive(next_url=_back_to("account-2fa-totp"))
def totp_enrol(request: HttpRequest) -> HttpResponse:
    """Show a new secret (QR code and text) and enrol it once the app proves it has it. The
    secret stays in the session until then, so a reload shows the same one."""
    user = _user(request)
    if user.has_totp:
        messages.info(request, "An authenticator app is already set up. Remove it to replace it.")
        return HttpResponseRedirect(reverse("account-2fa"))
    secret = request.session.get(TOTP_ENROL_KEY)
    if not isinstance(secret, str) or not secret:
        secret = mfa.new_totp_secret()
        request.session[TOTP_ENROL_KEY] = secret
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST":
        ratelimit.check(request, "2fa", user=user)
        if form.is_valid():
            first = not has_two_factor(user)
            try:
                mfa.enable_totp(user, secret, form.cleaned_data["code"], request=request)
            except mfa.MfaError as exc:
                ratelimit.hit(request, "2fa", user=user)
                form.add_error("code", str(exc))
            else:
                del request.session[TOTP_ENROL_KEY]
                request.session.cycle_key()  # the account's protection changed: new session id
                messages.success(request, "Your authenticator app is set up.")
                if first:
                    return _show_new_codes(request, user)
                return HttpResponseRedirect(reverse("account-2fa"))
    uri = mfa.provisioning_uri(user, secret)
    qr = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", svgclass="qr-code", title="QR code for your app"
    )
    return render(
        request,
        "web/twofactor/totp_enrol.html",
        {
            "form": form,
            "qr_svg": mark_safe(qr),  # noqa: S308 - segno's output from our own URI
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@_login_required
@sensitive(next_url=_back_to("account-2fa"))
def totp_remove(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_totp:
        messages.info(request, "No authenticator app is set up.")
        return HttpResponseRedirect(reverse("account-2fa"))
    mfa.disable_totp(user, request=request)
    request.session.cycle_key()
    messages.success(request, "The authenticator app was removed from your account.")
    _warn_if_unprotected(request, user)
    return HttpResponseRedirect(reverse("account-2fa"))


@never_cache
@require_safe
@_login_required
@sensitive()
def webauthn_add(request: HttpRequest) -> HttpResponse:
    return render(request, "web/twofactor/webauthn_add.html", {"form": KeyLabelForm()})


@require_POST
@_login_required
@sensitive(next_url=_back_to("account-2fa"))
def webauthn_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    try:
        label = wa.remove_credential(user, pk, request=request)
    except wa.WebAuthnError as exc:
        # Only "no such key on your account": someone else's key does not exist for you.
        raise Http404(str(exc)) from exc
    request.session.cycle_key()
    messages.success(request, f"The security key \u201c{label}\u201d was removed.")
    _warn_if_unprotected(request, user)
    return HttpResponseRedirect(reverse("account-2fa"))


@require_POST
@_login_required
@sensitive(next_url=_back_to("account-2fa"))
def recovery_generate(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not has_two_factor(user):
        messages.error(request, "Recovery codes replace a lost second factor: add a factor first.")
        return HttpResponseRedirect(reverse("account-2fa"))
    return _show_new_codes(request, user)


@never_cache
@require_safe
@_login_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once: they are removed from the session as they are shown."""
    codes = request.session.pop(NEW_CODES_KEY, None)
    if not codes:
        messages.info(
            request,
            "Recovery codes are shown only once, when they are made. Generate new ones if you"
            " have lost them.",
        )
        return HttpResponseRedirect(reverse("account-2fa"))
    return render(request, "web/twofactor/recovery_codes.html", {"codes": codes})


# ---------------------------------------------------------------------------------------------
# Re-authentication


@never_cache
@sensitive_post_parameters("password", "totp_code", "recovery_code")
@_login_required
def reauth(request: HttpRequest) -> HttpResponse:
    """Prove again who you are: a second factor when the account has one, else the password."""
    user = _user(request)
    candidate = request.POST.get("next") or request.GET.get("next")
    next_url = safe_next(request, candidate, reverse("account"))
    two_factor = has_two_factor(user)
    form: SecondFactorForm | PasswordForm
    if two_factor:
        form = SecondFactorForm(request.POST or None, has_totp=user.has_totp)
    else:
        form = PasswordForm(request.POST or None)
    if request.method == "POST":
        scope = "2fa" if two_factor else "login"
        limit_key: object = user if two_factor else user.get_username().lower()
        ratelimit.check(request, scope, user=limit_key)
        if form.is_valid():
            try:
                if two_factor:
                    method = check_codes(request, user, form.cleaned_data)
                elif user.check_password(form.cleaned_data["password"]):
                    method = "password"
                else:
                    raise mfa.MfaError("Incorrect password.")
            except mfa.MfaError as exc:
                ratelimit.hit(request, scope, user=limit_key)
                tag = "account:2fa:failure" if two_factor else "account:reauthenticate:failure"
                record_user_event(tag, request, user, context="reauth", reason=str(exc))
                form.add_error(None, str(exc))
            else:
                return _reauthenticated(request, user, method, next_url)
    return render(
        request,
        "web/twofactor/reauth.html",
        {
            "form": form,
            "two_factor": two_factor,
            "has_keys": bool(wa.credentials_of(user)),
            "next": next_url,
        },
        status=400 if form.errors else 200,
    )


def _reauthenticated(
    request: HttpRequest, user: User, method: str, next_url: str
) -> HttpResponseRedirect:
    mark_reauthenticated(request)
    request.session.cycle_key()  # a privilege change: the old session id is worth nothing
    record_user_event("account:reauthenticate", request, user, method=method)
    return HttpResponseRedirect(next_url)


# ---------------------------------------------------------------------------------------------
# WebAuthn JSON endpoints (called by static/web/webauthn.js)


def _json_error(message: str, status: int = 400, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": message, **extra}, status=status)


def _json_body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _not_fresh(request: HttpRequest) -> JsonResponse:
    return _json_error(
        "Please confirm it\u2019s you first.",
        403,
        redirect=reauth_redirect(request, reverse("account-2fa-webauthn-add")).url,
    )


@require_POST
def webauthn_register_options(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _json_error("Log in first.", 403)
    if not is_fresh(request):
        return _not_fresh(request)
    options, state = wa.begin_registration(_user(request), relying_party(request))
    request.session[STATE_PREFIX + "register"] = state
    return JsonResponse(options)


@require_POST
def webauthn_register_verify(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return _json_error("Log in first.", 403)
    if not is_fresh(request):
        return _not_fresh(request)
    body = _json_body(request)
    state = request.session.pop(STATE_PREFIX + "register", None)
    if body is None or not isinstance(body.get("credential"), dict):
        return _json_error("The request carries no credential.")
    user = _user(request)
    first = not has_two_factor(user)
    try:
        wa.complete_registration(
            user,
            relying_party(request),
            state,
            body["credential"],
            str(body.get("label") or ""),
            request=request,
        )
    except wa.WebAuthnError as exc:
        return _json_error(str(exc))
    request.session.cycle_key()  # the account's protection changed: new session id
    messages.success(request, "Your security key is registered.")
    if first:
        return JsonResponse({"redirect": _show_new_codes(request, user).url})
    return JsonResponse({"redirect": reverse("account-2fa")})


def _auth_user(request: HttpRequest, purpose: str) -> tuple[User | None, JsonResponse | None]:
    """Whose key may answer: the user of the login's second step, the logged-in user for a
    re-authentication, anybody's passkey for a passwordless sign-in."""
    if purpose == "login":
        pending = pending_user(request)
        if pending is None:
            return None, _json_error("Your login has expired. Please log in again.", 400)
        return pending[0], None
    if purpose == "reauth":
        if not request.user.is_authenticated:
            return None, _json_error("Log in first.", 403)
        return _user(request), None
    return None, None


@require_POST
def webauthn_auth_options(request: HttpRequest, purpose: str) -> HttpResponse:
    if purpose not in AUTH_PURPOSES:
        raise Http404
    user, error = _auth_user(request, purpose)
    if error is not None:
        return error
    try:
        options, state = wa.begin_authentication(user, relying_party(request))
    except wa.WebAuthnError as exc:
        return _json_error(str(exc))
    request.session[STATE_PREFIX + purpose] = state
    return JsonResponse(options)


@require_POST
def webauthn_auth_verify(request: HttpRequest, purpose: str) -> HttpResponse:
    if purpose not in AUTH_PURPOSES:
        raise Http404
    user, error = _auth_user(request, purpose)
    if error is not None:
        return error
    scope = "login" if purpose == "passkey" else "2fa"
    ratelimit.check(request, scope, user=user)
    state = request.session.pop(STATE_PREFIX + purpose, None)
    body = _json_body(request)
    if body is None or not isinstance(body.get("credential"), dict):
        return _json_error("The request carries no credential.")
    try:
        credential = wa.complete_authentication(
            user, relying_party(request), state, body["credential"]
        )
        if not can_log_in(credential.user):
            raise wa.WebAuthnError("This account cannot sign in.")
    except wa.WebAuthnError as exc:
        ratelimit.hit(request, scope, user=user)
        if user is not None:
            record_user_event(
                "account:2fa:failure", request, user, context=purpose, reason=str(exc)
            )
        else:
            record_user_event(
                "account:login:failure", request, "(unknown passkey)", reason="passkey"
            )
        return _json_error(str(exc))
    signed_in = credential.user
    next_candidate = str(body.get("next") or "")
    if purpose == "reauth":
        next_url = safe_next(request, next_candidate, reverse("account"))
        response = _reauthenticated(request, signed_in, "webauthn", next_url)
    elif purpose == "login":
        pending = pending_user(request)
        data = pending[1] if pending is not None else {}
        response = complete_login(
            request,
            signed_in,
            method="webauthn",
            backend=str(data.get("backend") or DEFAULT_BACKEND),
            next_url=str(data.get("next") or settings.LOGIN_REDIRECT_URL),
        )
    else:
        next_url = safe_next(request, next_candidate, str(settings.LOGIN_REDIRECT_URL))
        response = complete_login(
            request, signed_in, method="passkey", backend=DEFAULT_BACKEND, next_url=next_url
        )
    return JsonResponse({"redirect": response.url})


def account_status(user: User) -> dict[str, Any]:
    """What the account page's two-factor partial shows beyond the user's own fields."""
    enabled = has_two_factor(user)
    recovery_left = mfa.remaining_recovery_codes(user)
    return {
        "require": second_factor_required(),
        "enabled": enabled,
        "recovery_left": recovery_left,
        # mfa.lacks_recovery_codes, without asking the database again
        "lacks_recovery_codes": enabled and recovery_left == 0,
    }
