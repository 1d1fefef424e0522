"""Proving that an address belongs to the user: verification and change of email.

Uploading needs a verified address (the policy asks ``user.email_verified``) because the
address is where security notices and password resets go: an account whose mail reaches
somebody else can be taken over. A link proves control of a mailbox; it is

* signed (``django.core.signing``, a salt per purpose, so a verification link cannot be
  replayed as an email change or anywhere else that signs with the secret key),
* expiring (``BASTION_EMAIL_LINK_HOURS``, 24 by default),
* single use: it carries a digest of the account's current address and verification state,
  and using it changes one of them, so the same link no longer matches.

A change of address keeps the new address inside the signed link rather than in the database:
nothing changes until the link sent to the new address is opened, and then the old address is
told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac

from bastion.accounts.models import User
from bastion.accounts.notify import send_security_notice
from bastion.accounts.services import AccountError
from bastion.config import current
from bastion.events import services as events

if TYPE_CHECKING:
    from django.http import HttpRequest

Purpose = Literal["verify", "change"]

_SALT = "bastion.accounts.emails."

TAKEN_MESSAGE = "This email address is already used by another account. Use a different email."
EXPIRED_MESSAGE = "This link has expired. Ask for a new one from your account page."
INVALID_MESSAGE = "This link is not valid. Check that you copied all of it, or ask for a new one."
USED_MESSAGE = (
    "This link has already been used, or your email address has changed since it was sent."
)


class LinkError(ValueError):
    """A link that cannot be honoured; the message says why, for the person who opened it."""


@dataclass(frozen=True)
class EmailLink:
    """What a valid link asks for: mark ``email`` verified, or make it ``user``'s address."""

    purpose: Purpose
    user: User
    email: str
    state: str


def link_hours() -> int:
    return current().email_link_hours


def _state(user: User) -> str:
    """A digest of what using a link changes; a link minted before the change stops matching."""
    value = f"{user.pk}:{(user.email or '').lower()}:{int(user.email_verified)}:{user.is_active}"
    return salted_hmac(_SALT + "state", value, algorithm="sha256").hexdigest()[:32]


def make_token(user: User, purpose: Purpose, email: str | None = None) -> str:
    """A signed link token for ``user``; ``email`` is the pending address of a change."""
    address = user.email if purpose == "verify" else email
    if not address:
        raise AccountError("There is no email address to verify.")
    payload = {"u": user.pk, "e": address, "s": _state(user)}
    return signing.dumps(payload, salt=_SALT + purpose, compress=True)


def read_token(token: str, purpose: Purpose) -> EmailLink:
    """The request a link stands for, or :class:`LinkError` saying why it is refused."""
    try:
        payload = signing.loads(token, salt=_SALT + purpose, max_age=link_hours() * 3600)
    except signing.SignatureExpired as exc:
        raise LinkError(EXPIRED_MESSAGE) from exc
    except signing.BadSignature as exc:
        raise LinkError(INVALID_MESSAGE) from exc
    if (
        not isinstance(payload, dict)
        or not isinstance(payload.get("u"), int)
        or not isinstance(payload.get("e"), str)
        or not isinstance(payload.get("s"), str)
    ):
        raise LinkError(INVALID_MESSAGE)
    user = User.objects.filter(pk=payload["u"]).first()
    if user is None or not user.is_active or user.is_frozen:
        raise LinkError(INVALID_MESSAGE)
    if not constant_time_compare(payload["s"], _state(user)):
        raise LinkError(USED_MESSAGE)
    return EmailLink(purpose, user, payload["e"], payload["s"])


def check_address(user: User | None, email: str) -> str:
    """``email`` normalised, if it is well formed and no other account uses it.

    Addresses are compared without regard to case: mail servers deliver ``Bob@x`` and ``bob@x``
    to the same mailbox, and two accounts sharing one would share their password resets.
    """
    email = email.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(f"'{email}' is not a valid email address.") from exc
    others = User.objects.filter(email__iexact=email)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise AccountError(TAKEN_MESSAGE)
    return email


def _send(address: str, subject: str, body: str) -> None:
    site = current().site_name
    send_mail(f"[{site}] {subject}", body, None, [address], fail_silently=False)


def send_verification(user: User, link: str) -> None:
    """Mail ``link`` (built by the caller from :func:`make_token`) to the user's address."""
    site = current().site_name
    _send(
        user.email,
        "Verify your email address",
        f"Hello {user.get_username()},\n\n"
        f"Open this link to confirm that {user.email} is the address of your account on {site}:"
        f"\n\n{link}\n\nThe link works once and expires in {link_hours()} hours. If you did not"
        " create an account or ask for this email, you can ignore it.\n",
    )


def send_change_link(user: User, new_email: str, link: str) -> None:
    """Mail the confirmation of a change to the *new* address: it must prove it is reachable."""
    site = current().site_name
    _send(
        new_email,
        "Confirm your new email address",
        f"Hello {user.get_username()},\n\n"
        f"Somebody, hopefully you, asked to make {new_email} the address of the account"
        f" '{user.get_username()}' on {site}. Open this link to confirm:\n\n{link}\n\n"
        f"The link works once and expires in {link_hours()} hours. Until it is opened the"
        " account keeps its current address. If you did not ask for this, ignore this email.\n",
    )


def confirm(link: EmailLink, *, request: HttpRequest | None = None) -> User:
    """Apply a link read by :func:`read_token`: verify the address, or switch to the new one.

    The state is read again under a row lock, so two tabs opening the same link cannot both
    apply it.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=link.user.pk)
        if not constant_time_compare(_state(user), link.state):
            raise LinkError(USED_MESSAGE)
        if link.purpose == "verify":
            if user.email.lower() != link.email.lower():
                raise LinkError(USED_MESSAGE)
            user.email_verified = True
            user.save(update_fields=["email_verified"])
            events.record_user(
                "account:email:verify",
                user,
                request=request,
                email=user.email,
            )
            return user
        new_email = check_address(user, link.email)
        old_email = user.email
        user.email = new_email
        user.email_verified = True
        user.save(update_fields=["email", "email_verified"])
        events.record_user(
            "account:email:change",
            user,
            request=request,
            old_email=old_email,
            new_email=new_email,
        )
        if old_email:
            send_security_notice(
                user,
                "Your email address was changed",
                f"The email address of your account was changed from {old_email} to"
                f" {new_email}. Security notices and password resets now go to the new"
                " address.",
                to=old_email,
            )
    return user
