"""Bad tokens are refused with a clear reason."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from pymacaroons import Macaroon

from bastion.authz import Action, authorize
from bastion.packages import services as packages
from bastion.tokens import macaroons
from bastion.tokens import services as tokens

pytestmark = pytest.mark.django_db


def test_token_has_prefix_and_is_stored_only_as_hash(user: Any) -> None:
    raw, token = tokens.create_token(user, "ci")
    assert raw.startswith("bastion-")
    assert token.token_sha256 == macaroons.token_digest(raw)
    from bastion.tokens.models import Token

    for value in Token.objects.filter(pk=token.pk).values().get().values():
        assert raw[8:] not in str(value)


def test_tampered_signature_refused(user: Any) -> None:
    raw, _ = tokens.create_token(user, "ci")
    m = macaroons.parse(raw)
    forged = Macaroon(
        location=m.location, identifier=m.identifier, key=b"0" * 32, version=m.version
    )
    identity = tokens.authenticate("bastion-" + forged.serialize())
    decision = authorize(identity, Action.CREATE_PROJECT)
    assert not decision and "Invalid API Token" in decision.reason


def test_removing_a_caveat_breaks_the_signature(user: Any) -> None:
    with transaction.atomic():
        packages.create_project("samplepkg", user)
    raw, _ = tokens.create_token(user, "scoped", projects=["samplepkg"])
    m = macaroons.parse(raw)
    stripped = Macaroon(location=m.location, identifier=m.identifier, key=b"x", version=m.version)
    stripped.signature = m.signature  # keep the signature, drop the caveats
    identity = tokens.authenticate("bastion-" + stripped.serialize())
    assert not authorize(identity, Action.CREATE_PROJECT)


def test_client_side_attenuation_is_honoured(user: Any) -> None:
    with transaction.atomic():
        samplepkg = packages.create_project("samplepkg", user)
        other = packages.create_project("other", user)
    raw, _ = tokens.create_token(user, "all")
    m = macaroons.parse(raw)
    m.add_first_party_caveat('[1,["samplepkg"]]')
    identity = tokens.authenticate("bastion-" + m.serialize())
    assert authorize(identity, Action.UPLOAD, samplepkg)
    decision = authorize(identity, Action.UPLOAD, other)
    assert not decision and "not valid for project: 'other'" in decision.reason


def test_unknown_caveat_denies(user: Any) -> None:
    raw, _ = tokens.create_token(user, "all")
    m = macaroons.parse(raw)
    m.add_first_party_caveat('[99, "future"]')
    identity = tokens.authenticate("bastion-" + m.serialize())
    assert not authorize(identity, Action.CREATE_PROJECT)


def test_revoked_token_and_deleted_user(user: Any, make_user: Any) -> None:
    raw, token = tokens.create_token(user, "gone")
    tokens.revoke(token, actor=user)
    with pytest.raises(macaroons.TokenError, match="not found or revoked"):
        tokens.authenticate(raw)
    other = make_user("bob")
    raw2, _ = tokens.create_token(other, "t")
    other.delete()
    with pytest.raises(macaroons.TokenError):
        tokens.authenticate(raw2)


@pytest.mark.parametrize(
    "garbage", ["", "pypi-abc", "bastion-", "bastion-!!!!", "bastion-" + "A" * 50]
)
def test_garbage_tokens(garbage: str, db: Any) -> None:
    with pytest.raises(macaroons.TokenError):
        tokens.authenticate(garbage)


def test_durations() -> None:
    assert tokens.parse_duration("30d").days == 30
    assert tokens.parse_duration("12h").total_seconds() == 43200
    for bad in ("", "0d", "soon", "-1d", "5x"):
        with pytest.raises(tokens.TokenRequestError):
            tokens.parse_duration(bad)
