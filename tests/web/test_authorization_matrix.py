"""Every endpoint x every kind of identity -> allowed or denied, derived from what each route
declares.

``test_every_route_declares_its_access`` walks the URL configuration: every URL must have an
entry in :data:`bastion.authz.routes.ROUTES` (an action, or one of the open kinds) and a request
here that exercises it. Who must get through is not written here: it is what
:func:`bastion.authz.authorize` answers for each identity and the route's declared action (the
function itself is tested as a matrix in ``tests/tokens/test_policy_matrix.py``), narrowed to
the owner of the thing a request names (one's own token, key, invitation or role). Everybody
else must be refused (401/403/404, or sent to the login page), and a refused request must
change nothing. So a view that lets through someone its declared action does not fails here.

Identities, as issue 3 lists them: anonymous; a user without 2FA (who owns the project, so that
only the missing second factor refuses them); a user with 2FA and no role; the maintainer; the
owner; an administrator; the owner's API tokens: scoped to this project, scoped to another
project, expired, revoked, upload-only. Web endpoints are presented a token as HTTP Basic
credentials (they must ignore it); the upload endpoint is presented each user's own unscoped
token, since uploads never take a session.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from bastion.accounts.models import WebAuthnCredential
from bastion.authz import ANONYMOUS, Action, Identity, authorize, session_identity
from bastion.authz.policy import PROJECT_ACTIONS
from bastion.authz.routes import Open, actions_of, requirement
from bastion.packages import roles
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release, Role, RoleInvitation
from bastion.tokens import macaroons
from bastion.tokens import services as tokens
from bastion.tokens.models import Token
from bastion.web.reauth import SESSION_KEY as REAUTH_KEY
from tests import builders
from tests.web.conftest import World

pytestmark = pytest.mark.django_db

ANON = "anonymous"
NO2FA = "user without 2FA"
USER = "user with 2FA"
MAINT = "maintainer"
OWNER = "owner"
ADMIN = "admin"
T_THIS = "token for this project"
T_OTHER = "token for another project"
T_EXPIRED = "expired token"
T_REVOKED = "revoked token"
T_UPLOAD = "upload-only token"

USERS = (NO2FA, USER, MAINT, OWNER, ADMIN)
TOKENS = (T_THIS, T_OTHER, T_EXPIRED, T_REVOKED, T_UPLOAD)
IDENTITIES = (ANON, *USERS, *TOKENS)
NOBODY: frozenset[str] = frozenset()
EVERYONE = frozenset(IDENTITIES)


@dataclass
class Setup:
    world: World
    users: dict[str, Any]
    user_tokens: dict[str, str]  # each user's own unscoped token (for the upload endpoint)
    owner_tokens: dict[str, str]  # the owner's special tokens, by identity name
    invitation: RoleInvitation
    own_token: Token  # one of the owner's tokens, to revoke
    owner_key: int  # the owner's WebAuthn credential


@dataclass(frozen=True)
class Row:
    """One request against one endpoint. Who may make it follows from the route's declaration."""

    method: str
    path: Callable[[Setup], str]
    data: Callable[[Setup], dict[str, Any]] = field(default=lambda s: {})
    #: Which of the route's declared actions this request asks for (when it declares several).
    action: Action | None = None
    token_auth: bool = False  # the upload API: users present their own token
    #: The request names something of one person's (a token, a key, an invitation, a role):
    #: only they can act on it, whatever else they may do.
    mine: frozenset[str] | None = None
    #: The request carries a secret nobody has (a forged link, no challenge asked first):
    #: everyone is refused.
    forged: bool = False


def _dist(setup: Setup, name: str, version: str) -> dict[str, Any]:
    from django.core.files.uploadedfile import SimpleUploadedFile

    dist = builders.wheel(name, version)
    payload: dict[str, Any] = {}
    for key, value in dist.fields:
        payload.setdefault(key, []).append(value)
    payload["content"] = SimpleUploadedFile(dist.filename, dist.data)
    return payload


def _file_id(setup: Setup) -> int:
    return setup.world.current_file.pk


P = "/manage/project/demo-pkg/"

#: URL name -> the requests that exercise it. Every named URL of the site must be here.
REQUESTS: dict[str, list[Row]] = {
    # -- the upload API: tokens only, never a session or a password --------------------------
    "upload": [
        # A new version of an existing project: its collaborators' tokens.
        Row(
            "POST",
            lambda s: "/legacy/",
            action=Action.UPLOAD,
            data=lambda s: _dist(s, "demo-pkg", "3.0"),
            token_auth=True,
        ),
        # A new project: anyone with 2FA and a verified email, but no project-scoped or
        # upload-only token (those never create a project).
        Row(
            "POST",
            lambda s: "/legacy/",
            action=Action.CREATE_PROJECT,
            data=lambda s: _dist(s, "matrixnew", "1.0"),
            token_auth=True,
        ),
    ],
    # -- project management (owners; administrators as moderators) ---------------------------
    "manage-project": [Row("GET", lambda s: P)],
    "release-yank": [
        Row("POST", lambda s: P + "release/1.0/yank/", data=lambda s: {"reason": "matrix"})
    ],
    "release-unyank": [Row("POST", lambda s: P + "release/0.9/unyank/")],
    "file-delete": [
        Row(
            "POST",
            lambda s: P + f"file/{_file_id(s)}/delete/",
            data=lambda s: {"confirm": s.world.current_file.filename},
        )
    ],
    "release-delete": [
        Row("POST", lambda s: P + "release/1.0/delete/", data=lambda s: {"confirm": "1.0"})
    ],
    "project-delete": [
        Row("POST", lambda s: P + "delete/", data=lambda s: {"confirm": "demo-pkg"})
    ],
    "role-invite": [
        Row(
            "POST",
            lambda s: P + "roles/invite/",
            action=Action.MANAGE_ROLES,
            data=lambda s: {"username": "ursula", "role": Role.MAINTAINER},
        )
    ],
    "role-invitation-revoke": [
        Row("POST", lambda s: P + f"roles/invitations/{s.invitation.pk}/revoke/")
    ],
    "role-change": [
        Row(
            "POST",
            lambda s: P + "roles/mallory/change/",
            action=Action.ADD_OWNER,
            data=lambda s: {"role": Role.OWNER},
        )
    ],
    "role-remove": [Row("POST", lambda s: P + "roles/mallory/remove/")],
    # Leaving is the collaborator's own decision, needing no permission but a role.
    "role-leave": [
        Row(
            "POST",
            lambda s: "/account/projects/demo-pkg/leave/",
            mine=frozenset({NO2FA, MAINT, OWNER}),
        )
    ],
    # Answering an invitation: the invitee only (the user with 2FA was invited).
    "invitation-accept": [
        Row(
            "POST",
            lambda s: f"/account/invitations/{s.invitation.pk}/accept/",
            mine=frozenset({USER}),
        )
    ],
    "invitation-decline": [
        Row(
            "POST",
            lambda s: f"/account/invitations/{s.invitation.pk}/decline/",
            mine=frozenset({USER}),
        )
    ],
    # -- tokens ----------------------------------------------------------------------------------
    "token-create": [
        Row(
            "POST",
            lambda s: "/account/tokens/new/",
            action=Action.CREATE_TOKEN,
            data=lambda s: {"name": "matrix", "project": "", "expires_days": ""},
        )
    ],
    # Revoking is always allowed to the token's owner (even without 2FA: it only takes away).
    "token-revoke": [
        Row("POST", lambda s: f"/account/tokens/{s.own_token.pk}/revoke/", mine=frozenset({OWNER}))
    ],
    "token-revoke-all": [Row("POST", lambda s: "/account/tokens/revoke-all/")],
    # -- account settings: every logged-in person, 2FA or not (that is where it is set up) -----
    "account": [Row("GET", lambda s: "/account/")],
    "account-2fa": [Row("GET", lambda s: "/account/two-factor/")],
    "account-2fa-totp": [Row("GET", lambda s: "/account/two-factor/totp/")],
    # Removing a factor one has not got is a harmless no-op (sent back to the 2FA page).
    "account-2fa-totp-remove": [Row("POST", lambda s: "/account/two-factor/totp/remove/")],
    "account-2fa-webauthn-add": [Row("GET", lambda s: "/account/two-factor/webauthn/add/")],
    # The owner's security key: nobody else can see it, let alone remove it.
    "account-2fa-webauthn-remove": [
        Row(
            "POST",
            lambda s: f"/account/two-factor/webauthn/{s.owner_key}/remove/",
            mine=frozenset({OWNER}),
        )
    ],
    # Without a factor, recovery codes make no sense: sent back with the reason (a no-op).
    "account-2fa-recovery-generate": [
        Row("POST", lambda s: "/account/two-factor/recovery-codes/generate/")
    ],
    "account-2fa-recovery-codes": [Row("GET", lambda s: "/account/two-factor/recovery-codes/")],
    "webauthn-register-options": [
        Row(
            "POST",
            lambda s: "/account/webauthn/register/options/",
            data=lambda s: {"label": "matrix key"},
        )
    ],
    "webauthn-register-verify": [
        Row("POST", lambda s: "/account/webauthn/register/verify/", forged=True)
    ],
    "account-reauth": [Row("GET", lambda s: "/account/reauth/")],
    "email-resend": [Row("POST", lambda s: "/account/email/resend/")],
    "email-change": [Row("GET", lambda s: "/account/email/change/")],
    "password-change": [Row("GET", lambda s: "/account/password/change/")],
    # -- administration: administrators with 2FA, on a session -------------------------------
    "admin": [
        Row("GET", lambda s: "/admin/"),
        Row("GET", lambda s: "/admin/accounts/user/"),
        Row("GET", lambda s: "/admin/packages/file/"),
    ],
    # -- leaked-token disclosure: authenticated by a partner's signature, never by a user -----
    "disclose-token": [Row("POST", lambda s: "/_/secrets/disclose-token", forged=True)],
    "disclose-token-github": [Row("POST", lambda s: "/_/github/disclose-token", forged=True)],
    # -- public: reading the index and the pages, logging in, recovering an account ------------
    "simple-index": [Row("GET", lambda s: "/simple/")],
    "simple-detail": [Row("GET", lambda s: "/simple/demo-pkg/")],
    "package-file": [Row("GET", lambda s: f"/packages/{s.world.current_file.storage_key}")],
    "json-project": [Row("GET", lambda s: "/pypi/demo-pkg/json")],
    "json-release": [Row("GET", lambda s: "/pypi/demo-pkg/1.0/json")],
    "legacy-without-slash": [Row("POST", lambda s: "/legacy")],
    "static": [Row("GET", lambda s: "/static/bastion/site.css")],
    "home": [Row("GET", lambda s: "/")],
    "check-name": [Row("GET", lambda s: "/names/check/?name=reqeusts")],
    "help": [Row("GET", lambda s: "/help/")],
    "project": [Row("GET", lambda s: "/project/demo-pkg/")],
    "release": [Row("GET", lambda s: "/project/demo-pkg/1.0/")],
    "login": [Row("GET", lambda s: "/account/login/")],
    "login-2fa": [Row("GET", lambda s: "/account/login/2fa/")],
    "logout": [Row("POST", lambda s: "/account/logout/")],
    "webauthn-auth-options": [
        Row("POST", lambda s: "/account/webauthn/authenticate/passkey/options/")
    ],
    "webauthn-auth-verify": [
        Row("POST", lambda s: "/account/webauthn/authenticate/passkey/verify/", forged=True)
    ],
    "register": [Row("GET", lambda s: "/account/register/")],  # off by default: 404
    "email-verify": [Row("GET", lambda s: "/account/email/verify/not-a-token/", forged=True)],
    "email-change-confirm": [
        Row("GET", lambda s: "/account/email/confirm/not-a-token/", forged=True)
    ],
    "password-reset": [Row("GET", lambda s: "/account/password/reset/")],
    "password-reset-done": [Row("GET", lambda s: "/account/password/reset/sent/")],
    "password-reset-complete": [Row("GET", lambda s: "/account/password/reset/complete/")],
    "password-reset-confirm": [
        Row("GET", lambda s: "/account/password/reset/MQ/bad-token/", forged=True)
    ],
}

#: Unnamed URL patterns, by the view they call, get a name here for the table.
UNNAMED = {
    "bastion.upload.views.legacy_without_slash": "legacy-without-slash",
}


def _url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any]) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    names.add("admin")
                else:
                    walk(p.url_patterns)
            elif isinstance(p, URLPattern):
                callback = f"{p.callback.__module__}.{getattr(p.callback, '__name__', '')}"
                name = p.name or UNNAMED.get(callback)
                assert name, f"unnamed URL pattern {p.pattern} ({callback}): name it"
                names.add(name)

    walk(get_resolver().url_patterns)
    return names


def test_every_route_declares_its_access() -> None:
    names = _url_names()
    undeclared = sorted(n for n in names if requirement(n) is None)
    assert not undeclared, f"URLs without a declared access in bastion.authz.routes: {undeclared}"
    from bastion.authz.routes import ROUTES

    assert not set(ROUTES) - names, "access declared for URLs that no longer exist"


def test_every_route_is_exercised() -> None:
    names = _url_names()
    missing = names - set(REQUESTS)
    assert not missing, f"URLs without a request in this matrix: {sorted(missing)}"
    assert not set(REQUESTS) - names, "requests for URLs that no longer exist"


def _action(name: str, row: Row) -> Action | None:
    """The declared action ``row`` asks for; ``None`` for an open route."""
    declared = requirement(name)
    assert declared is not None, name
    actions = actions_of(declared)
    if not actions:
        return None
    action = row.action or next(iter(actions))
    assert action in actions, f"{name}: {action} is not among its declared {sorted(actions)}"
    assert row.action is not None or len(actions) == 1, f"{name}: say which action the row asks"
    return action


def _identity(setup: Setup, identity: str, row: Row, reauthenticated_at: int) -> Identity:
    """What the request presents, as :mod:`bastion.authz` sees it."""
    raw = None
    if identity in TOKENS:
        raw = setup.owner_tokens[identity]
    elif identity in USERS:
        if not row.token_auth:
            return session_identity(setup.users[identity], reauthenticated_at=reauthenticated_at)
        raw = setup.user_tokens[identity]
    if raw is None or not row.token_auth:
        return ANONYMOUS  # anonymous, or a token shown to a page, which ignores it
    try:
        return tokens.authenticate(raw)
    except macaroons.TokenError:
        return ANONYMOUS


def _expected(setup: Setup, name: str, row: Row) -> frozenset[str] | None:
    """Who must get through; ``None`` for a public route (nobody may be refused as such)."""
    declared = requirement(name)
    if declared is Open.PUBLIC:
        return None
    action = _action(name, row)
    if row.forged or action is None:
        assert row.forged, (
            f"{name} is authenticated by a secret: its request must carry a forged one"
        )
        return NOBODY
    at = int(time.time())
    project = setup.world.project if action in PROJECT_ACTIONS else None
    allowed = frozenset(
        who for who in IDENTITIES if authorize(_identity(setup, who, row, at), action, project)
    )
    assert allowed and allowed != EVERYONE, f"{name}: {action} would not tell anyone apart"
    return allowed if row.mine is None else allowed & row.mine


@pytest.fixture
def setup(world: World, make_user: Callable[..., Any]) -> Setup:
    owner, maintainer, stranger = world.owner, world.maintainer, world.stranger
    no2fa = make_user("nora", two_factor=False)
    admin = make_user("root", admin=True)
    make_user("ursula")  # someone to invite
    with transaction.atomic():
        packages.add_role(world.project, no2fa, Role.OWNER, actor=owner)
    invitation = roles.invite(world.project, stranger.username, Role.MAINTAINER, actor=owner)
    users = {NO2FA: no2fa, USER: stranger, MAINT: maintainer, OWNER: owner, ADMIN: admin}

    def tok(user: Any, name: str, **kwargs: Any) -> tuple[str, Token]:
        return tokens.create_token(user, name, **kwargs)

    user_tokens = {who: tok(u, f"matrix-{u.username}")[0] for who, u in users.items()}
    now = timezone.now()
    expired_raw, expired = tok(owner, "expired", expires=now + timedelta(hours=1))
    Token.objects.filter(pk=expired.pk).update(expires=now - timedelta(seconds=1))
    Token.objects.filter(pk=expired.pk).update(
        caveats=[c if c[0] != 0 else [0, int(time.time()) - 1, 0] for c in expired.caveats]
    )
    revoked_raw, revoked = tok(owner, "revoked")
    tokens.revoke(revoked, actor=owner)
    owner_tokens = {
        T_THIS: tok(owner, "this", projects=["demo-pkg"])[0],
        T_OTHER: tok(owner, "other", projects=["hidden-pkg"])[0],
        T_EXPIRED: expired_raw,
        T_REVOKED: revoked_raw,
        T_UPLOAD: tok(owner, "upload-only", upload_only=True)[0],
    }
    own_token = Token.objects.get(user=owner, name="this")
    key = WebAuthnCredential.objects.create(
        user=owner, label="desk key", credential_id="bWF0cml4", credential_data=b"\0"
    )
    return Setup(world, users, user_tokens, owner_tokens, invitation, own_token, key.pk)


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()


def _client(setup: Setup, identity: str, row: Row) -> tuple[Client, dict[str, str]]:
    client = Client()
    headers: dict[str, str] = {}
    if identity in TOKENS:
        headers["HTTP_AUTHORIZATION"] = _basic(setup.owner_tokens[identity])
    elif identity in USERS:
        if row.token_auth:
            headers["HTTP_AUTHORIZATION"] = _basic(setup.user_tokens[identity])
        else:
            client.force_login(setup.users[identity])
            session = client.session
            session[REAUTH_KEY] = int(time.time())  # recently re-authenticated: test permission
            session.save()
    return client, headers


def _state() -> tuple[Any, ...]:
    """What a refused request must not have changed."""
    return (
        sorted(Project.objects.values_list("normalized_name", flat=True)),
        sorted(Release.objects.values_list("version", "yanked")),
        sorted(File.objects.values_list("filename", "state")),
        sorted(Role.objects.values_list("project__normalized_name", "user__username", "role_name")),
        sorted(RoleInvitation.objects.values_list("pk", flat=True)),
        sorted(Token.objects.values_list("name", flat=True)),
        sorted(WebAuthnCredential.objects.values_list("label", flat=True)),
    )


def _refused(response: Any) -> bool:
    if response.status_code in (400, 401, 403, 404, 405, 409, 410):
        return True
    if response.status_code in (301, 302, 303):
        return response["Location"].startswith(("/account/login/", "/admin/login/"))
    return False


CASES = [
    (name, index, identity)
    for name, rows in REQUESTS.items()
    for index, _ in enumerate(rows)
    for identity in IDENTITIES
]


@pytest.mark.parametrize(("name", "index", "identity"), CASES)
def test_matrix(setup: Setup, name: str, index: int, identity: str) -> None:
    row = REQUESTS[name][index]
    allowed = _expected(setup, name, row)
    client, headers = _client(setup, identity, row)
    before = _state()
    path = row.path(setup)
    data = row.data(setup)
    if row.method == "GET":
        response = client.get(path, **headers)
    else:
        response = client.post(path, data, **headers)
    assert response.status_code < 500, (name, identity, response.status_code)
    refused = _refused(response)
    if allowed is None:
        assert not (refused and response.status_code in (401, 403)), (
            name,
            identity,
            response.status_code,
        )
        return
    expected = identity in allowed
    location = response.get("Location", "")
    assert refused is not expected, (name, identity, response.status_code, location)
    if refused and row.method == "POST":
        assert _state() == before, f"{name} refused for {identity} but changed something"


GARBAGE: dict[str, Any] = {
    "username": "\x00" * 3,
    "password": "x" * 5000,
    "name": "../../etc/\x00passwd",
    "role": "god\x00",
    "confirm": "\u202e\x00",
    "reason": "r" * 5000 + "\x00",
    "totp_code": "' OR 1=1 --",
    "recovery_code": "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "email": "a\x00@example.com",
    "next": "//evil.example/",
    "label": "k\x00" * 250,
    "expires_days": "-1",
    "project": "nope\x00",
    "code": "\x00123456",
    "new_password1": "\x00" * 12,
    "new_password2": "\x00" * 12,
    "old_password": "\x00",
}


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_no_endpoint_answers_garbage_with_a_server_error(setup: Setup, name: str) -> None:
    """Every endpoint, as anonymous and as the owner, with nonsense: a 4xx or a page, never 5xx."""
    for identity in (ANON, OWNER):
        for row in REQUESTS[name]:
            client, headers = _client(setup, identity, Row(row.method, row.path))
            path = row.path(setup)
            for response in (
                client.get(path + ("&" if "?" in path else "?") + "next=%00&page=-1", **headers),
                client.post(path, GARBAGE, **headers),
                client.post(path, b"\xff\xfe{", content_type="application/json", **headers),
                client.post(path, GARBAGE, content_type="application/json", **headers),
                client.post(
                    path,
                    {"credential": GARBAGE, **GARBAGE},
                    content_type="application/json",
                    **headers,
                ),
            ):
                assert response.status_code < 500, (name, identity, response.status_code)
