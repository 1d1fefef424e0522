"""What every URL of the site needs, by the URL's name: an :class:`~bastion.authz.policy.Action`
(or the few a route can be asked for), or one of the two kinds of route that no permission
guards (:class:`Open`).

A view asks :func:`~bastion.authz.policy.authorize` for the action declared here; the
declaration is what ``tests/web/test_authorization_matrix.py`` derives each identity's expected
answer from, walking the URL configuration, so a URL added without an entry here fails the
suite, and so does a view that lets through someone its declared action does not.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from bastion.authz.policy import Action


class Open(enum.Enum):
    """Routes that no permission guards."""

    #: Anyone, signed in or not: the index, project pages, logging in, recovering an account.
    PUBLIC = "public"
    #: Authenticated by a secret the request itself carries (an emailed link, a partner's
    #: signature, a security key's assertion); no session or token counts.
    SECRET = "secret"  # noqa: S105 - a kind of route, not a secret


Requirement = Action | Open | frozenset[Action]

A = Action
#: URL name (``admin`` for the whole admin site) -> what it needs. Deny by default: a name that
#: is not here has no declared access, which the matrix test refuses.
ROUTES: Mapping[str, Requirement] = {
    # the upload API: a token's UPLOAD, or CREATE_PROJECT for a project's first file
    "upload": frozenset({A.UPLOAD, A.CREATE_PROJECT}),
    # project management
    "manage-project": A.MANAGE_PROJECT,
    "release-yank": A.YANK,
    "release-unyank": A.YANK,
    "file-delete": A.DELETE,
    "release-delete": A.DELETE,
    "project-delete": A.DELETE,
    "role-invite": frozenset({A.MANAGE_ROLES, A.ADD_OWNER}),
    "role-invitation-revoke": A.MANAGE_ROLES,
    "role-change": frozenset({A.MANAGE_ROLES, A.ADD_OWNER}),
    "role-remove": A.MANAGE_ROLES,
    # tokens
    "token-create": frozenset({A.CREATE_TOKEN, A.SCOPE_TOKEN}),
    "token-revoke": A.MANAGE_ACCOUNT,
    "token-revoke-all": A.MANAGE_ACCOUNT,
    # one's own account (and one's own roles and invitations)
    "account": A.MANAGE_ACCOUNT,
    "role-leave": A.MANAGE_ACCOUNT,
    "invitation-accept": A.MANAGE_ACCOUNT,
    "invitation-decline": A.MANAGE_ACCOUNT,
    "account-reauth": A.MANAGE_ACCOUNT,
    "account-2fa": A.MANAGE_ACCOUNT,
    "account-2fa-totp": A.MANAGE_ACCOUNT,
    "account-2fa-totp-remove": A.MANAGE_ACCOUNT,
    "account-2fa-webauthn-add": A.MANAGE_ACCOUNT,
    "account-2fa-webauthn-remove": A.MANAGE_ACCOUNT,
    "account-2fa-recovery-generate": A.MANAGE_ACCOUNT,
    "account-2fa-recovery-codes": A.MANAGE_ACCOUNT,
    "webauthn-register-options": A.MANAGE_ACCOUNT,
    "webauthn-register-verify": A.MANAGE_ACCOUNT,
    "email-resend": A.MANAGE_ACCOUNT,
    "email-change": A.MANAGE_ACCOUNT,
    "password-change": A.MANAGE_ACCOUNT,
    # administration
    "admin": A.ADMIN,
    # secrets carried by the request
    "disclose-token": Open.SECRET,
    "disclose-token-github": Open.SECRET,
    "webauthn-auth-verify": Open.SECRET,
    "email-verify": Open.SECRET,
    "email-change-confirm": Open.SECRET,
    "password-reset-confirm": Open.SECRET,
    # public
    "simple-index": Open.PUBLIC,
    "simple-detail": Open.PUBLIC,
    "package-file": Open.PUBLIC,
    "json-project": Open.PUBLIC,
    "json-release": Open.PUBLIC,
    "legacy-without-slash": Open.PUBLIC,
    "static": Open.PUBLIC,
    "home": Open.PUBLIC,
    "check-name": Open.PUBLIC,
    "help": Open.PUBLIC,
    "project": Open.PUBLIC,
    "release": Open.PUBLIC,
    "login": Open.PUBLIC,
    "login-2fa": Open.PUBLIC,
    "logout": Open.PUBLIC,
    "webauthn-auth-options": Open.PUBLIC,
    "register": Open.PUBLIC,
    "password-reset": Open.PUBLIC,
    "password-reset-done": Open.PUBLIC,
    "password-reset-complete": Open.PUBLIC,
}


def requirement(url_name: str) -> Requirement | None:
    """What the URL called ``url_name`` needs; ``None`` when nothing was declared."""
    return ROUTES.get(url_name)


def actions_of(requirement: Requirement) -> frozenset[Action]:
    """The actions a route may be asked for (none for an :class:`Open` route)."""
    if isinstance(requirement, Open):
        return frozenset()
    if isinstance(requirement, Action):
        return frozenset({requirement})
    return requirement
