"""The one place that decides "may this identity do this?".

Deny by default: an action is allowed only when a rule below grants it. Views, the upload
pipeline, the command line and the admin site ask :func:`authorize` and act on its
:class:`Decision`; none of them compare roles, account flags or token caveats themselves
(``tests/authz/test_no_decisions_elsewhere.py`` greps for it). Whether a token's macaroon is
genuine and which caveats it carries is :mod:`bastion.tokens.macaroons`' business; whether
those caveats let it do *this* action is decided here. ``tests/tokens/test_policy_matrix.py``
checks every action against every kind of identity from one table.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bastion.accounts.models import has_two_factor
from bastion.config import current
from bastion.helppage import HELP
from bastion.packages import services as packages
from bastion.packages.models import Project, Role
from bastion.tokens import macaroons

if TYPE_CHECKING:
    from pymacaroons import Macaroon

    from bastion.accounts.models import User
    from bastion.tokens.models import Token

INVALID_AUTH = "Invalid or non-existent authentication information."


class Action(enum.StrEnum):
    """What people do, each asked of :func:`authorize` by name."""

    #: Upload a file to an existing project (twine, uv publish).
    UPLOAD = "upload"
    #: Register a new project by uploading its first file.
    CREATE_PROJECT = "create-project"
    #: Yank or un-yank a release.
    YANK = "yank"
    #: Delete a project, a release or a file.
    DELETE = "delete"
    #: See a project's management page (its releases, collaborators and security history).
    MANAGE_PROJECT = "manage-project"
    #: Invite, change and remove collaborators.
    MANAGE_ROLES = "manage-roles"
    #: Make someone an owner: it hands the project over, so it needs a recent re-authentication.
    ADD_OWNER = "add-owner"
    #: Name a project in an API token's scope.
    SCOPE_TOKEN = "scope-token"  # noqa: S105 - an action name, not a secret
    #: Issue an API token.
    CREATE_TOKEN = "create-token"  # noqa: S105 - an action name, not a secret
    #: Look after one's own account: its pages, second factors, email, tokens and roles.
    MANAGE_ACCOUNT = "manage-account"
    #: Use the admin site (moderation).
    ADMIN = "admin"


#: What each project role may do on its project.
ROLE_GRANTS: dict[str, frozenset[Action]] = {
    Role.OWNER: frozenset(
        {
            Action.UPLOAD,
            Action.YANK,
            Action.DELETE,
            Action.MANAGE_PROJECT,
            Action.MANAGE_ROLES,
            Action.ADD_OWNER,
            Action.SCOPE_TOKEN,
        }
    ),
    Role.MAINTAINER: frozenset({Action.UPLOAD, Action.SCOPE_TOKEN}),
}
#: What administrators may do on any project, as moderators: never upload into it, nor put it
#: in a token of theirs.
MODERATION = frozenset(
    {Action.YANK, Action.DELETE, Action.MANAGE_PROJECT, Action.MANAGE_ROLES, Action.ADD_OWNER}
)
#: The only actions an API token can ever be used for.
TOKEN_GRANTS = frozenset({Action.UPLOAD, Action.CREATE_PROJECT})
PROJECT_ACTIONS = frozenset(ROLE_GRANTS[Role.OWNER])
#: Actions that need a second factor on the account while ``BASTION_REQUIRE_2FA`` is on (as
#: PyPI: no uploads, no management, no tokens without 2FA). Looking after one's own account
#: needs none: that is where the factor is set up.
MFA_ACTIONS = frozenset(Action) - {Action.MANAGE_ACCOUNT}
#: Actions that need a verified email address (someone to tell when a token leaks or a file is held).
VERIFIED_EMAIL_ACTIONS = frozenset({Action.UPLOAD, Action.CREATE_PROJECT, Action.CREATE_TOKEN})
#: Actions that a session may take only shortly after proving again who it is.
REAUTH_ACTIONS = frozenset({Action.ADD_OWNER})
#: How a refusal names an action when not by its value: the management page's refusal has
#: always said "to yank" (the page was asked as YANK), and what people read stays as it was.
_REFUSED_AS: dict[Action, str] = {Action.MANAGE_PROJECT: str(Action.YANK)}


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
    #: When a session last proved who it is (a Unix time), for :data:`REAUTH_ACTIONS`.
    reauthenticated_at: int | None = None


ANONYMOUS = Identity(IdentityKind.ANONYMOUS)


def session_identity(user: User | None, *, reauthenticated_at: int | None = None) -> Identity:
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    return Identity(IdentityKind.SESSION, user=user, reauthenticated_at=reauthenticated_at)


class Remedy(enum.StrEnum):
    """What the account itself can do about a refusal: pages show the way (a link to set up
    two-factor authentication) instead of a dead end."""

    #: ``BASTION_REQUIRE_2FA`` and the account has no second factor yet.
    SECOND_FACTOR = "second-factor"
    #: The action needs a verified email address.
    VERIFY_EMAIL = "verify-email"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""
    #: Denied only because the session must prove again who it is: the caller sends it to the
    #: re-authentication prompt rather than refusing.
    reauthenticate: bool = False
    #: Denied until the account does this; ``None`` when nothing the user does would help.
    remedy: Remedy | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _deny(reason: str, remedy: Remedy | None = None) -> Decision:
    return Decision(False, reason, remedy=remedy)


def second_factor_required() -> bool:
    """``BASTION_REQUIRE_2FA``: pages that warn about a missing factor ask here too."""
    return current().require_2fa


def lacks_required_second_factor(user: User) -> bool:
    return second_factor_required() and not has_two_factor(user)


def may_sign_in(user: Any) -> bool:
    """An active account that no administrator froze: the only kind that may log in, reset
    its password or be acted for. A frozen account must not get back in by any door."""
    return bool(user.is_active and not getattr(user, "is_frozen", False))


def reauth_window() -> int:
    """``BASTION_REAUTH_SECONDS``: how long a proof of identity counts as recent."""
    return current().reauth_seconds


def is_fresh(reauthenticated_at: object, now: float | None = None) -> bool:
    """Whether a session that last proved who it is at ``reauthenticated_at`` (a Unix time, or
    anything else when it never did) still counts as having done so just now."""
    if not isinstance(reauthenticated_at, int):
        return False
    elapsed = (time.time() if now is None else now) - reauthenticated_at
    return 0 <= elapsed <= reauth_window()


def granting(role_name: str) -> Action:
    """The action that giving ``role_name`` to someone is: ownership hands the project over."""
    return Action.ADD_OWNER if role_name == Role.OWNER else Action.MANAGE_ROLES


def authorize(identity: Identity, action: Action, project: Project | None = None) -> Decision:
    user = identity.user
    if identity.kind is IdentityKind.ANONYMOUS or user is None:
        return _deny(INVALID_AUTH)
    if not may_sign_in(user):
        return _deny(INVALID_AUTH)
    if action in PROJECT_ACTIONS and project is None:
        return _deny("This action needs a project.")
    if action in VERIFIED_EMAIL_ACTIONS and not user.email_verified:
        if identity.kind is IdentityKind.TOKEN:
            return _deny(
                f"User '{user.username}', associated with the API token used, does not have a "
                "verified primary email address. Please add a verified primary email before "
                f"attempting to upload. See {HELP}#verified-email for more information.",
                Remedy.VERIFY_EMAIL,
            )
        return _deny(
            "Verify your email address first: the link is in the email we sent you.",
            Remedy.VERIFY_EMAIL,
        )
    if action in MFA_ACTIONS and lacks_required_second_factor(user):
        if identity.kind is IdentityKind.TOKEN:
            return _deny(
                f"User '{user.username}', associated with the API token used, does not have "
                "two-factor authentication enabled. Please enable two-factor authentication "
                f"before attempting to upload. See {HELP}#two-factor-authentication for more "
                "information.",
                Remedy.SECOND_FACTOR,
            )
        return _deny(
            "Two-factor authentication is required: set up an authenticator app or a security "
            "key on your account page first.",
            Remedy.SECOND_FACTOR,
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

    if action is Action.MANAGE_ACCOUNT:
        return ALLOW  # a session: tokens were refused above
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
    decision = _project_grant(identity, user, action, project)
    if decision and action in REAUTH_ACTIONS and not is_fresh(identity.reauthenticated_at):
        return Decision(
            False, "Confirm it is you first: this change needs it.", reauthenticate=True
        )
    return decision


def _project_grant(identity: Identity, user: User, action: Action, project: Project) -> Decision:
    role = packages.role_of(user, project)
    if role is not None and action in ROLE_GRANTS.get(role, frozenset()):
        return ALLOW
    if identity.kind is IdentityKind.SESSION and user.is_superuser and action in MODERATION:
        return ALLOW
    if action is Action.UPLOAD:
        if identity.kind is IdentityKind.TOKEN:
            return _deny(f"The given token isn't allowed to upload to project '{project.name}'.")
        return _deny(
            f"The user '{user.username}' isn't allowed to upload to project '{project.name}'."
        )
    if action is Action.SCOPE_TOKEN:
        return _deny(f"You have no role on project '{project.name}'.")
    verb = _REFUSED_AS.get(action, str(action))
    return _deny(f"The user '{user.username}' isn't allowed to {verb} on project '{project.name}'.")
