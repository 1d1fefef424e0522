"""What every area of the pages uses: the refusal page, the permission question, the public URL
of this index, and the one-line error of a form. Areas import these by their public names; no
area reaches into another's private helpers."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from bastion.authz import Action, Decision, authorize
from bastion.config import current
from bastion.packages.models import Project
from bastion.web.reauth import identity_of

CONFIRM_REQUIRED = "Confirm the request"


def forbidden(request: HttpRequest, refusal: Decision) -> HttpResponse:
    """The refusal page: the reason, and the way out when the account can take it (set up
    two-factor authentication, verify the email address) rather than a dead end."""
    context = {"reason": refusal.reason, "remedy": refusal.remedy}
    return render(request, "web/forbidden.html", context, status=403)


def decide(request: HttpRequest, action: Action, project: Project | None = None) -> Decision:
    return authorize(identity_of(request), action, project)


def public_url(request: HttpRequest, path: str) -> str:
    """An absolute URL of this index for tools (pip, twine): under the configured public URL
    when there is one, otherwise on the scheme and host this request came in on (the host is
    checked against ALLOWED_HOSTS by Django)."""
    base = current().base_url
    if base:
        return base + path
    return request.build_absolute_uri(path)


def first_error(form: forms.Form) -> str:
    """The form's first error, one line for the page."""
    for field, errors in form.errors.items():
        if errors:
            label = form.fields[field].label if field in form.fields else ""
            message = str(errors[0])
            return f"{label}: {message}" if label and message != CONFIRM_REQUIRED else message
    return "The form is not valid."
