"""The one place that decides "may this identity do this?".

Deny by default: an action is allowed only when a rule below grants it. Views, the upload
pipeline and the command line ask :func:`authorize` and act on its :class:`Decision`; none of
them inspect roles or token caveats themselves. ``tests/tokens/test_policy_matrix.py`` checks
every action against every kind of identity from one table.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bastion.accounts.models import has_two_factor
from bastion.config import current
from bastion.packages import services as packages
from bastion.packages.models import Project, Role
from bastion.tokens import macaroons

if TYPE_CHECKING:
    from pymacaroons import Macaroon

    from bastion.accounts.models import User
    from bastion.tokens.models import Token

INVALID_AUTH = "Invalid or non-existent authentication information."


class Action(enum.StrEnum):
    UPLOAD = "upload"
    CREATE_PROJECT = "create-project"
    YANK = "yank"
    DELETE = "delete"
    MANAGE_ROLES = "manage-roles"
    CREATE_TOKEN = "create-token"  # noqa: S105 - an action name, not a secret
    ADMIN = "admin"


#: What each project role may do on its project.
ROLE_GRANTS: dict[str, frozenset[Action]] = {
    Role.OWNER: frozenset({Action.UPLOAD, Action.YANK, Action.DELETE, Action.MANAGE_ROLES}),
    Role.MAINTAINER: frozenset({Action.UPLOAD}),
}
#: The only actions an API token can ever be used for.
TOKEN_GRANTS = frozenset({Action.UPLOAD, Action.CREATE_PROJECT})
PROJECT_ACTIONS = frozenset({Action.UPLOAD, Action.YANK, Action.DELETE, Action.MANAGE_ROLES})
#: Actions that need a second factor on the account while ``BASTION_REQUIRE_2FA`` is on (as
#: PyPI: no uploads, no management, no tokens without 2FA). Setting 2FA up needs none, of course.
MFA_ACTIONS = frozenset(Action)
#: Actions that need a verified email address (someone to tell when a token leaks or a file is held).
VERIFIED_EMAIL_ACTIONS = frozenset({Action.UPLOAD, Action.CREATE_PROJECT, Action.CREATE_TOKEN})
HELP = "https://pypi.org/help/"


class IdentityKind(enum.StrEnum):
    ANONYMOUS = "anonymous"
    SESSION = "session"
    TOKEN = "token"  # noqa: S105 - an identity kind, not a secret


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    user: User | None = None
    token: Token | None = None
    macaroon: Macaroon | None = None


ANONYMOUS = Identity(IdentityKind.ANONYMOUS)


def session_identity(user: User | None) -> Identity:
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    return Identity(IdentityKind.SESSION, user=user)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def second_factor_required() -> bool:
    """``BASTION_REQUIRE_2FA``: pages that warn about a missing factor ask here too."""
    return current().require_2fa


def lacks_required_second_factor(user: User) -> bool:
    return second_factor_required() and not has_two_factor(user)


def authorize(identity: Identity, action: Action, project: Project | None = None) -> Decision:
    user = identity.user
    if identity.kind is IdentityKind.ANONYMOUS or user is None:
        return _deny(INVALID_AUTH)
    if not user.is_active or user.is_frozen:
        return _deny(INVALID_AUTH)
    if action in PROJECT_ACTIONS and project is None:
        return _deny("This action needs a project.")
    if action in VERIFIED_EMAIL_ACTIONS and not user.email_verified:
        if identity.kind is IdentityKind.TOKEN:
            return _deny(
                f"User '{user.username}', associated with the API token used, does not have a "
                "verified primary email address. Please add a verified primary email before "
                f"attempting to upload. See {HELP}#verified-email for more information."
            )
        return _deny("Verify your email address first: the link is in the email we sent you.")
    if action in MFA_ACTIONS and lacks_required_second_factor(user):
        if identity.kind is IdentityKind.TOKEN:
            return _deny(
                f"User '{user.username}', associated with the API token used, does not have "
                "two-factor authentication enabled. Please enable two-factor authentication "
                f"before attempting to upload. See {HELP}#two-factor-authentication for more "
                "information."
            )
        return _deny(
            "Two-factor authentication is required: set up an authenticator app or a security "
            "key on your account page first."
        )

    if identity.kind is IdentityKind.TOKEN:
        if action not in TOKEN_GRANTS:
            return _deny(f"API tokens are not valid for permission: {action}")
        if identity.token is None or identity.macaroon is None:
            return _deny(INVALID_AUTH)
        ctx = macaroons.Context(
            user_id=user.pk,
            action=str(action),
            project=project.normalized_name if project is not None else None,
            creating_project=action is Action.CREATE_PROJECT,
        )
        try:
            macaroons.verify(identity.macaroon, identity.token.caveats, ctx)
        except macaroons.TokenError as exc:
            return _deny(str(exc))

    if action is Action.ADMIN:
        if identity.kind is IdentityKind.SESSION and user.is_superuser:
            return ALLOW
        return _deny("Administrators only.")
    if action is Action.CREATE_PROJECT:
        return ALLOW
    if action is Action.CREATE_TOKEN:
        return (
            ALLOW
            if identity.kind is IdentityKind.SESSION
            else _deny("Tokens can only be created from a logged-in session or the command line.")
        )
    assert project is not None
    role = packages.role_of(user, project)
    if role is not None and action in ROLE_GRANTS.get(role, frozenset()):
        return ALLOW
    if identity.kind is IdentityKind.SESSION and user.is_superuser and action is not Action.UPLOAD:
        return ALLOW
    if action is Action.UPLOAD:
        if identity.kind is IdentityKind.TOKEN:
            return _deny(f"The given token isn't allowed to upload to project '{project.name}'.")
        return _deny(
            f"The user '{user.username}' isn't allowed to upload to project '{project.name}'."
        )
    return _deny(
        f"The user '{user.username}' isn't allowed to {action} on project '{project.name}'."
    )
