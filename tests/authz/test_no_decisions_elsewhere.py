"""No module but :mod:`bastion.authz` decides access from roles or account flags.

Reads every module of ``src/bastion`` (outside ``authz/`` and the migrations) as a syntax
tree and reports each place that reads what access is decided from: the superuser/staff,
frozen, active and verified-email flags, a second factor's presence, a comparison with a
project role, a look-up of someone's role, or the 2FA and re-authentication settings. Writing a
flag (``user.email_verified = True``) or filtering a query by one is not reported. The few
readers that are not access decisions are listed in :data:`ALLOWED`, each with its reason;
anything else fails.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import bastion

SRC = Path(bastion.__file__).parent

#: Account attributes that access is decided from.
FLAGS = frozenset(
    {"is_superuser", "is_staff", "is_frozen", "is_active", "email_verified", "has_totp"}
)
#: Functions whose answer decides access when a caller branches on it.
ROLE_AND_FACTOR_CALLS = frozenset({"has_two_factor", "role_of"})
ROLE_NAMES = frozenset({"OWNER", "MAINTAINER"})
ROLE_VALUES = frozenset({"owner", "maintainer"})
SETTINGS = frozenset(
    {"BASTION_REQUIRE_2FA", "BASTION_REAUTH_SECONDS", "require_2fa", "reauth_seconds"}
)


@dataclass(frozen=True, order=True)
class Finding:
    path: str  # relative to src/bastion
    function: str  # the enclosing function or class, "" at module level
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.function or '<module>'}: {self.what}"


#: (path, enclosing function, what) -> why it is not an access decision.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("accounts/backends.py", "user_can_authenticate", "reads is_frozen"): (
        "authentication: Django's backend hook says whether a password may log in; accounts "
        "is below authz, and test_backend_agrees_with_authz holds the two to one rule"
    ),
    ("accounts/emails.py", "_state", "reads email_verified"): (
        "part of the state an emailed link is signed over, so a used link dies"
    ),
    ("accounts/emails.py", "_state", "reads is_active"): (
        "part of the state an emailed link is signed over, so a used link dies"
    ),
    ("accounts/emails.py", "read_token", "reads is_active"): (
        "a link's validity (accounts is below authz): the link of a closed account is void"
    ),
    ("accounts/emails.py", "read_token", "reads is_frozen"): (
        "a link's validity (accounts is below authz): the link of a frozen account is void"
    ),
    # Managing the second factors themselves, by function (a new function is checked): whether
    # a code can be checked, which factor is the first or the last, how many a reset removed.
    **{
        (path, function, what): "managing the second factors themselves, not access"
        for path, function, what in (
            ("accounts/mfa.py", "check_totp", "reads has_totp"),
            ("accounts/mfa.py", "disable_totp", "calls has_two_factor"),
            ("accounts/mfa.py", "enable_totp", "reads has_totp"),
            ("accounts/mfa.py", "lacks_recovery_codes", "calls has_two_factor"),
            ("accounts/mfa.py", "reset_two_factor", "reads has_totp"),
            ("accounts/webauthn.py", "remove_credential", "calls has_two_factor"),
        )
    },
    ("packages/roles.py", "invite", "reads is_active"): (
        "who may *receive* a role (the invitee), checked under the project's lock; whether "
        "the caller may invite is authz's MANAGE_ROLES"
    ),
    ("packages/roles.py", "invite", "reads is_frozen"): (
        "who may *receive* a role (the invitee), checked under the project's lock"
    ),
    ("packages/roles.py", "invite", "reads email_verified"): (
        "who may *receive* a role (the invitee), checked under the project's lock"
    ),
    ("packages/roles.py", "_keep_an_owner", "compares with Role.OWNER"): (
        "the last-owner invariant: what is possible, not who may ask"
    ),
    ("web/account/email_views.py", "email_resend", "reads email_verified"): (
        "whether a verification email is still worth sending, not access"
    ),
    ("web/account/login.py", "form_valid", "calls has_two_factor"): (
        "authentication: whether the password is the last step of logging in"
    ),
    (
        "web/account/login.py",
        "login_two_factor",
        "reads has_totp",
    ): "which second-step form to show",
    # The pages that set second factors up, by function (a new page is checked): which forms
    # and notices to show, and which proof re-authentication asks; the factor required for
    # access is authz's.
    **{
        ("web/twofactor/views.py", function, what): "setting up second factors, not access"
        for function, what in (
            ("account_status", "calls has_two_factor"),
            ("reauth", "calls has_two_factor"),
            ("reauth", "reads has_totp"),
            ("recovery_generate", "calls has_two_factor"),
            ("totp_enrol", "calls has_two_factor"),
            ("totp_enrol", "reads has_totp"),
            ("totp_remove", "reads has_totp"),
            ("two_factor", "reads has_totp"),
            ("webauthn_register_verify", "calls has_two_factor"),
        )
    },
}


def _findings_in(path: Path) -> list[Finding]:
    rel = path.relative_to(SRC).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Finding] = []

    def visit(node: ast.AST, scope: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope = node.name
        what = _what(node)
        if what is not None:
            found.append(Finding(rel, scope, what))
        for child in ast.iter_child_nodes(node):
            visit(child, scope)

    visit(tree, "")
    return found


def _what(node: ast.AST) -> str | None:
    """What ``node`` reads that access is decided from, if anything."""
    if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        if node.attr in FLAGS:
            return f"reads {node.attr}"
        if node.attr in SETTINGS:
            return f"reads {node.attr}"
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "getattr" and len(node.args) >= 2:
            attr = node.args[1]
            if isinstance(attr, ast.Constant) and attr.value in FLAGS | SETTINGS:
                return f"reads {attr.value}"
        # The scanner has a role_of of its own (a file's role in a package): only the packages
        # domain's, reached as an attribute or imported by name from it, is someone's role.
        if name in ROLE_AND_FACTOR_CALLS and (name != "role_of" or isinstance(func, ast.Attribute)):
            return f"calls {name}"
    if isinstance(node, ast.Compare):
        # A role compared with one role is a decision; checking that a name is one of the
        # roles (``in (Role.OWNER, Role.MAINTAINER)``) is validation, and is not reported.
        for side in (node.left, *node.comparators):
            if (
                isinstance(side, ast.Attribute)
                and side.attr in ROLE_NAMES
                and isinstance(side.value, ast.Name)
                and side.value.id == "Role"
            ):
                return f"compares with Role.{side.attr}"
            if isinstance(side, ast.Constant) and side.value in ROLE_VALUES:
                return f"compares with {side.value!r}"
    return None


def _scanned() -> list[Path]:
    # admin.py, models.py and the settings are read too: ``accounts/admin.py`` holds views
    # of its own, and a model property is as much a decision as a view's ``if``.
    skipped_dirs = {"authz", "migrations"}
    return sorted(
        p for p in SRC.rglob("*.py") if not skipped_dirs & set(p.relative_to(SRC).parts[:-1])
    )


def _allowed(finding: Finding) -> bool:
    # Each exception names its function and what it reads: no module is excused as a whole.
    return (finding.path, finding.function, finding.what) in ALLOWED


def all_findings() -> list[Finding]:
    return sorted(f for path in _scanned() for f in _findings_in(path))


def test_no_module_but_authz_decides_access() -> None:
    offending = [str(f) for f in all_findings() if not _allowed(f)]
    assert not offending, (
        "access decided outside bastion.authz (ask authz.authorize, or add to ALLOWED with "
        "the reason it is not an access decision):\n" + "\n".join(offending)
    )


def test_every_allowed_exception_is_still_needed() -> None:
    found = all_findings()
    found_keys = {(f.path, f.function, f.what) for f in found}
    stale = [key for key in ALLOWED if key not in found_keys]
    assert not stale, f"exceptions for code that is gone: {stale}"


def _offends(source: str) -> list[str]:
    """What the check reports in ``source``, as if it were a module of its own."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        what = _what(node)
        if what is not None:
            found.append(what)
    return found


def test_the_check_sees_decisions_and_not_declarations() -> None:
    assert _offends("if role == Role.OWNER: pass") == ["compares with Role.OWNER"]
    assert _offends("ok = request.user.is_superuser") == ["reads is_superuser"]
    assert _offends("ok = getattr(user, 'is_frozen', False)") == ["reads is_frozen"]
    assert _offends("if packages.role_of(user, p) is None: pass") == ["calls role_of"]
    assert _offends("if not has_two_factor(user): pass") == ["calls has_two_factor"]
    assert _offends("if form.role_name != 'owner': pass") == ["compares with 'owner'"]
    assert _offends("w = settings.BASTION_REAUTH_SECONDS") == ["reads BASTION_REAUTH_SECONDS"]
    # Writing a flag, filtering a query by one, or the scanner's file roles: not decisions.
    assert _offends("user.email_verified = True") == []
    assert _offends("User.objects.filter(is_superuser=True, role_name=Role.OWNER)") == []
    assert _offends("kind = role_of(relpath)") == []
    assert _offends("if role_name not in (Role.OWNER, Role.MAINTAINER): pass") == []
