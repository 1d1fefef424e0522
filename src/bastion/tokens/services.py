"""Issuing, authenticating and revoking API tokens."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bastion.accounts.models import User
from bastion.accounts.notify import send_security_notice
from bastion.authz import Action, Identity, IdentityKind, authorize, session_identity
from bastion.events import services as events
from bastion.packages import services as packages
from bastion.tokens import macaroons
from bastion.tokens.models import Token

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdwy])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


class TokenRequestError(ValueError):
    """A token cannot be issued as asked; the message is for the user."""


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``, ``12h``, ``30d``, ``2w`` or ``1y``."""
    match = _DURATION.match(text)
    if not match:
        raise TokenRequestError(
            f"Invalid duration {text!r}: use a number and a unit, e.g. 12h, 30d, 2w, 1y."
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise TokenRequestError("The duration must be positive.")
    return timedelta(seconds=seconds)


def create_token(
    user: User,
    name: str,
    *,
    projects: list[str] | None = None,
    expires: datetime | None = None,
    not_before: datetime | None = None,
    upload_only: bool = False,
    request: Any = None,
) -> tuple[str, Token]:
    """Issue a token; the returned string is shown once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenRequestError("A token needs a name of 1-100 characters.")
    normalized: list[str] = []
    for project_name in projects or []:
        project = packages.get_project(project_name)
        if project is None:
            raise TokenRequestError(f"No project named '{project_name}'.")
        decision = authorize(session_identity(user), Action.SCOPE_TOKEN, project)
        if not decision:
            raise TokenRequestError(decision.reason)
        normalized.append(project.normalized_name)
    if expires is not None and expires <= timezone.now():
        raise TokenRequestError("The expiry must be in the future.")
    caveats: list[list[Any]] = [[macaroons.CAVEAT_USER, user.pk]]
    if normalized:
        caveats.append([macaroons.CAVEAT_PROJECTS, sorted(set(normalized))])
    if expires is not None or not_before is not None:
        caveats.append(
            [
                macaroons.CAVEAT_EXPIRY,
                int(expires.timestamp()) if expires else 2**53,
                int(not_before.timestamp()) if not_before else 0,
            ]
        )
    if upload_only:
        caveats.append([macaroons.CAVEAT_UPLOAD_ONLY])
    with transaction.atomic():
        if Token.objects.filter(user=user, name=name).exists():
            raise TokenRequestError(f"You already have a token named '{name}'.")
        token = Token(
            user=user,
            name=name,
            caveats=caveats,
            projects=sorted(set(normalized)),
            expires=expires,
            not_before=not_before,
            upload_only=upload_only,
        )
        raw = macaroons.mint(str(token.id), caveats)
        token.token_sha256 = macaroons.token_digest(raw)
        token.save()
        events.record_user(
            "account:token:create",
            user,
            request=request,
            token=name,
            token_id=str(token.id),
            scope=token.scope_label,
            expires=expires.isoformat() if expires else None,
        )
        send_security_notice(
            user,
            "API token created",
            f"An API token named \u201c{name}\u201d was created for your account "
            f"(scope: {token.scope_label}{', upload only' if upload_only else ''}; "
            f"expires: {expires.isoformat() if expires else 'never'}).",
        )
    return raw, token


def authenticate(raw: str) -> Identity:
    """Find the token's row and user. The signature and caveats are checked by ``authz``,
    with the context of the action, every time the identity is used."""
    macaroon = macaroons.parse(raw)
    identifier = macaroons.identifier_of(macaroon)
    token_id = _uuid_or_none(identifier)
    token = Token.objects.select_related("user").filter(pk=token_id).first() if token_id else None
    if token is None:
        raise macaroons.TokenError("Invalid API Token: token not found or revoked")
    return Identity(IdentityKind.TOKEN, user=token.user, token=token, macaroon=macaroon)


def _uuid_or_none(text: str) -> str | None:
    import uuid

    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


#: A token's use is an audit event at most this often (every use updates ``last_used``): enough
#: to see in the security history when and from where a token was used, without one row per upload.
USE_EVENT_INTERVAL = timedelta(hours=1)


#: ``last_used`` is kept to this precision (a twine run of many files updates it once).
LAST_USED_PRECISION = timedelta(minutes=1)


def mark_used(token: Token, *, request: Any = None) -> None:
    """Record a use in the caller's transaction: ``last_used``, and now and then an event."""
    now = timezone.now()
    previous = token.last_used
    if previous is not None and now - previous < LAST_USED_PRECISION:
        return  # recorded moments ago: a burst of uploads writes it once a minute
    Token.objects.filter(pk=token.pk).update(last_used=now)
    token.last_used = now
    if previous is None or now - previous >= USE_EVENT_INTERVAL:
        user = token.user
        events.record_user(
            "account:token:use",
            user,
            request=request,
            token=token.name,
            token_id=str(token.pk),
        )


def revoke(
    token: Token,
    *,
    actor: User,
    request: Any = None,
    reason: str = "revoked",
    notify: bool = True,
) -> None:
    """Delete the token (a revoked token leaves no row to resurrect) and record why.

    ``notify`` is off only when the caller sends one notice for several tokens.
    """
    user = token.user
    with transaction.atomic():
        events.record_user(
            "account:token:revoke",
            user,
            actor=actor,
            request=request,
            token=token.name,
            token_id=str(token.pk),
            reason=reason,
        )
        token.delete()
        if notify:
            send_security_notice(
                user,
                "API token revoked",
                f"The API token \u201c{token.name}\u201d of your account was revoked by "
                f"{actor.get_username()}. Anything still using it can no longer upload.",
            )


def revoke_all(user: User, *, actor: User, request: Any = None) -> int:
    """Revoke every token of ``user`` in one transaction: all go, or none do."""
    with transaction.atomic():
        doomed = list(Token.objects.select_for_update().filter(user=user))
        for token in doomed:
            revoke(token, actor=actor, request=request, reason="revoked all", notify=False)
        if doomed:
            names = ", ".join(f"\u201c{t.name}\u201d" for t in doomed)
            send_security_notice(
                user,
                "All API tokens revoked",
                f"All {len(doomed)} API token(s) of your account were revoked by "
                f"{actor.get_username()}: {names}.",
            )
    return len(doomed)


def find_by_raw(raw: str) -> Token | None:
    """The token a disclosed string is, or was derived from; None when it is not ours.

    The string as issued is matched by its stored SHA-256. A holder may have attenuated the
    token before it leaked (added caveats change the string), so a string that parses is also
    traced to its row by identifier, but only when its signature chain proves it was derived
    from that row's root key: a forged string naming somebody's token id revokes nothing.
    """
    token = (
        Token.objects.select_related("user")
        .filter(token_sha256=macaroons.token_digest(raw))
        .first()
    )
    if token is not None:
        return token
    try:
        macaroon = macaroons.parse(raw)
        token_id = _uuid_or_none(macaroons.identifier_of(macaroon))
    except macaroons.TokenError:
        return None
    if token_id is None:
        return None
    token = Token.objects.select_related("user").filter(pk=token_id).first()
    if token is None or not macaroons.is_derived(macaroon):
        return None
    return token


def revoke_leaked(
    token: Token, *, url: str, source: str, token_type: str, request: Any = None
) -> None:
    """Revoke a token found in public, at once, and tell its owner where it was found."""
    user = token.user
    with transaction.atomic():
        events.record_user(
            "account:token:removed_leak",
            user,
            system=True,  # the index acted, on a scanner's report
            request=request,
            token=token.name,
            token_id=str(token.pk),
            url=url,
            source=source,
            type=token_type,
        )
        token.delete()
        where = f" at {url}" if url else ""
        send_security_notice(
            user,
            "API token revoked: it was found in public",
            f"The API token \u201c{token.name}\u201d of your account was found in public{where} "
            f"(reported source: {source or 'unknown'}) and has been revoked. Anyone who copied "
            "it can no longer use it. Remove it from where it was published, create a new "
            "token, and check the security history of your account and your projects for "
            "uploads you did not make.",
        )


def tokens_of(user: User) -> list[Token]:
    return list(Token.objects.filter(user=user))


def token_of(user: User, token_id: object) -> Token | None:
    """One of ``user``'s tokens by id; ``None`` for anyone else's, or for an id that is not one."""
    pk = _uuid_or_none(str(token_id))
    return Token.objects.filter(user=user, pk=pk).first() if pk else None
