"""The account page: the user's projects and invitations, API tokens, second factors and
security history. Token and role pages that refuse a change show it again with the reason."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from bastion.authz import Action
from bastion.events import services as events
from bastion.tokens import services as tokens
from bastion.web import queries
from bastion.web.common import decide
from bastion.web.tokens.forms import TokenCreateForm
from bastion.web.twofactor import views as twofactor


def account_context(request: HttpRequest, form: TokenCreateForm | None = None) -> dict[str, Any]:
    user = request.user
    roles = queries.roles_of(user)  # type: ignore[arg-type]
    now = timezone.now()
    return {
        "roles": roles,
        "tokens": [
            (t, t.expires is not None and t.expires <= now)
            for t in tokens.tokens_of(user)  # type: ignore[arg-type]
        ],
        "form": form or TokenCreateForm(projects=[r.project for r in roles]),
        # Whether the form can be used at all, and if not, what to do instead (authz decides).
        "token_decision": decide(request, Action.CREATE_TOKEN),
        "history": events.for_user(int(user.pk), limit=50),  # type: ignore[arg-type]
        "two_factor": twofactor.account_status(user),  # type: ignore[arg-type]
    }


@never_cache
@require_safe
def account(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(request, "web/account.html", account_context(request))
