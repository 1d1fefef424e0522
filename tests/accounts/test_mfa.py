"""Second factors as services: TOTP reasons (wrong, replayed, out of sync), recovery codes
burned once, and WebAuthn registration and assertions verified by fido2 against a software
authenticator that signs with a real P-256 key (the browser test drives chromium's own)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    Aaguid,
    AttestationObject,
    AttestedCredentialData,
    AuthenticatorData,
    CollectedClientData,
)

from bastion.accounts import mfa
from bastion.accounts import webauthn as wa
from bastion.accounts.models import RecoveryCode, WebAuthnCredential, has_two_factor
from bastion.events.models import Event

RP = wa.RelyingParty(id="pkg.example", origin="https://pkg.example", name="bastion")
FLAGS = AuthenticatorData.FLAG


class SoftKey:
    """A minimal authenticator: one P-256 credential, a counter, and the two ceremonies."""

    def __init__(self, *, resident: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.resident = resident
        self.user_handle: bytes | None = None

    def create(self, options: dict[str, Any], origin: str = RP.origin) -> dict[str, Any]:
        public = options["publicKey"]
        self.user_handle = websafe_decode(public["user"]["id"])
        rp_hash = hashlib.sha256(public["rp"]["id"].encode()).digest()
        attested = AttestedCredentialData.create(
            Aaguid.NONE, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            rp_hash, FLAGS.UP | FLAGS.UV | FLAGS.AT, self.counter, attested
        )
        client_data = CollectedClientData.create(
            "webauthn.create", websafe_decode(public["challenge"]), origin
        )
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": websafe_encode(client_data),
                "attestationObject": websafe_encode(
                    AttestationObject.create("none", auth_data, {})
                ),
            },
            "clientExtensionResults": {"credProps": {"rk": self.resident}},
        }

    def get(
        self,
        options: dict[str, Any],
        origin: str = RP.origin,
        *,
        verified: bool = True,
        step: int = 1,
    ) -> dict[str, Any]:
        public = options["publicKey"]
        self.counter += step
        flags = FLAGS.UP | (FLAGS.UV if verified else FLAGS(0))
        auth_data = AuthenticatorData.create(
            hashlib.sha256(public["rpId"].encode()).digest(), flags, self.counter
        )
        client_data = CollectedClientData.create(
            "webauthn.get", websafe_decode(public["challenge"]), origin
        )
        signature = self.key.sign(auth_data + client_data.hash, ec.ECDSA(hashes.SHA256()))
        response: dict[str, Any] = {
            "clientDataJSON": websafe_encode(client_data),
            "authenticatorData": websafe_encode(auth_data),
            "signature": websafe_encode(signature),
        }
        if self.resident and self.user_handle is not None:
            response["userHandle"] = websafe_encode(self.user_handle)
        return {
            "id": websafe_encode(self.credential_id),
            "rawId": websafe_encode(self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        }


def register(user: Any, key: SoftKey, label: str = "my key") -> WebAuthnCredential:
    options, state = wa.begin_registration(user, RP)
    return wa.complete_registration(user, RP, state, key.create(options), label)


# --- TOTP ----------------------------------------------------------------------------------------


def test_totp_code_is_accepted_once(user: Any) -> None:
    code = pyotp.TOTP(user.totp_seed).now()
    mfa.check_totp(user, code)
    with pytest.raises(mfa.MfaError, match="already been used"):
        mfa.check_totp(user, code)
    assert not mfa.verify_totp(user, code)


def test_totp_reasons(user: Any) -> None:
    totp = pyotp.TOTP(user.totp_seed)
    with pytest.raises(mfa.MfaError, match=r"^Invalid TOTP code\.$"):
        mfa.check_totp(user, "12ab56")
    with pytest.raises(mfa.MfaError, match="out of sync"):
        mfa.check_totp(user, totp.at(time.time() - 30 * 6))
    # One step of drift either way is accepted.
    mfa.check_totp(user, " ".join([totp.at(time.time() + 30)[:3], totp.at(time.time() + 30)[3:]]))


def test_enable_totp_needs_a_right_code(make_user: Callable[..., Any]) -> None:
    bob = make_user("bob", two_factor=False)
    secret = mfa.new_totp_secret()
    with pytest.raises(mfa.MfaError, match="Invalid TOTP code"):
        mfa.enable_totp(bob, secret, "000000" if pyotp.TOTP(secret).now() != "000000" else "1")
    assert not has_two_factor(bob)
    mfa.enable_totp(bob, secret, pyotp.TOTP(secret).now())
    assert has_two_factor(bob)
    assert "issuer=bastion" in mfa.provisioning_uri(bob, secret)


# --- Recovery codes ------------------------------------------------------------------------------


def test_recovery_code_is_burned_and_then_named_reused(user: Any) -> None:
    codes = mfa.generate_recovery_codes(user)
    assert len(codes) == 8 and len(set(codes)) == 8
    assert all(
        code not in row.code_hash
        for row in RecoveryCode.objects.filter(user=user)
        for code in codes
    )
    mfa.check_recovery_code(user, codes[3])
    assert mfa.remaining_recovery_codes(user) == 7
    with pytest.raises(mfa.MfaError, match="cannot be reused"):
        mfa.check_recovery_code(user, codes[3])
    with pytest.raises(mfa.MfaError, match=r"^Invalid recovery code\.$"):
        mfa.check_recovery_code(user, "short")
    assert Event.objects.filter(tag="account:recovery_codes:use", subject_id=user.pk).count() == 1


# --- WebAuthn ------------------------------------------------------------------------------------


def test_register_and_authenticate_as_second_factor(make_user: Callable[..., Any]) -> None:
    bob = make_user("bob", two_factor=False)
    key = SoftKey()
    credential = register(bob, key, "  blue   key ")
    assert credential.label == "blue key"
    assert credential.discoverable
    assert has_two_factor(bob)
    assert Event.objects.get(tag="account:2fa:webauthn:add").additional == {
        "label": "blue key",
        "passkey": True,
    }

    options, state = wa.begin_authentication(bob, RP)
    assert options["publicKey"]["allowCredentials"][0]["id"] == credential.credential_id
    assert options["publicKey"]["userVerification"] == "discouraged"
    used = wa.complete_authentication(bob, RP, state, key.get(options, verified=False))
    assert used.pk == credential.pk
    assert used.sign_count == 1 and used.last_used is not None


def test_passkey_sign_in_names_its_user(make_user: Callable[..., Any]) -> None:
    bob = make_user("bob", two_factor=False)
    key = SoftKey()
    register(bob, key)
    options, state = wa.begin_authentication(None, RP)
    assert "allowCredentials" not in options["publicKey"]
    assert wa.complete_authentication(None, RP, state, key.get(options)).user == bob

    # Without user verification a passkey cannot replace the password.
    options, state = wa.begin_authentication(None, RP)
    with pytest.raises(wa.WebAuthnError, match="User verification required"):
        wa.complete_authentication(None, RP, state, key.get(options, verified=False))

    # A handle naming someone else is refused.
    options, state = wa.begin_authentication(None, RP)
    key.user_handle = wa.user_handle(make_user("eve", two_factor=False))
    with pytest.raises(wa.WebAuthnError, match="does not belong"):
        wa.complete_authentication(None, RP, state, key.get(options))


def test_assertions_that_must_fail(make_user: Callable[..., Any]) -> None:
    bob = make_user("bob", two_factor=False)
    key = SoftKey()
    register(bob, key)

    options, state = wa.begin_authentication(bob, RP)
    with pytest.raises(wa.WebAuthnError, match="Invalid origin"):
        wa.complete_authentication(bob, RP, state, key.get(options, "https://evil.example"))

    # A challenge from another ceremony.
    other, _ = wa.begin_authentication(bob, RP)
    options, state = wa.begin_authentication(bob, RP)
    with pytest.raises(wa.WebAuthnError, match="Wrong challenge"):
        wa.complete_authentication(bob, RP, state, key.get(other))

    with pytest.raises(wa.WebAuthnError, match="expired"):
        wa.complete_authentication(bob, RP, None, key.get(options))

    # A copy of the key whose counter lags behind is refused as a clone.
    options, state = wa.begin_authentication(bob, RP)
    wa.complete_authentication(bob, RP, state, key.get(options, step=5))
    options, state = wa.begin_authentication(bob, RP)
    key.counter = 2
    with pytest.raises(wa.WebAuthnError, match="cloned"):
        wa.complete_authentication(bob, RP, state, key.get(options))

    # Somebody else's key does not work for bob.
    eve = make_user("eve", two_factor=False)
    eves = SoftKey()
    register(eve, eves)
    options, state = wa.begin_authentication(bob, RP)
    with pytest.raises(wa.WebAuthnError, match="not registered for this account"):
        wa.complete_authentication(bob, RP, state, eves.get(options))


def test_registration_checks(make_user: Callable[..., Any]) -> None:
    bob = make_user("bob", two_factor=False)
    key = SoftKey(resident=False)
    options, state = wa.begin_registration(bob, RP)
    with pytest.raises(wa.WebAuthnError, match="Invalid origin"):
        wa.complete_registration(bob, RP, state, key.create(options, "http://pkg.example"), "k")
    with pytest.raises(wa.WebAuthnError, match="Give the security key a name"):
        wa.complete_registration(bob, RP, state, key.create(options), "   ")
    credential = wa.complete_registration(bob, RP, state, key.create(options), "k")
    assert not credential.discoverable
    again, state = wa.begin_registration(bob, RP)
    assert [d["id"] for d in again["publicKey"]["excludeCredentials"]] == [credential.credential_id]
    with pytest.raises(wa.WebAuthnError, match="already have a security key named"):
        wa.complete_registration(bob, RP, state, SoftKey().create(again), "k")
    with pytest.raises(wa.WebAuthnError, match="already registered"):
        wa.complete_registration(bob, RP, state, key.create(again), "other")


def test_removing_the_last_key_drops_recovery_codes(
    make_user: Callable[..., Any], django_capture_on_commit_callbacks: Any, mailoutbox: Any
) -> None:
    bob = make_user("bob", two_factor=False)
    first = register(bob, SoftKey(), "one")
    second = register(bob, SoftKey(), "two")
    mfa.generate_recovery_codes(bob)
    with django_capture_on_commit_callbacks(execute=True):
        assert wa.remove_credential(bob, first.pk) == "one"
    assert mfa.remaining_recovery_codes(bob) == 8
    assert [m.subject for m in mailoutbox] == ["[bastion] Security key removed"]
    wa.remove_credential(bob, second.pk)
    assert not has_two_factor(bob)
    assert mfa.remaining_recovery_codes(bob) == 0
    with pytest.raises(wa.WebAuthnError, match="no such security key"):
        wa.remove_credential(bob, second.pk)
    assert Event.objects.filter(tag="account:2fa:webauthn:remove").count() == 2


@pytest.mark.django_db
def test_a_key_name_with_control_characters_is_refused(make_user: Any) -> None:
    user = make_user("kim")
    with pytest.raises(wa.WebAuthnError, match="control characters"):
        wa.clean_label(user, "desk\x00key")
    assert wa.clean_label(user, "  desk   key ") == "desk key"
