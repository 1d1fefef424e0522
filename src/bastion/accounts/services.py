"""Creating and looking up users."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from bastion.accounts.models import User
from bastion.events import services as events


class AccountError(ValueError):
    """A request about an account that cannot be honoured; the message is for the user."""


def create_user(
    username: str,
    *,
    email: str,
    password: str,
    is_admin: bool = False,
    email_verified: bool = False,
    actor: User | None = None,
) -> User:
    """Create a user after validating the name, the address and the password."""
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
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise AccountError(f"The username '{username}' is already taken.")
        if User.objects.filter(email__iexact=email).exists():
            # One account per address: notices and password resets must reach one person.
            raise AccountError("This email address is already used by another account.")
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
            admin=is_admin,
        )
    return user
