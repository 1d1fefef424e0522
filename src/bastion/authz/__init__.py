"""Authorisation: the one domain that decides "may this identity do this?".

:func:`authorize` takes an :class:`Identity` (anonymous, a session, an API token), an
:class:`Action` and, for project actions, the project, and answers a :class:`Decision` with the
reason for a refusal. Sessions, tokens and their caveats, project roles, administrators, the
second-factor and verified-email requirements and re-authentication freshness are all decided
here; :mod:`bastion.authz.routes` declares what every URL needs.
"""

from bastion.authz.policy import (
    ANONYMOUS,
    INVALID_AUTH,
    Action,
    Decision,
    Identity,
    IdentityKind,
    Remedy,
    authorize,
    granting,
    is_fresh,
    lacks_required_second_factor,
    may_sign_in,
    reauth_window,
    second_factor_required,
    session_identity,
)

__all__ = [
    "ANONYMOUS",
    "INVALID_AUTH",
    "Action",
    "Decision",
    "Identity",
    "IdentityKind",
    "Remedy",
    "authorize",
    "granting",
    "is_fresh",
    "lacks_required_second_factor",
    "may_sign_in",
    "reauth_window",
    "second_factor_required",
    "session_identity",
]
