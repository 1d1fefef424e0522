"""Who is at the other end of a request: one reading of the client's address per request.

The address is read here and nowhere else, once per request (by
:class:`bastion.web.middleware.ClientInfoMiddleware`), so that the rate limits, the audit
trail and the security notices can never disagree about it. Behind the reverse proxy that
``BASTION_BEHIND_PROXY`` declares trusted, the peer is the proxy: the client is the right-most
``X-Forwarded-For`` entry, the one that proxy appended (the entries to its left are whatever
the client sent, and a client can write anything there).

A leaf module: it imports nothing of bastion but the settings, so that every domain may use it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bastion.config import current

if TYPE_CHECKING:
    from django.http import HttpRequest

#: The request attribute the middleware sets.
ATTRIBUTE = "client_info"


@dataclass(frozen=True)
class ClientInfo:
    """The client of one request, as bastion records and limits it."""

    #: The client's IP address in its canonical spelling; ``None`` when unknown (no peer
    #: address, a Unix socket, or a forwarded entry that is not an address).
    address: str | None
    user_agent: str
    #: Whether ``address`` is what the trusted proxy reported rather than the peer.
    forwarded: bool = False

    @property
    def limit_key(self) -> str:
        """The value a rate limit counts attempts of this client under."""
        return self.address or "unknown"


#: No request at all: the command line, the worker, a test calling a service.
NO_CLIENT = ClientInfo(address=None, user_agent="")


def _canonical(value: str) -> str | None:
    """``value`` as one spelling of its address (so that one IPv6 address is one rate-limit
    key), without an IPv6 zone, which an address column cannot store; ``None`` if it is not
    an address."""
    try:
        parsed = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return None
    return str(parsed)


def from_meta(meta: Mapping[str, str], *, behind_proxy: bool) -> ClientInfo:
    """Read the client from a WSGI environ (``request.META``)."""
    agent = meta.get("HTTP_USER_AGENT", "")
    if behind_proxy:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return ClientInfo(_canonical(forwarded.split(",")[-1]), agent, forwarded=True)
    return ClientInfo(_canonical(meta.get("REMOTE_ADDR", "")), agent)


def attach(request: HttpRequest) -> ClientInfo:
    """Build the request's :class:`ClientInfo` from the trusted-proxy setting and keep it on
    the request."""
    client = from_meta(request.META, behind_proxy=current().behind_proxy)
    setattr(request, ATTRIBUTE, client)
    return client


def of(source: HttpRequest | ClientInfo | None) -> ClientInfo:
    """The client of ``source``: a request's (kept by the middleware), a :class:`ClientInfo`
    as it is, :data:`NO_CLIENT` for ``None``.

    A request that did not pass the middleware (a unit test's ``RequestFactory``) is read
    once here, by the same rule.
    """
    if source is None:
        return NO_CLIENT
    if isinstance(source, ClientInfo):
        return source
    client = getattr(source, ATTRIBUTE, None)
    if isinstance(client, ClientInfo):
        return client
    return attach(source)
