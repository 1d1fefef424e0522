"""Minting and verifying API tokens as macaroons.

A token is ``bastion-`` followed by the base64url V2 serialisation of a macaroon whose
identifier is the :class:`~bastion.tokens.models.Token` row's id. Its root key is derived from
the server's secret and the identifier (HKDF, then HMAC, through PyCA cryptography), so the
database holds nothing from which a token could be rebuilt. Caveats are JSON arrays::

    [0, expires_at, not_before]      validity window, epoch seconds
    [1, ["name", ...]]               only these (normalised) projects
    [3, user_id]                     only for this user
    [5]                              upload only: never create a project

A holder may add caveats to attenuate a token offline; any caveat this server does not
understand denies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from pymacaroons import MACAROON_V2, Macaroon, Verifier
from pymacaroons.exceptions import MacaroonException

PREFIX = "bastion-"
LOCATION = "bastion"

CAVEAT_EXPIRY = 0
CAVEAT_PROJECTS = 1
CAVEAT_USER = 3
CAVEAT_UPLOAD_ONLY = 5


class TokenError(Exception):
    """The presented token is not valid; ``str(exc)`` says why, for the client."""


@dataclass
class Context:
    """What a token is being used for; ``project`` is a normalised name or None."""

    user_id: int
    action: str
    project: str | None = None
    creating_project: bool = False
    now: float = field(default_factory=time.time)


def _root_key(identifier: str) -> bytes:
    base = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"bastion api token root key v1"
    ).derive(settings.SECRET_KEY.encode())
    mac = hmac.HMAC(base, hashes.SHA256())
    mac.update(identifier.encode())
    return mac.finalize()


def mint(identifier: str, caveats: list[list[Any]]) -> str:
    macaroon = Macaroon(
        location=LOCATION, identifier=identifier, key=_root_key(identifier), version=MACAROON_V2
    )
    for caveat in caveats:
        macaroon.add_first_party_caveat(json.dumps(caveat, separators=(",", ":")))
    return PREFIX + macaroon.serialize()


def parse(token: str) -> Macaroon:
    """Decode a token string without verifying it."""
    if not token.startswith(PREFIX):
        raise TokenError("Invalid API Token: token does not start with 'bastion-'")
    try:
        return Macaroon.deserialize(token[len(PREFIX) :])
    except Exception as exc:  # pymacaroons raises bare ``Exception`` on truncated input, too
        raise TokenError("Invalid API Token: the token could not be decoded") from exc


def identifier_of(macaroon: Macaroon) -> str:
    """The identifier (a token row's id), or :class:`TokenError` if it is not text: a token
    minted here has a UUID there, and anything else is a forged or mangled string."""
    ident = macaroon.identifier
    if isinstance(ident, bytes):
        try:
            return ident.decode()
        except UnicodeDecodeError as exc:
            raise TokenError("Invalid API Token: the token could not be decoded") from exc
    return str(ident)


def check_caveat(caveat: list[Any], ctx: Context) -> str | None:
    """Return why ``caveat`` fails for ``ctx``, or None when it is satisfied."""
    if not isinstance(caveat, list) or not caveat or not isinstance(caveat[0], int):
        return "unknown caveat"
    tag = caveat[0]
    if tag == CAVEAT_EXPIRY:
        if len(caveat) != 3 or not all(isinstance(v, int | float) for v in caveat[1:]):
            return "malformed expiry caveat"
        expires, not_before = caveat[1], caveat[2]
        if ctx.now >= expires:
            return "token is expired"
        if ctx.now < not_before:
            return "token is not yet valid"
        return None
    if tag == CAVEAT_PROJECTS:
        if len(caveat) != 2 or not isinstance(caveat[1], list):
            return "malformed project caveat"
        if ctx.creating_project:
            return "project-scoped token cannot create new projects"
        if ctx.project is not None and ctx.project not in caveat[1]:
            return f"project-scoped token is not valid for project: '{ctx.project}'"
        return None
    if tag == CAVEAT_USER:
        if len(caveat) != 2 or caveat[1] != ctx.user_id:
            return "token is not valid for this user"
        return None
    if tag == CAVEAT_UPLOAD_ONLY:
        if len(caveat) != 1:
            return "malformed upload-only caveat"
        if ctx.creating_project:
            return "upload-only token cannot create new projects"
        if ctx.action != "upload":
            return "upload-only token cannot be used for this action"
        return None
    return "unknown caveat"


def verify(macaroon: Macaroon, server_caveats: list[list[Any]], ctx: Context) -> None:
    """Check the signature chain and every caveat, the token's and the server's own.

    Raises :class:`TokenError` with PyPI's "Invalid API Token: ..." wording on failure.
    """
    failures: list[str] = []

    def satisfy(predicate: str) -> bool:
        try:
            caveat = json.loads(predicate)
        except (ValueError, TypeError):
            failures.append("unknown caveat")
            return False
        reason = check_caveat(caveat, ctx)
        if reason:
            failures.append(reason)
            return False
        return True

    for caveat in server_caveats:
        reason = check_caveat(caveat, ctx)
        if reason:
            raise TokenError(f"Invalid API Token: {reason}")
    verifier = Verifier()
    verifier.satisfy_general(satisfy)
    try:
        ok = verifier.verify(macaroon, _root_key(identifier_of(macaroon)))
    except MacaroonException as exc:
        reason = failures[0] if failures else "invalid signature"
        raise TokenError(f"Invalid API Token: {reason}") from exc
    except Exception as exc:  # pymacaroons raises bare errors on malformed input
        raise TokenError("Invalid API Token: the token could not be verified") from exc
    if not ok:
        raise TokenError("Invalid API Token: invalid signature")


def is_derived(macaroon: Macaroon) -> bool:
    """True when the signature chain proves ``macaroon`` was minted here, possibly attenuated
    afterwards, whatever its caveats say: used to recognise a leaked token, never to grant."""
    verifier = Verifier()
    verifier.satisfy_general(lambda _predicate: True)
    try:
        return bool(verifier.verify(macaroon, _root_key(identifier_of(macaroon))))
    except Exception:  # pymacaroons raises bare errors on malformed input
        return False


def token_digest(token: str) -> str:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(token.encode())
    return digest.finalize().hex()
