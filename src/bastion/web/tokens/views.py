"""API token pages: create, revoke one, revoke all."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from bastion import ratelimit
from bastion.authz import Action
from bastion.tokens import services as tokens
from bastion.web import queries
from bastion.web.account.page import account_context
from bastion.web.common import decide, forbidden, public_url
from bastion.web.tokens.forms import TokenCreateForm


@never_cache
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("account"))
    decision = decide(request, Action.CREATE_TOKEN)
    if not decision:
        return forbidden(request, decision)
    user = request.user
    # A stolen session minting token after token is what this limit slows down; it is checked
    # before anything is issued (RateLimited becomes a 429 page with Retry-After).
    ratelimit.check(request, "token-create", user=user)
    form = TokenCreateForm(
        request.POST,
        projects=[r.project for r in queries.roles_of(user)],
    )
    if form.is_valid():
        days = form.cleaned_data["expires_days"]
        project = form.cleaned_data["project"]
        try:
            raw, token = tokens.create_token(
                user,
                form.cleaned_data["name"],
                projects=[project] if project else None,
                expires=timezone.now() + timedelta(days=days) if days else None,
                upload_only=form.cleaned_data["upload_only"],
                request=request,
            )
        except tokens.TokenRequestError as exc:
            form.add_error(None, str(exc))
        else:
            ratelimit.hit(request, "token-create", user=user)
            # The token is in this response only: it is never stored, and the page is not cached.
            context = {"raw": raw, "token": token, "upload_url": public_url(request, "/legacy/")}
            return render(request, "web/token_created.html", context)
    return render(request, "web/account.html", account_context(request, form), status=400)


@require_POST
def token_revoke(request: HttpRequest, token_id: UUID) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("account"))
    token = tokens.token_of(request.user, token_id)  # type: ignore[arg-type]
    if token is None:
        raise Http404("No such token.")
    tokens.revoke(token, actor=request.user, request=request)
    messages.success(request, f"The token \u201c{token.name}\u201d was revoked.")
    return redirect("account")


@require_POST
def token_revoke_all(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("account"))
    with transaction.atomic():
        count = tokens.revoke_all(request.user, actor=request.user, request=request)
    messages.success(request, f"{count} token{'' if count == 1 else 's'} revoked.")
    return redirect("account")
