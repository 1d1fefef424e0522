"""Leaked-token disclosure: a signed report in GitHub's secret-scanning partner format revokes
the tokens at once, records an event and emails the owner; anything unsigned or mis-signed
revokes nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from pymacaroons import Macaroon

from bastion.events.models import Event
from bastion.tokens import macaroons
from bastion.tokens import services as tokens
from bastion.tokens.models import Token
from tests import builders
from tests.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/_/secrets/disclose-token"
KEY_ID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"
LEAK_URL = "https://github.com/octocat/hello/blob/abc/ci.yml"


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def keys_file(
    bastion_settings: Any, tmp_path: Path, signing_key: ec.EllipticCurvePrivateKey
) -> Path:
    """The file an operator downloads from api.github.com/meta/public_keys/secret_scanning,
    here holding a retired key, a key of another kind and the current key of this test."""
    retired = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP384R1())
    document = {
        "public_keys": [
            {"key_identifier": "retired", "key": _pem(retired), "is_current": False},
            {"key_identifier": "p384", "key": _pem(other), "is_current": False},
            {"key_identifier": KEY_ID, "key": _pem(signing_key), "is_current": True},
        ]
    }
    path = tmp_path / "github-secret-scanning-keys.json"
    path.write_text(json.dumps(document))
    bastion_settings(disclosure_keys_file=str(path))
    return path


def sign(key: ec.EllipticCurvePrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, ec.ECDSA(hashes.SHA256()))).decode()


def report(*tokens_: str, source: str = "content") -> bytes:
    return json.dumps(
        [
            {"token": t, "type": "bastion_api_token", "url": LEAK_URL, "source": source}
            for t in tokens_
        ]
    ).encode()


def post(
    body: bytes,
    key: ec.EllipticCurvePrivateKey | None,
    *,
    key_id: str = KEY_ID,
    signature: str | None = None,
    url: str = URL,
) -> Any:
    headers: dict[str, str] = {}
    if key is not None or signature is not None:
        headers["Github-Public-Key-Identifier"] = key_id
        headers["Github-Public-Key-Signature"] = (
            signature if signature is not None else sign(key, body)  # type: ignore[arg-type]
        )
    return Client().post(url, body, content_type="application/json", headers=headers)


def test_a_signed_report_revokes_the_token_at_once(
    keys_file: Path,
    signing_key: ec.EllipticCurvePrivateKey,
    user: Any,
    upload: Any,
    mailoutbox: Any,
) -> None:
    raw, token = tokens.create_token(user, "ci on github")
    mailoutbox.clear()
    response = post(report(raw), signing_key)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == [
        {"token_raw": raw, "token_type": "bastion_api_token", "label": "true_positive"}
    ]
    assert not Token.objects.filter(pk=token.pk).exists()
    event = Event.objects.get(tag="account:token:removed_leak")
    assert event.subject_name == "alice"
    assert event.additional["url"] == LEAK_URL
    assert event.additional["source"] == "content"
    assert event.additional["token"] == "ci on github"
    # The owner is told, with where it was found.
    [mail] = mailoutbox
    assert mail.to == ["alice@example.com"]
    assert "found in public" in mail.subject
    assert LEAK_URL in mail.body and "ci on github" in mail.body
    # And the token no longer uploads.
    refused = upload(builders.wheel("samplepkg", "1.0"), raw)
    assert refused.status_code == 403
    assert "Invalid API Token: token not found or revoked" in refused.content.decode()


def test_the_legacy_github_address_works_too(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, token = tokens.create_token(user, "t")
    response = post(report(raw), signing_key, url="/_/github/disclose-token")
    assert response.status_code == 200
    assert response.json()[0]["label"] == "true_positive"
    assert not Token.objects.filter(pk=token.pk).exists()


def test_unknown_tokens_are_false_positives_and_nothing_is_told(
    keys_file: Path,
    signing_key: ec.EllipticCurvePrivateKey,
    user: Any,
    make_user: Any,
    mailoutbox: Any,
) -> None:
    bob = make_user("bob")
    raw_alice, _ = tokens.create_token(user, "alice-ci")
    raw_bob, _ = tokens.create_token(bob, "bob-ci")
    tokens.revoke(Token.objects.get(name="bob-ci"), actor=bob)
    mailoutbox.clear()
    unknown = [
        "pypi-AgEIcHlwaS5vcmcCJGFiYw",  # not ours
        "bastion-notamacaroon",  # our prefix, garbage
        raw_bob,  # ours once, already revoked
        raw_alice[:-4],  # truncated: not the token
    ]
    response = post(report(*unknown), signing_key)
    assert response.status_code == 200
    body = response.json()
    assert [r["label"] for r in body] == ["false_positive"] * 4
    assert [r["token_raw"] for r in body] == unknown
    # The answer holds only what the reporter sent: no names, no ids, no owners.
    assert "alice" not in response.content.decode() and "bob-ci" not in response.content.decode()
    assert Token.objects.filter(name="alice-ci").exists()
    assert not Event.objects.filter(tag="account:token:removed_leak").exists()
    assert mailoutbox == []


def test_a_batch_revokes_each_owners_token_and_tells_only_them(
    keys_file: Path,
    signing_key: ec.EllipticCurvePrivateKey,
    user: Any,
    make_user: Any,
    mailoutbox: Any,
) -> None:
    bob = make_user("bob")
    raw_alice, _ = tokens.create_token(user, "alice-ci")
    raw_bob, _ = tokens.create_token(bob, "bob-ci")
    tokens.create_token(bob, "bob-kept")
    mailoutbox.clear()
    response = post(report(raw_alice, "bastion-AAAA", raw_bob, raw_alice), signing_key)
    assert [r["label"] for r in response.json()] == [
        "true_positive",
        "false_positive",
        "true_positive",
        "true_positive",  # the same leak reported twice is still a real one
    ]
    assert list(Token.objects.values_list("name", flat=True)) == ["bob-kept"]
    assert Event.objects.filter(tag="account:token:removed_leak").count() == 2
    by_address = {tuple(m.to): m.body for m in mailoutbox}
    assert set(by_address) == {("alice@example.com",), ("bob@example.com",)}
    assert "alice-ci" in by_address[("alice@example.com",)]
    assert "bob-ci" not in by_address[("alice@example.com",)]


def test_an_attenuated_copy_of_a_token_revokes_it(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, token = tokens.create_token(user, "all")
    attenuated = macaroons.parse(raw)
    attenuated.add_first_party_caveat('[1,["samplepkg"]]')
    leaked = "bastion-" + attenuated.serialize()
    response = post(report(leaked), signing_key)
    assert response.json()[0]["label"] == "true_positive"
    assert not Token.objects.filter(pk=token.pk).exists()


def test_a_forged_token_naming_a_real_id_revokes_nothing(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, token = tokens.create_token(user, "all")
    real = macaroons.parse(raw)
    forged = Macaroon(
        location=real.location, identifier=real.identifier, key=b"k" * 32, version=real.version
    )
    response = post(report("bastion-" + forged.serialize()), signing_key)
    assert response.json()[0]["label"] == "false_positive"
    assert Token.objects.filter(pk=token.pk).exists()


# --- refusals: nothing is revoked ----------------------------------------------------------------


def _assert_refused(response: Any, status: int, reason: str) -> None:
    assert response.status_code == status, response.content
    text = response.content.decode()
    assert reason in text
    assert text.count("\n") == 1  # one line
    assert Token.objects.exists()
    assert not Event.objects.filter(tag="account:token:removed_leak").exists()


def test_unsigned_report_is_refused(keys_file: Path, user: Any) -> None:
    raw, _ = tokens.create_token(user, "t")
    _assert_refused(post(report(raw), None), 400, "Missing Github-Public-Key-Identifier")


def test_unknown_key_is_refused(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, _ = tokens.create_token(user, "t")
    response = post(report(raw), signing_key, key_id="f" * 64)
    _assert_refused(response, 403, "Unknown Github-Public-Key-Identifier")


def test_signature_by_another_key_is_refused(keys_file: Path, user: Any) -> None:
    raw, _ = tokens.create_token(user, "t")
    stranger = ec.generate_private_key(ec.SECP256R1())
    _assert_refused(post(report(raw), stranger), 403, "Invalid signature")


def test_signature_by_a_listed_key_under_another_id_is_refused(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, _ = tokens.create_token(user, "t")
    _assert_refused(post(report(raw), signing_key, key_id="retired"), 403, "Invalid signature")


def test_body_changed_after_signing_is_refused(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, _ = tokens.create_token(user, "t")
    signed = report("bastion-harmless")
    response = post(report(raw), None, signature=sign(signing_key, signed))
    _assert_refused(response, 403, "Invalid signature")


def test_a_reserialised_body_does_not_verify(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    """The signature covers the bytes as sent: the same JSON with other spacing is refused."""
    raw, _ = tokens.create_token(user, "t")
    compact = json.dumps([{"token": raw, "type": "x", "url": "", "source": "content"}])
    spaced = json.dumps(json.loads(compact), indent=1).encode()
    response = post(spaced, None, signature=sign(signing_key, compact.encode()))
    _assert_refused(response, 403, "Invalid signature")


@pytest.mark.parametrize(
    ("signature", "status", "reason"),
    [("not base64!", 400, "is not valid base64"), ("AAAA", 403, "Invalid signature")],
)
def test_malformed_signature_is_refused(
    keys_file: Path, user: Any, signature: str, status: int, reason: str
) -> None:
    raw, _ = tokens.create_token(user, "t")
    _assert_refused(post(report(raw), None, signature=signature), status, reason)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "The body is not JSON."),
        (b'{"token": "bastion-x"}', "must be a JSON array"),
        (b'[{"type": "x"}]', "string 'token'"),
        (b'["bastion-x"]', "string 'token'"),
    ],
)
def test_signed_but_malformed_body_is_refused(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any, body: bytes, reason: str
) -> None:
    tokens.create_token(user, "t")
    _assert_refused(post(body, signing_key), 400, reason)


def test_too_many_records_are_refused(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, _ = tokens.create_token(user, "t")
    body = report(*([raw] + ["bastion-x"] * 1000))
    _assert_refused(post(body, signing_key), 400, "Too many records")


def test_too_large_a_body_is_refused(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, _ = tokens.create_token(user, "t")
    body = report(raw, "bastion-" + "A" * (1024 * 1024))
    _assert_refused(post(body, signing_key), 413, "too large")


def test_disabled_without_a_keys_file(
    bastion_settings: Any, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    bastion_settings(disclosure_keys_file="")
    raw, _ = tokens.create_token(user, "t")
    for url in (URL, "/_/github/disclose-token"):
        response = post(report(raw), signing_key, url=url)
        assert response.status_code == 404
    assert Token.objects.exists()


def test_unreadable_keys_file_is_a_retryable_error(
    bastion_settings: Any, tmp_path: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, _ = tokens.create_token(user, "t")
    bastion_settings(disclosure_keys_file=str(tmp_path / "missing.json"))
    _assert_refused(post(report(raw), signing_key), 503, "not available")
    broken = tmp_path / "broken.json"
    broken.write_text('{"keys": []}')
    bastion_settings(disclosure_keys_file=str(broken))
    _assert_refused(post(report(raw), signing_key), 503, "not available")


def test_a_refreshed_keys_file_is_read_again(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any
) -> None:
    raw, token = tokens.create_token(user, "t")
    rotated = ec.generate_private_key(ec.SECP256R1())
    assert post(report("bastion-x"), signing_key).status_code == 200  # the file is cached
    keys_file.write_text(
        json.dumps(
            {"public_keys": [{"key_identifier": "new", "key": _pem(rotated), "is_current": True}]}
        )
        + "\n"
    )
    assert post(report(raw), signing_key).status_code == 403  # the old key is gone
    response = post(report(raw), rotated, key_id="new")
    assert response.json()[0]["label"] == "true_positive"
    assert not Token.objects.filter(pk=token.pk).exists()


def test_only_post(keys_file: Path) -> None:
    assert Client().get(URL).status_code == 405


def test_rate_limited_per_address(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, bastion_settings: Any, user: Any
) -> None:
    bastion_settings(rate_limits={"disclose.ip": "2/m"})
    raw, _ = tokens.create_token(user, "t")
    assert post(report("bastion-x"), None).status_code == 400  # unsigned attempts count too
    assert post(report("bastion-x"), signing_key).status_code == 200
    limited = post(report(raw), signing_key)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "Too many disclosure requests" in limited.content.decode()
    assert Token.objects.exists()


def test_a_disclosed_token_cannot_upload_even_mid_flight(
    keys_file: Path, signing_key: ec.EllipticCurvePrivateKey, user: Any, client: Client
) -> None:
    """Revocation is in the request: the very next request with the token is refused."""
    raw, _ = tokens.create_token(user, "t")
    assert post(report(raw), signing_key).status_code == 200
    response = client.post("/legacy/", {":action": "file_upload"}, HTTP_AUTHORIZATION=basic(raw))
    assert response.status_code == 403
    assert "token not found or revoked" in response.content.decode()
