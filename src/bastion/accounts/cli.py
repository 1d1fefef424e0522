"""``bastion user``: create a user, reset a user's second factors."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bastion.cli_support import migrate, setup_django


def register(subparsers: Any) -> None:
    user = subparsers.add_parser("user", help="Manage users.")
    user_sub = user.add_subparsers(dest="user_command", metavar="ACTION")
    user_sub.required = True
    p = user_sub.add_parser("create", help="Create a user (email marked verified).")
    p.add_argument("name", help="Username.")
    p.add_argument("--email", required=True, help="Email address.")
    p.add_argument("--admin", action="store_true", help="Make the user an administrator.")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        required=True,
        help="Read the password from standard input (first line).",
    )
    p.add_argument(
        "--with-totp",
        action="store_true",
        help="Enrol an authenticator app (TOTP) and print its provisioning URI once.",
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON.")
    p.set_defaults(handler=cmd_user_create)

    p = user_sub.add_parser(
        "reset-2fa",
        help="Remove every second factor and recovery code of a user who lost them all.",
    )
    p.add_argument("name", help="Username.")
    p.set_defaults(handler=cmd_user_reset_2fa)


def cmd_user_create(args: argparse.Namespace) -> int:
    setup_django()
    migrate()
    from bastion.accounts.services import AccountError, create_user

    password = sys.stdin.readline().rstrip("\n")
    try:
        user = create_user(
            args.name, email=args.email, password=password, is_admin=args.admin, email_verified=True
        )
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uri = None
    if args.with_totp:
        from bastion.accounts import mfa

        secret = mfa.new_totp_secret()
        mfa.enrol_totp_unverified(user, secret)
        uri = mfa.provisioning_uri(user, secret)
    if args.json:
        print(
            json.dumps({"id": user.pk, "name": user.username, "admin": args.admin, "totp_uri": uri})
        )
    else:
        print(f"created user {user.username}")
        if uri:
            # Shown once: the secret is stored encrypted and never printed again.
            print(f"TOTP provisioning URI (add it to an authenticator app): {uri}")
    return 0


def cmd_user_reset_2fa(args: argparse.Namespace) -> int:
    setup_django()
    migrate()
    from bastion.accounts import mfa

    user = user_named(args.name)
    if user is None:
        return 2
    # The event names the operator from the command's mark (events.origin), as for every command.
    removed = mfa.reset_two_factor(user)
    print(f"removed {removed} second factor{'' if removed == 1 else 's'} of {user.username}")
    return 0


def user_named(name: str) -> Any:
    """The user called ``name``, or None after telling the operator so (``user`` and
    ``token`` commands name the user they act on)."""
    from bastion.accounts.models import User

    user = User.objects.filter(username=name).first()
    if user is None:
        print(f"error: no user named {name!r}", file=sys.stderr)
    return user
