"""Second factors: TOTP and recovery codes (WebAuthn lives in ``bastion.accounts.webauthn``).

TOTP follows RFC 6238 as authenticator apps implement it (SHA-1, 6 digits, 30 s) through
``pyotp``. A code is accepted one step early or late for clock drift, and never twice: the last
accepted step is stored and anything at or before it is refused, so a code seen over a shoulder
or in a proxy log is worthless once used. The secret is encrypted at rest (Fernet, key derived
from the server's secret key with HKDF) because, unlike a password, it cannot be hashed.

Recovery codes are eight random 16-hex-digit codes, shown once, stored as argon2 hashes and
burned on use.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from bastion.accounts.models import RecoveryCode, User, WebAuthnCredential, has_two_factor
from bastion.accounts.notify import send_security_notice
from bastion.config import current
from bastion.events import services as events

__all__ = [
    "RECOVERY_CODE_COUNT",
    "MfaError",
    "check_recovery_code",
    "check_totp",
    "disable_totp",
    "enable_totp",
    "generate_recovery_codes",
    "has_two_factor",
    "new_totp_secret",
    "provisioning_uri",
    "remaining_recovery_codes",
    "use_recovery_code",
    "verify_totp",
]

TOTP_STEP = 30
TOTP_DRIFT_STEPS = 1
# How far off a clock may be for a code to be recognised as "right, but out of sync" (never
# accepted: only named, so the user fixes their clock instead of retyping).
TOTP_SYNC_STEPS = 10
INVALID_TOTP = "Invalid TOTP code."
REPLAYED_TOTP = (
    "This TOTP code has already been used. Wait for your app to show the next code and enter it."
)
OUT_OF_SYNC_TOTP = "Invalid TOTP code. Your device time may be out of sync."
INVALID_RECOVERY_CODE = "Invalid recovery code."
REUSED_RECOVERY_CODE = "This recovery code has already been used: a code cannot be reused."
RECOVERY_CODE_COUNT = 8


class MfaError(ValueError):
    """A second-factor request that cannot be honoured; the message is for the user."""


def _fernet() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"bastion-totp-secret",
        info=b"encrypt totp secrets at rest",
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _decrypt(stored: str) -> str:
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken as exc:  # the secret key changed: the factor is unusable
        raise MfaError(
            "This authenticator can no longer be verified; use a recovery code."
        ) from exc


def new_totp_secret() -> str:
    """A fresh base32 secret (160 bits, the RFC's recommendation for SHA-1)."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    issuer = current().site_name
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=issuer)


def _matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // TOTP_STEP)
    found = None
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        # Compare every candidate (constant time each) so timing does not tell which matched.
        if secrets.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def enable_totp(user: User, secret: str, code: str, *, request: Any = None) -> None:
    """Enrol ``secret`` once the user proves their app computes the same codes."""
    if user.has_totp:
        raise MfaError("An authenticator app is already set up. Remove it first to replace it.")
    step = _matching_step(secret, code)
    if step is None:
        raise MfaError("Invalid TOTP code. Check the time on your device and try again.")
    with transaction.atomic():
        user.totp_secret = _encrypt(secret)
        user.totp_last_step = step
        user.save(update_fields=["totp_secret", "totp_last_step"])
        _event(user, "account:2fa:totp:add", request)
    send_security_notice(
        user,
        "Two-factor authentication added",
        "An authenticator app (TOTP) was added to your account as a second factor.",
    )


def enrol_totp_unverified(user: User, secret: str) -> None:
    """Enrol without a code: only for the operator's ``bastion user create --with-totp``,
    which prints the provisioning URI once. Recorded like any other enrolment."""
    with transaction.atomic():
        user.totp_secret = _encrypt(secret)
        user.totp_last_step = None
        user.save(update_fields=["totp_secret", "totp_last_step"])
        _event(user, "account:2fa:totp:add", None, method="command line")


def verify_totp(user: User, code: str) -> bool:
    """Check a code for a login or a re-authentication; a used code never works again."""
    try:
        check_totp(user, code)
    except MfaError:
        return False
    return True


def check_totp(user: User, code: str) -> None:
    """Accept a code once or raise :class:`MfaError` saying why not (wrong, already used, or
    from a clock that is out of sync), so people are told how to fix what went wrong."""
    if not user.has_totp:
        raise MfaError("No authenticator app is set up for this account.")
    secret = _decrypt(user.totp_secret)
    step = _matching_step(secret, code)
    if step is None:
        if _out_of_sync(secret, code):
            raise MfaError(OUT_OF_SYNC_TOTP)
        raise MfaError(INVALID_TOTP)
    with transaction.atomic():
        # Re-read under the transaction: two requests racing with the same code must not both win.
        last = (
            User.objects.select_for_update()
            .values_list("totp_last_step", flat=True)
            .get(pk=user.pk)
        )
        if last is not None and step <= last:
            raise MfaError(REPLAYED_TOTP)
        User.objects.filter(pk=user.pk).update(totp_last_step=step)
    user.totp_last_step = step


def _out_of_sync(secret: str, code: str) -> bool:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(secret)
    current = int(time.time() // TOTP_STEP)
    return any(
        secrets.compare_digest(totp.generate_otp(step), code)
        for step in range(current - TOTP_SYNC_STEPS, current + TOTP_SYNC_STEPS + 1)
    )


def disable_totp(user: User, *, request: Any = None) -> None:
    with transaction.atomic():
        user.totp_secret = ""
        user.totp_last_step = None
        user.save(update_fields=["totp_secret", "totp_last_step"])
        _event(user, "account:2fa:totp:remove", request)
        if not has_two_factor(user):
            RecoveryCode.objects.filter(user=user).delete()
    send_security_notice(
        user,
        "Two-factor authentication removed",
        "The authenticator app (TOTP) was removed from your account.",
    )


def generate_recovery_codes(user: User, *, request: Any = None) -> list[str]:
    """Replace the user's recovery codes with new ones; return them (shown once)."""
    codes = [secrets.token_hex(8) for _ in range(RECOVERY_CODE_COUNT)]
    with transaction.atomic():
        RecoveryCode.objects.filter(user=user).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(user=user, code_hash=make_password(code)) for code in codes
        )
        _event(user, "account:recovery_codes:generate", request)
    send_security_notice(
        user,
        "New recovery codes",
        "New recovery codes were generated for your account; the old ones no longer work.",
    )
    return codes


def remaining_recovery_codes(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used__isnull=True).count()


def lacks_recovery_codes(user: User) -> bool:
    """A second factor and no unused recovery code: losing the factor would lock the account
    out (an account enrolled from the command line never had codes). Pages ask the user to
    make them; nothing is refused for it."""
    return has_two_factor(user) and remaining_recovery_codes(user) == 0


def use_recovery_code(user: User, code: str, *, request: Any = None) -> bool:
    """Burn a matching unused code. A used code is refused like a wrong one."""
    try:
        check_recovery_code(user, code, request=request)
    except MfaError:
        return False
    return True


def check_recovery_code(user: User, code: str, *, request: Any = None) -> None:
    """Burn a matching unused code or raise :class:`MfaError`; a code that was already burned
    is named as such, so its owner knows someone may have used it."""
    code = "".join(code.split()).lower()
    if len(code) != 16:
        raise MfaError(INVALID_RECOVERY_CODE)
    with transaction.atomic():
        for row in RecoveryCode.objects.select_for_update().filter(user=user):
            if check_password(code, row.code_hash):
                if row.used is not None:
                    raise MfaError(REUSED_RECOVERY_CODE)
                row.used = timezone.now()
                row.save(update_fields=["used"])
                _event(user, "account:recovery_codes:use", request)
                send_security_notice(
                    user,
                    "A recovery code was used",
                    "A recovery code was used to sign in to your account. "
                    f"{remaining_recovery_codes(user)} unused codes remain.",
                )
                return
    raise MfaError(INVALID_RECOVERY_CODE)


def _event(user: User, tag: str, request: Any, **additional: Any) -> None:
    events.record_user(
        tag,
        user,
        request=request,
        **additional,
    )


def reset_two_factor(user: User) -> int:
    """Remove every second factor and recovery code of ``user`` (an operator's decision, for a
    person who lost all of them and proved who they are some other way). Returns how many
    factors went. The user can log in with the password alone and must set 2FA up again before
    uploading or managing anything; they are told by email. Which operator did it is the
    event's ``via``/``operator``, from the command's mark (:mod:`bastion.events.origin`)."""
    with transaction.atomic():
        removed = int(user.has_totp) + WebAuthnCredential.objects.filter(user=user).count()
        user.totp_secret = ""
        user.totp_last_step = None
        user.save(update_fields=["totp_secret", "totp_last_step"])
        WebAuthnCredential.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        events.record_user(
            "account:2fa:reset",
            user,
            system=True,
            factors=removed,
        )
    send_security_notice(
        user,
        "Two-factor authentication reset",
        "An administrator of this index removed every second factor and recovery code from "
        "your account. Set up two-factor authentication again before uploading or managing "
        "projects.",
    )
    return removed
