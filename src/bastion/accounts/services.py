"""Creating users and changing their credentials.

Every change of a credential or of what an account may do goes through here, whoever makes it
(the user on bastion's pages, an administrator in the admin site, an operator's command): it
writes the account's security-history event in the change's transaction and tells the user
by email once it commits. A path that changed a credential without this would leave the user
no trace of a change they did not make.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from bastion.accounts.models import User
from bastion.accounts.notify import send_security_notice
from bastion.events import services as events

if TYPE_CHECKING:
    from django.http import HttpRequest

    from bastion.clientinfo import ClientInfo


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is for the user."""


def check_new_user(username: str, email: str, password: str) -> str:
    """The name as it will be stored, if a user may be created with these; else
    :class:`AccountError` with the first reason (forms show it before anything is written)."""
    username = _checked_values(username, email, password)
    _check_free(username, email)
    return username


def _checked_values(username: str, email: str, password: str) -> str:
    """The name as it will be stored, once name, address and password pass their rules."""
    username = username.strip()
    if (
        not username
        or len(username) > 50
        or not username.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise AccountError("Usernames are 1-50 characters of letters, digits, '.', '-' and '_'.")
    try:
        validate_email(email)
    except ValidationError as exc:
        raise AccountError(f"'{email}' is not a valid email address.") from exc
    candidate = User(username=username, email=email)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    return username


def _check_free(username: str, email: str) -> None:
    if User.objects.filter(username__iexact=username).exists():
        raise AccountError(f"The username '{username}' is already taken.")
    if User.objects.filter(email__iexact=email).exists():
        # One account per address: notices and password resets must reach one person.
        raise AccountError("This email address is already used by another account.")


def create_user(
    username: str,
    *,
    email: str,
    password: str,
    is_admin: bool = False,
    email_verified: bool = False,
    actor: User | None = None,
    request: HttpRequest | ClientInfo | None = None,
) -> User:
    """Create a user after validating the name, the address and the password."""
    username = _checked_values(username, email, password)
    with transaction.atomic():
        _check_free(username, email)  # in the transaction: a form's earlier check may be stale
        user = User.objects.create_user(
            username=username,
            email=email,
            password=password,
            is_staff=is_admin,
            is_superuser=is_admin,
            email_verified=email_verified,
        )
        events.record_user(
            "account:create",
            user,
            actor=actor or user,
            request=request,
            admin=is_admin,
        )
    return user


def set_password(
    user: User,
    password: str,
    *,
    actor: User,
    request: HttpRequest | ClientInfo | None = None,
    how: Literal["change", "reset"] = "change",
) -> None:
    """Give ``user`` a new (already validated) password; every other session of the account
    ends with the old hash. ``actor`` is the user themselves, or an administrator; ``reset``
    is a change through an emailed link."""
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        by_someone_else = actor.pk != user.pk
        events.record_user(f"account:password:{how}", user, actor=actor, request=request)
        if how == "reset":
            subject, body = (
                "Your password was reset",
                "The password of your account was reset through a link sent to this address."
                " Every session of the account was logged out.",
            )
        elif by_someone_else:
            subject, body = (
                "Your password was changed by an administrator",
                f"The administrator {actor.get_username()} set a new password for your account."
                " Every session of the account was logged out; ask them for the new password,"
                " or reset it yourself from the login page.",
            )
        else:
            subject, body = (
                "Your password was changed",
                "The password of your account was changed. Every other session of the account"
                " was logged out.",
            )
        send_security_notice(user, subject, body)


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return "(empty)" if value in (None, "") else str(value)


def change_by_admin(
    user: User,
    previous: Mapping[str, Any],
    *,
    actor: User,
    request: HttpRequest | ClientInfo | None = None,
    also_changed: Sequence[str] = (),
) -> None:
    """Save what an administrator changed on ``user`` (its fields already hold the new values;
    ``previous`` holds the old ones of the changed fields; ``also_changed`` names changes
    saved separately, such as groups). A new address is the way password resets and notices
    go: both addresses are told. Any other change is one ``account:change`` event, told to
    the user."""
    with transaction.atomic():
        user.save()
        old_email = previous.get("email")
        if "email" in previous and old_email != user.email:
            events.record_user(
                "account:email:change",
                user,
                actor=actor,
                request=request,
                old_email=old_email or "",
                new_email=user.email,
            )
            notice = (
                f"The administrator {actor.get_username()} changed the email address of your"
                f" account from {old_email or '(none)'} to {user.email}. Security notices and"
                " password resets now go to the new address."
            )
            if old_email:
                send_security_notice(user, "Your email address was changed", notice, to=old_email)
            send_security_notice(user, "Your email address was changed", notice)
        changes = {
            field: _shown(getattr(user, field))
            for field in previous
            if field != "email" and previous[field] != getattr(user, field)
        }
        changes.update({field: "changed" for field in also_changed})
        if changes:
            events.record_user(
                "account:change", user, actor=actor, request=request, changes=changes
            )
            listed = "; ".join(f"{field}: {value}" for field, value in changes.items())
            send_security_notice(
                user,
                "Your account was changed by an administrator",
                f"The administrator {actor.get_username()} changed your account ({listed}).",
            )


def delete_by_admin(
    user: User, *, actor: User, request: HttpRequest | ClientInfo | None = None
) -> None:
    """Delete an account; the audit trail keeps the event (by name: the row is gone)."""
    with transaction.atomic():
        events.record_user("account:remove", user, actor=actor, request=request)
        user.delete()
