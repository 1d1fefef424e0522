"""WebAuthn security keys and passkeys, through Yubico's ``fido2`` server API.

``fido2`` needs nothing but PyCA cryptography; the ``webauthn`` package would bring pyOpenSSL
back, which this project keeps out. The web layer supplies the relying-party id and the origin
of the request and keeps the ``state`` returned by a ``begin_*`` call in the session; this module
never sees a request beyond passing it to the audit trail.

Attestation is not asked for (``none``): bastion does not restrict which authenticators people
may use, so a vendor certificate would prove nothing we act on, and it identifies the device.
Resident keys are *preferred* so that the same registration also works as a passkey where the
authenticator can store one. Signature counters are checked when the authenticator keeps one:
a counter that does not grow means the private key has been copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from fido2.server import Fido2Server
from fido2.utils import websafe_decode, websafe_encode
from fido2.webauthn import (
    AttestationConveyancePreference,
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from bastion.accounts.models import RecoveryCode, User, WebAuthnCredential, has_two_factor
from bastion.accounts.notify import send_security_notice
from bastion.events import services as events

__all__ = [
    "MAX_LABEL",
    "RelyingParty",
    "WebAuthnError",
    "begin_authentication",
    "begin_registration",
    "complete_authentication",
    "complete_registration",
    "credentials_of",
    "remove_credential",
]

MAX_LABEL = 64


class WebAuthnError(ValueError):
    """A registration or assertion that cannot be accepted; the message is for the user."""


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser is talking to: the RP id (a domain) and the exact origin of the page.

    The origin is compared exactly rather than with fido2's default (any subdomain of the RP
    id over https): a page served by another host under the same domain must not be able to
    use credentials on this index's behalf.
    """

    id: str
    origin: str
    name: str = "bastion"

    def server(self) -> Fido2Server:
        expected = self.origin
        return Fido2Server(
            PublicKeyCredentialRpEntity(name=self.name, id=self.id),
            attestation=AttestationConveyancePreference.NONE,
            verify_origin=lambda origin: origin == expected,
        )


def credentials_of(user: User) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user).order_by("created", "pk"))


def _attested(credential: WebAuthnCredential) -> AttestedCredentialData:
    return AttestedCredentialData(bytes(credential.credential_data))


def user_handle(user: User) -> bytes:
    """The opaque user id given to authenticators; a passkey hands it back at sign-in."""
    return f"bastion-user:{user.pk}".encode()


def begin_registration(user: User, rp: RelyingParty) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options for ``navigator.credentials.create`` and the state to keep until completion.

    The user's existing keys are excluded so the same authenticator is not registered twice.
    """
    existing = [
        PublicKeyCredentialDescriptor(
            type=PublicKeyCredentialType.PUBLIC_KEY, id=websafe_decode(c.credential_id)
        )
        for c in credentials_of(user)
    ]
    options, state = rp.server().register_begin(
        PublicKeyCredentialUserEntity(
            name=user.get_username(),
            id=user_handle(user),
            display_name=user.get_full_name() or user.get_username(),
        ),
        existing,
        resident_key_requirement=ResidentKeyRequirement.PREFERRED,
        user_verification=UserVerificationRequirement.PREFERRED,
        extensions={"credProps": True},
    )
    return _jsonable(options), _jsonable(state)


def clean_label(user: User, label: str) -> str:
    label = " ".join(label.split())
    if any(ord(c) < 32 or ord(c) == 127 for c in label):
        raise WebAuthnError("A key's name cannot contain control characters.")
    if not label:
        raise WebAuthnError("Give the security key a name, such as \u201cblue YubiKey\u201d.")
    if len(label) > MAX_LABEL:
        raise WebAuthnError(f"The name of a security key can have at most {MAX_LABEL} characters.")
    if WebAuthnCredential.objects.filter(user=user, label=label).exists():
        raise WebAuthnError(f"You already have a security key named \u201c{label}\u201d.")
    return label


def complete_registration(
    user: User,
    rp: RelyingParty,
    state: Mapping[str, Any] | None,
    response: Mapping[str, Any],
    label: str,
    *,
    request: Any = None,
) -> WebAuthnCredential:
    """Verify the browser's answer to :func:`begin_registration` and store the credential."""
    label = clean_label(user, label)
    if not state:
        raise WebAuthnError("This registration has expired. Start again.")
    try:
        registration = RegistrationResponse.from_dict(response)
        auth_data = rp.server().register_complete(dict(state), registration)
    except (ValueError, TypeError, KeyError) as exc:
        raise WebAuthnError(f"The security key could not be registered: {exc}") from exc
    data = auth_data.credential_data
    if data is None:
        raise WebAuthnError("The security key did not return a credential.")
    extensions = registration.client_extension_results
    cred_props = extensions.get("credProps") if isinstance(extensions, Mapping) else None
    discoverable = bool(isinstance(cred_props, Mapping) and cred_props.get("rk"))
    try:
        with transaction.atomic():
            credential = WebAuthnCredential.objects.create(
                user=user,
                label=label,
                credential_id=websafe_encode(data.credential_id),
                credential_data=bytes(data),
                sign_count=auth_data.counter,
                discoverable=discoverable,
            )
            _event(
                user,
                "account:2fa:webauthn:add",
                request,
                label=label,
                passkey=discoverable,
            )
    except IntegrityError as exc:
        raise WebAuthnError("This security key is already registered.") from exc
    kind = "passkey" if discoverable else "security key"
    send_security_notice(
        user,
        "Security key added",
        f"A {kind} named \u201c{label}\u201d was added to your account as a second factor.",
    )
    return credential


def begin_authentication(
    user: User | None, rp: RelyingParty
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options for ``navigator.credentials.get``.

    With a user (the second step of a login, a re-authentication) only their keys are allowed
    and user verification is not asked for: the password or the session already identified
    them. Without one it is a passkey sign-in, which replaces the password, so the
    authenticator must verify the person (PIN or biometrics) and must hold a discoverable key.
    """
    if user is None:
        options, state = rp.server().authenticate_begin(
            None, user_verification=UserVerificationRequirement.REQUIRED
        )
    else:
        keys = credentials_of(user)
        if not keys:
            raise WebAuthnError("This account has no security key.")
        options, state = rp.server().authenticate_begin(
            [_attested(c) for c in keys],
            user_verification=UserVerificationRequirement.DISCOURAGED,
        )
    return _jsonable(options), _jsonable(state)


def complete_authentication(
    user: User | None,
    rp: RelyingParty,
    state: Mapping[str, Any] | None,
    response: Mapping[str, Any],
) -> WebAuthnCredential:
    """Verify an assertion; return the credential that made it (its ``user`` is who signed in).

    Counts the signature and records when the key was last used. Audit events for the login
    itself are written by the caller, which knows what the assertion was for.
    """
    if not state:
        raise WebAuthnError("This sign-in request has expired. Try again.")
    try:
        assertion = AuthenticationResponse.from_dict(response)
    except (ValueError, TypeError, KeyError) as exc:
        raise WebAuthnError(f"The answer of the security key cannot be read: {exc}") from exc
    raw_id = websafe_encode(assertion.raw_id)
    found = WebAuthnCredential.objects.select_related("user").filter(credential_id=raw_id)
    if user is not None:
        found = found.filter(user=user)
    credential = found.first()
    if credential is None:
        raise WebAuthnError("This security key is not registered for this account.")
    if user is None:
        # A passkey names its user; it must be the user the credential was registered for.
        handle = assertion.response.user_handle
        if handle is None or handle != user_handle(credential.user):
            raise WebAuthnError("This passkey does not belong to an account on this index.")
    try:
        rp.server().authenticate_complete(dict(state), [_attested(credential)], assertion)
    except (ValueError, TypeError, KeyError) as exc:
        raise WebAuthnError(f"The security key could not be verified: {exc}") from exc
    counter = assertion.response.authenticator_data.counter
    with transaction.atomic():
        stored = WebAuthnCredential.objects.select_for_update().get(pk=credential.pk)
        if (counter or stored.sign_count) and counter <= stored.sign_count:
            raise WebAuthnError(
                "This security key's signature counter went backwards; it may have been"
                " cloned. Use another factor and remove this key."
            )
        stored.sign_count = counter
        stored.last_used = timezone.now()
        stored.save(update_fields=["sign_count", "last_used"])
    credential.sign_count = stored.sign_count
    credential.last_used = stored.last_used
    return credential


def remove_credential(user: User, credential_pk: int, *, request: Any = None) -> str:
    """Remove one of the user's keys; return its label. Recovery codes go with the last factor,
    as when the authenticator app is removed."""
    with transaction.atomic():
        credential = WebAuthnCredential.objects.filter(user=user, pk=credential_pk).first()
        if credential is None:
            raise WebAuthnError("There is no such security key on your account.")
        label = credential.label
        credential.delete()
        _event(user, "account:2fa:webauthn:remove", request, label=label)
        if not has_two_factor(user):
            RecoveryCode.objects.filter(user=user).delete()
    send_security_notice(
        user,
        "Security key removed",
        f"The security key \u201c{label}\u201d was removed from your account.",
    )
    return label


def _jsonable(value: Any) -> Any:
    """fido2's option objects are read-only mappings with base64url strings for bytes: turn
    them into plain dicts for the session and for the browser."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        return websafe_encode(value)
    if isinstance(value, str):
        return str(value)  # enums of fido2 are str subclasses
    return value


def _event(user: User, tag: str, request: Any, **additional: Any) -> None:
    events.record_user(
        tag,
        user,
        request=request,
        **additional,
    )
