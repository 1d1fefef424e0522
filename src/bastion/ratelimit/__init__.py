"""Rate limits: how many times an identity may try something in a window.

Counters live in Django's cache (``django-ratelimit`` keeps them), so they are shared by every
process that shares the cache: the embedded default runs one web process, and an operator who
runs several points ``BASTION_CACHE_BACKEND`` at a shared cache (docs/configuration.md).

Every limited action calls :func:`check` *before* doing anything and :func:`hit` once the
attempt counts. Checking first is what makes a lock-out hold: once a login window is full, even
the right password is refused until the window passes, so guessing cannot continue by
interleaving a known password.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django_ratelimit.core import get_usage

from bastion import clientinfo
from bastion.clientinfo import ClientInfo
from bastion.config import current


@dataclass(frozen=True)
class Scope:
    """One limited action, its message and its default rates per key kind (``"10/5m"``)."""

    name: str
    message: str
    rates: Mapping[str, str]


SCOPES: dict[str, Scope] = {
    s.name: s
    for s in (
        Scope(
            "login",
            "There have been too many unsuccessful login attempts. You have been locked out for"
            " {wait}. Please try again later.",
            {"ip": "10/5m", "user": "10/5m"},
        ),
        Scope(
            "2fa",
            "Too many two-factor authentication attempts. Please try again in {wait}.",
            {"ip": "10/5m", "user": "5/5m"},
        ),
        Scope(
            "password-reset",
            "Too many password resets have been requested. Please try again in {wait}.",
            {"ip": "10/h", "user": "5/d"},
        ),
        Scope(
            "email",
            "Too many emails have been requested. Please try again in {wait}.",
            {"ip": "10/h", "user": "5/h"},
        ),
        Scope(
            "token-create",
            "Too many API tokens created. Please try again in {wait}.",
            {"ip": "60/h", "user": "30/h"},
        ),
        Scope("project-create", "Too many new projects created", {"ip": "40/h", "user": "20/h"}),
        Scope(
            "upload",
            "Too many uploads. Please try again in {wait}.",
            {"ip": "3000/h", "user": "3000/h"},
        ),
        Scope(
            "disclose",
            "Too many disclosure requests. Please try again in {wait}.",
            {"ip": "60/m"},
        ),
    )
}


class RateLimited(Exception):
    """Raised by :func:`check`; answered with 429 and ``Retry-After`` (see the middleware)."""

    def __init__(self, scope: Scope, retry_after: int) -> None:
        self.scope = scope
        self.retry_after = max(1, retry_after)
        super().__init__(scope.message.format(wait=_wait(self.retry_after)))

    @property
    def message(self) -> str:
        return str(self)


def _wait(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


def rate_for(scope: str, kind: str) -> str | None:
    """The configured rate (``BASTION_RATE_LIMITS``) or the default; ``None`` = unlimited."""
    configured: Mapping[str, str] = current().rate_limits
    rate = configured.get(f"{scope}.{kind}", SCOPES[scope].rates.get(kind))
    if rate in (None, "", "0", "off", "none"):
        return None
    return rate


#: Whose attempts are counted: a request (read through its :class:`ClientInfo`, which the
#: middleware built from the trusted-proxy setting) or the :class:`ClientInfo` itself.
Source = HttpRequest | ClientInfo | None


def _keys(source: Source, user: object | None, *, ip: bool = True) -> dict[str, str]:
    keys = {"ip": clientinfo.of(source).limit_key} if ip else {}
    if user is not None and user != "":
        keys["user"] = str(getattr(user, "pk", user)).lower()
    return keys


def _usage(scope: str, kind: str, value: str, increment: bool) -> dict[str, Any] | None:
    rate = rate_for(scope, kind)
    if rate is None:
        return None
    # The key is computed here, so django-ratelimit needs no request (it would read one only
    # to match a method or compute a key).
    return get_usage(  # type: ignore[no-any-return]
        None,
        group=f"bastion:{scope}:{kind}",
        key=lambda _group, _request: value,
        rate=rate,
        increment=increment,
    )


def check(source: Source, scope: str, *, user: object | None = None, ip: bool = True) -> None:
    """Raise :class:`RateLimited` when any of the scope's windows is already full.

    ``user`` is a user, a user id or a submitted user name (a login for a name that does not
    exist is limited like one that does, so the limit does not reveal which names exist).
    ``ip=False`` when the address's window was checked earlier in the same request.
    """
    for kind, value in _keys(source, user, ip=ip).items():
        usage = _usage(scope, kind, value, increment=False)
        if usage is not None and usage["count"] >= usage["limit"]:
            raise RateLimited(SCOPES[scope], int(usage["time_left"]))


def hit(source: Source, scope: str, *, user: object | None = None) -> None:
    """Count one attempt against every window of the scope."""
    for kind, value in _keys(source, user).items():
        _usage(scope, kind, value, increment=True)


def parse_rates(text: str) -> dict[str, str]:
    """``"login.ip=10/5m, upload.user=off"`` -> ``{"login.ip": "10/5m", "upload.user": "off"}``."""
    rates: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, rate = item.partition("=")
        scope, dot, kind = key.strip().partition(".")
        if not sep or not dot or scope not in SCOPES or kind not in ("ip", "user"):
            raise ValueError(f"BASTION_RATE_LIMITS: cannot read {item!r} (scope.ip=N/period)")
        rate = rate.strip()
        if rate.lower() not in ("off", "none", "0"):
            count, _, period = rate.partition("/")
            if (
                not count.isdigit()
                or not period
                or period.lstrip("0123456789") not in ("s", "m", "h", "d")
            ):
                raise ValueError(f"BASTION_RATE_LIMITS: bad rate {rate!r} (like 10/5m, 20/h)")
        rates[f"{scope}.{kind}"] = rate
    return rates
