"""Every bad token is refused by /legacy/ with a clear one-line reason and nothing is written;
a token's scope holds whatever the client does to it; a forged session is just anonymous."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from bastion.authz import Action, authorize
from bastion.packages import services as packages
from bastion.packages.models import File, Project, Release
from bastion.tokens import macaroons
from bastion.tokens import services as tokens
from bastion.tokens.models import Token
from tests import builders
from tests.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)

INVALID_AUTH = "Invalid or non-existent authentication information."


def assert_refused(response: Any, reason: str, status: int = 403) -> None:
    assert response.status_code == status, response.content
    text = response.content.decode()
    assert reason in text, text
    assert reason in response.reason_phrase  # twine prints the reason phrase
    assert text.count("\n") == 1 and "Traceback" not in text
    assert File.objects.count() == 0 or status == 200


def attenuate(raw: str, caveat: str) -> str:
    m = macaroons.parse(raw)
    m.add_first_party_caveat(caveat)
    return "bastion-" + m.serialize()


@pytest.fixture
def samplepkg(user: Any) -> Project:
    with transaction.atomic():
        return packages.create_project("samplepkg", user)


def new_wheel() -> builders.Dist:
    return builders.wheel("brandnew", "1.0")


# --- the signature chain -----------------------------------------------------------------------


def test_tampered_signature_bytes(upload: Any, token: str) -> None:
    body = token[len("bastion-") :]
    data = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data[-1] ^= 0x01  # the V2 serialisation ends with the 32-byte signature
    tampered = "bastion-" + base64.urlsafe_b64encode(bytes(data)).decode().rstrip("=")
    assert macaroons.parse(tampered).signature != macaroons.parse(token).signature
    assert_refused(upload(new_wheel(), tampered), "Invalid API Token: invalid signature")


def test_removing_an_added_caveat_breaks_the_chain(
    upload: Any, user: Any, token: str, samplepkg: Project
) -> None:
    """A holder attenuated the token to one project; whoever strips that caveat again (keeping
    the attenuated signature) holds nothing the server accepts."""
    attenuated = macaroons.parse(token)
    attenuated.add_first_party_caveat('[1,["samplepkg"]]')
    rebuilt = macaroons.parse(token)  # the original caveats ...
    rebuilt.signature = attenuated.signature  # ... under the attenuated signature
    stripped = "bastion-" + rebuilt.serialize()
    assert len(macaroons.parse(stripped).caveats) == len(attenuated.caveats) - 1
    assert_refused(upload(new_wheel(), stripped), "Invalid API Token: invalid signature")
    # While the attenuated token itself works, within its caveat only.
    honest = "bastion-" + attenuated.serialize()
    assert_refused(
        upload(new_wheel(), honest),
        "Invalid API Token: project-scoped token cannot create new projects",
    )
    assert upload(builders.wheel("samplepkg", "1.0"), honest).status_code == 200


@pytest.mark.parametrize(
    ("garbage", "reason"),
    [
        ("bastion-", "Invalid API Token: the token could not be decoded"),
        ("bastion-!!!!", "Invalid API Token: the token could not be decoded"),
        ("bastion-" + "A" * 64, "Invalid API Token: the token could not be decoded"),
        (
            "bastion-AgEHYmFzdGlvbgIEbm9wZQAABiA",
            "Invalid API Token: the token could not be decoded",
        ),
        ("pypi-AgEIcHlwaS5vcmc", "Invalid API Token: token does not start with 'bastion-'"),
    ],
)
def test_garbage_after_the_prefix(upload: Any, db: Any, garbage: str, reason: str) -> None:
    assert_refused(upload(new_wheel(), garbage), reason)


def test_a_well_formed_macaroon_that_is_not_ours(upload: Any, user: Any) -> None:
    from pymacaroons import MACAROON_V2, Macaroon

    foreign = Macaroon(
        location="bastion", identifier="not-a-token-id", key=b"k" * 32, version=MACAROON_V2
    )
    assert_refused(
        upload(new_wheel(), "bastion-" + foreign.serialize()),
        "Invalid API Token: token not found or revoked",
    )


@pytest.mark.parametrize("identifier", [b"\xff\xfe", b"\xed\xa0\x80", b"\xc3"])
def test_an_identifier_that_is_not_text(upload: Any, user: Any, identifier: bytes) -> None:
    """Issue 11: a token whose identifier is not UTF-8 (a flipped byte) answered 500."""
    from pymacaroons import MACAROON_V2, Macaroon

    forged = Macaroon(location="bastion", identifier=identifier, key=b"k" * 32, version=MACAROON_V2)
    raw = "bastion-" + forged.serialize()
    assert_refused(upload(new_wheel(), raw), "Invalid API Token: the token could not be decoded")
    # Reported as leaked, it is traced to no token, and nothing fails.
    assert tokens.find_by_raw(raw) is None


def test_every_truncation_and_byte_flip_is_refused_cleanly(upload: Any, token: str) -> None:
    """Issue 11: pymacaroons raises a bare ``Exception`` for some truncated tokens ("cannot
    read uvarint from buffer"), which answered 500. Every cut and every flipped character of a
    real token is refused with a reason (or, for the few that still verify, accepted)."""
    body = token[len("bastion-") :]
    mangled = [token[:cut] for cut in range(len("bastion-"), len(token))]
    mangled += [
        token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        for i in range(len("bastion-"), len(token))
    ]
    mangled += ["bastion-" + body[: len(body) // 2] + "=" * k for k in range(4)]
    for raw in mangled:
        try:
            tokens.authenticate(raw)
        except macaroons.TokenError as exc:
            assert str(exc).startswith("Invalid API Token: ")
    truncated = token[: len(token) - 40]
    assert_refused(
        upload(new_wheel(), truncated), "Invalid API Token: the token could not be decoded"
    )


def test_unknown_caveat_type(upload: Any, token: str) -> None:
    for caveat in ('[99,"from the future"]', '{"version":1}', "not json", "[]"):
        assert_refused(upload(new_wheel(), attenuate(token, caveat)), "unknown caveat")


# --- the account behind the token ---------------------------------------------------------------


def test_token_of_a_deleted_user(upload: Any, make_user: Any, make_token: Any) -> None:
    bob = make_user("bob")
    raw = make_token(bob)
    bob.delete()
    assert_refused(upload(new_wheel(), raw), "Invalid API Token: token not found or revoked")


def test_token_of_a_deactivated_user(upload: Any, make_user: Any, make_token: Any) -> None:
    bob = make_user("bob")
    raw = make_token(bob)
    bob.is_active = False
    bob.save()
    assert_refused(upload(new_wheel(), raw), INVALID_AUTH)


def test_token_of_a_frozen_user(upload: Any, user: Any, token: str) -> None:
    user.is_frozen = True
    user.save()
    assert_refused(upload(new_wheel(), token), INVALID_AUTH)


def test_revoked_token(upload: Any, user: Any) -> None:
    raw, row = tokens.create_token(user, "ci")
    tokens.revoke(row, actor=user)
    assert_refused(upload(new_wheel(), raw), "Invalid API Token: token not found or revoked")


def test_token_whose_caveat_names_another_user(upload: Any, user: Any, make_user: Any) -> None:
    bob = make_user("bob")
    raw, _ = tokens.create_token(user, "ci")
    assert_refused(
        upload(new_wheel(), attenuate(raw, f"[3,{bob.pk}]")),
        "Invalid API Token: token is not valid for this user",
    )


def test_token_issued_to_another_user_row(upload: Any, user: Any, make_user: Any) -> None:
    """The stored caveats bind a token to its user even if its row were moved to another."""
    bob = make_user("bob")
    raw, row = tokens.create_token(user, "ci")
    Token.objects.filter(pk=row.pk).update(user=bob)
    assert_refused(upload(new_wheel(), raw), "Invalid API Token: token is not valid for this user")


# --- time ---------------------------------------------------------------------------------------


def test_expired_token(upload: Any, user: Any) -> None:
    raw, row = tokens.create_token(user, "ci", expires=timezone.now() + timedelta(hours=1))
    # The row as it stands once that hour has passed: the stored caveat is what is checked.
    past = int(time.time()) - 60
    caveats = [c if c[0] != macaroons.CAVEAT_EXPIRY else [0, past, 0] for c in row.caveats]
    Token.objects.filter(pk=row.pk).update(caveats=caveats)
    assert_refused(upload(new_wheel(), raw), "Invalid API Token: token is expired")
    # A client cannot extend it: an added caveat only narrows.
    later = attenuate(raw, f"[0,{past + 10**6},0]")
    assert_refused(upload(new_wheel(), later), "Invalid API Token: token is expired")


def test_client_attenuated_expiry(upload: Any, token: str) -> None:
    expired = attenuate(token, f"[0,{int(time.time()) - 1},0]")
    assert_refused(upload(new_wheel(), expired), "Invalid API Token: token is expired")


def test_not_yet_valid_token(upload: Any, user: Any) -> None:
    raw, _ = tokens.create_token(user, "ci", not_before=timezone.now() + timedelta(hours=1))
    assert_refused(upload(new_wheel(), raw), "Invalid API Token: token is not yet valid")


# --- scope ----------------------------------------------------------------------------------------


def test_project_scoped_token_cannot_create_a_project(
    upload: Any, user: Any, samplepkg: Project
) -> None:
    raw, _ = tokens.create_token(user, "scoped", projects=["samplepkg"])
    assert_refused(
        upload(new_wheel(), raw),
        "Invalid API Token: project-scoped token cannot create new projects",
    )
    assert not Project.objects.filter(normalized_name="brandnew").exists()
    assert upload(builders.wheel("samplepkg", "1.0"), raw).status_code == 200


def test_project_scoped_token_for_another_project(
    upload: Any, user: Any, samplepkg: Project
) -> None:
    with transaction.atomic():
        packages.create_project("otherpkg", user)
    raw, _ = tokens.create_token(user, "scoped", projects=["otherpkg"])
    assert_refused(
        upload(builders.wheel("samplepkg", "1.0"), raw),
        "Invalid API Token: project-scoped token is not valid for project: 'samplepkg'",
    )


def test_upload_only_token_uploads_but_cannot_create(
    upload: Any, user: Any, samplepkg: Project
) -> None:
    raw, _ = tokens.create_token(user, "ci", upload_only=True)
    assert_refused(
        upload(new_wheel(), raw), "Invalid API Token: upload-only token cannot create new projects"
    )
    assert upload(builders.wheel("samplepkg", "1.0"), raw).status_code == 200
    assert Release.objects.filter(project=samplepkg, version="1.0").exists()


@pytest.mark.parametrize(
    "action",
    [Action.YANK, Action.DELETE, Action.MANAGE_ROLES, Action.CREATE_TOKEN, Action.ADMIN],
)
def test_upload_only_token_can_never_manage(user: Any, samplepkg: Project, action: Action) -> None:
    raw, _ = tokens.create_token(user, "ci", upload_only=True)
    decision = authorize(tokens.authenticate(raw), action, samplepkg)
    assert not decision
    assert decision.reason == f"API tokens are not valid for permission: {action}"


def test_a_token_does_not_open_the_management_pages(
    user: Any, samplepkg: Project, client: Client
) -> None:
    """Pages take a logged-in session only: a token in the Authorization header is ignored."""
    raw, _ = tokens.create_token(user, "ci")
    auth = {"Authorization": basic(raw)}
    manage = client.get("/manage/project/samplepkg/", headers=auth)
    assert manage.status_code == 302 and "/account/login/" in manage["Location"]
    revoke_all = client.post("/account/tokens/revoke-all/", headers=auth)
    assert revoke_all.status_code == 302 and "/account/login/" in revoke_all["Location"]
    assert Token.objects.filter(user=user).count() == 1


# --- sessions -------------------------------------------------------------------------------------


def test_forged_session_cookie_is_anonymous(user: Any) -> None:
    client = Client()
    client.cookies["sessionid"] = secrets.token_urlsafe(24)
    home = client.get("/")
    assert home.status_code == 200
    account = client.get("/account/")
    assert account.status_code == 302
    assert account["Location"].startswith("/account/login/")
    create = client.post("/account/tokens/new/", {"name": "stolen"})
    assert create.status_code == 302 and "/account/login/" in create["Location"]
    assert not Token.objects.exists()


@pytest.mark.parametrize("cookie", ["", "x" * 5000, "../../etc/passwd", "\u00e9\u00e8"])
def test_malformed_session_cookies_are_anonymous(user: Any, cookie: str) -> None:
    client = Client()
    client.cookies["sessionid"] = cookie
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_session_of_a_deleted_user_is_anonymous(make_user: Any) -> None:
    bob = make_user("bob")
    client = Client()
    client.force_login(bob)
    assert client.get("/account/").status_code == 200
    bob.delete()
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")
